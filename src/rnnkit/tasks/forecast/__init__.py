"""Time-series forecasting: models by name, multi-step strategies, MC-dropout intervals,
metrics, rolling-origin backtests, the ``Forecaster`` estimator and the book reproduction.

    from rnnkit.tasks.forecast import Forecaster
    fc = Forecaster(model="gru", input_len=24, horizon=12).fit(series)
    fc.predict()   # (12,)
"""

from rnnkit.tasks.forecast.backtest import rolling_origin, rolling_origins
from rnnkit.tasks.forecast.forecaster import Forecaster
from rnnkit.tasks.forecast.intervals import mc_dropout_intervals, summarise_samples
from rnnkit.tasks.forecast.metrics import evaluate_all, mae, mase, mse, rmse, smape
from rnnkit.tasks.forecast.models import BASELINES, MODELS, build_model, output_steps
from rnnkit.tasks.forecast.strategies import STRATEGIES, forecast, training_windows

__all__ = ["BASELINES", "MODELS", "STRATEGIES", "Forecaster", "build_model", "evaluate_all",
           "forecast", "mae", "mase", "mc_dropout_intervals", "mse", "output_steps", "rmse",
           "rolling_origin", "rolling_origins", "smape", "summarise_samples",
           "training_windows"]
