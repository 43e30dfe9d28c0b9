"""Time-series forecasting: models by name, multi-step strategies, MC-dropout intervals,
metrics, rolling-origin backtests, the ``Forecaster`` estimator and the book reproduction.

    from rnnkit.tasks.forecast import Forecaster
    fc = Forecaster(model="gru", input_len=24, horizon=12).fit(series)
    fc.predict()   # (12,)
    res = compare(series, ["linear", "gru"], horizon=12, input_len=24)  # select, score
"""

from rnnkit.tasks.forecast.backtest import rolling_origin, rolling_origins
from rnnkit.tasks.forecast.compare import Comparison, compare, plan_split
from rnnkit.tasks.forecast.forecaster import Forecaster
from rnnkit.tasks.forecast.intervals import mc_dropout_intervals, summarise_samples
from rnnkit.tasks.forecast.metrics import evaluate_all, mae, mase, mse, rmse, smape
from rnnkit.tasks.forecast.models import BASELINES, MODELS, build_model, output_steps
from rnnkit.tasks.forecast.strategies import STRATEGIES, forecast, training_windows

__all__ = ["BASELINES", "MODELS", "STRATEGIES", "Comparison", "Forecaster", "build_model",
           "compare", "evaluate_all", "forecast", "mae", "mase", "mc_dropout_intervals", "mse",
           "output_steps", "plan_split", "rmse", "rolling_origin", "rolling_origins", "smape",
           "summarise_samples", "training_windows"]
