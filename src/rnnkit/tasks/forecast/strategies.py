"""Multi-step forecasting strategies: how a model's output becomes H future values.

    recursive  the model forecasts one step, ŷ_{t+1} = f(x_{t-L+1..t}); for H steps each
               forecast is appended to the input and fed back (errors compound);
    direct     one model outputs the whole vector ŷ_{t+1..t+H} = f(x_{t-L+1..t});
    seq2seq    at every input step s the model outputs the next H values; training uses the
               MSE over all steps (more gradient signal), forecasting and the reported
               metric use the last step only (``y[:, -1, :]``, the book's
               ``last_time_step_mse``).

Shapes: inputs ``x (N, L, D)``; forecasts ``(N, H)`` in every strategy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnnkit.data.windowing import Windowing
from rnnkit.errors import ConfigError

__all__ = ["STRATEGIES", "forecast", "model_output_size", "training_windows"]

STRATEGIES = ("recursive", "direct", "seq2seq")

PredictFn = Callable[[np.ndarray], np.ndarray]


def check_strategy(strategy: str) -> str:
    if strategy not in STRATEGIES:
        raise ConfigError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    return strategy


def model_output_size(strategy: str, horizon: int) -> int:
    """Values per output step: 1 for ``recursive``, H otherwise."""
    return 1 if check_strategy(strategy) == "recursive" else horizon


def training_windows(strategy: str, input_len: int, horizon: int,
                     target_col: int = 0) -> Windowing:
    """The windowing that makes training targets for ``strategy``:
    recursive ``y (N, 1)``, direct ``y (N, H)``, seq2seq ``y (N, L, H)``."""
    check_strategy(strategy)
    if strategy == "recursive":
        return Windowing(input_len, 1, target="vector", target_col=target_col)
    target = "seq2seq" if strategy == "seq2seq" else "vector"
    return Windowing(input_len, horizon, target=target, target_col=target_col)


def forecast(predict: PredictFn, strategy: str, x: np.ndarray, horizon: int,
             feedback: str = "slide") -> np.ndarray:
    """Forecast ``horizon`` steps from inputs ``x (N, L, D)`` -> ``(N, H)``.

    ``predict`` maps a batch of inputs to the model's raw output. For ``recursive``,
    ``feedback="slide"`` keeps the window at L steps (drops the oldest), ``"grow"`` appends
    and keeps every step (the book's loop; needs a model that reads any length).
    """
    check_strategy(strategy)
    if strategy == "direct":
        out = np.asarray(predict(x))  # (N, H)
        return out.reshape(len(x), -1)[:, :horizon]
    if strategy == "seq2seq":
        out = np.asarray(predict(x))  # (N, T', H)
        return out[:, -1, :horizon]  # (N, H)
    if x.shape[-1] != 1:
        raise ConfigError(f"strategy 'recursive' forecasts univariate series only; the input "
                          f"has {x.shape[-1]} columns (use 'direct' or 'seq2seq')")
    if feedback not in ("slide", "grow"):
        raise ConfigError(f"feedback must be 'slide' or 'grow', got {feedback!r}")
    steps = []
    cur = x
    for _ in range(horizon):
        nxt = np.asarray(predict(cur)).reshape(len(x), -1)[:, :1]  # (N, 1)
        steps.append(nxt)
        cur = np.concatenate([cur, nxt[:, None, :].astype(cur.dtype)], axis=1)  # (N, L+1, 1)
        if feedback == "slide":
            cur = cur[:, 1:]  # (N, L, 1)
    return np.concatenate(steps, axis=1)  # (N, H)
