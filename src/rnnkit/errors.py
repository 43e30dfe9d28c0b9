"""Exception types for mistakes a user can make.

Every message names the argument, file or column at fault, what was expected and what was
received. The command line turns any :class:`RnnkitError` (and ``OSError``) into one line
on stderr and exit status 2; anything else is a bug and keeps its traceback.
"""


class RnnkitError(Exception):
    """Base class of rnnkit's own errors."""


class DataError(RnnkitError, ValueError):
    """A data file or array is missing, unreadable or malformed (names the file/column)."""


class ConfigError(RnnkitError, ValueError):
    """A model, task or command option is invalid (names the option)."""


class NotFittedError(RnnkitError, ValueError, AttributeError):
    """An estimator was asked to predict, score or save before ``fit`` (or ``load``).

    A ValueError and an AttributeError, like scikit-learn's, so code written for either
    catches it.
    """


class TrainingFailed(RnnkitError):
    """Training diverged (the loss became NaN or infinite) and no finite weights were kept."""
