"""Exception types for mistakes a user can make.

Every message names the argument, file or column at fault, what was expected and what was
received. The command line turns any :class:`RnnkitError` (and the ``ValueError`` /
``TypeError`` raised on bad arguments) into one line on stderr and exit status 2.
"""


class RnnkitError(Exception):
    """Base class of rnnkit's own errors."""


class DataError(RnnkitError, ValueError):
    """A data file or array is missing, unreadable or malformed (names the file/column)."""


class ConfigError(RnnkitError, ValueError):
    """A model, task or command option is invalid (names the option)."""
