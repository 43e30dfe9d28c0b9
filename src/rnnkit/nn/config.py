"""Module configs: every rnnkit.nn module rebuilds from JSON, so models save without pickle.

A module's ``get_config()`` returns exactly its constructor arguments (JSON-serialisable;
nested modules appear as ``{"class": name, "config": {...}}``). ``to_config(module)`` wraps that
with the class name and ``from_config(d)`` rebuilds the module (fresh weights: load the
state dict, e.g. from safetensors, afterwards).

    >>> cfg = to_config(LSTM(3, 8, return_sequences=True))
    >>> cfg["class"], cfg["config"]["hidden_size"]
    ('LSTM', 8)
    >>> layer = from_config(cfg)

User-defined modules (e.g. a custom :class:`~rnnkit.nn.cells.Cell`) join with the
``@register`` decorator and a ``get_config()`` returning their constructor arguments.
"""

from __future__ import annotations

from typing import Any, TypeVar

from torch import nn

from rnnkit.errors import ConfigError

_REGISTRY: dict[str, type[nn.Module]] = {}

M = TypeVar("M", bound=type)


def register(cls: M) -> M:
    """Class decorator: make ``cls`` rebuildable by :func:`from_config` under its name.

    Registering a second, different class under a name already taken raises ConfigError.
    """
    name = cls.__name__
    old = _REGISTRY.get(name)
    if (
        old is not None
        and old is not cls
        and (old.__module__ != cls.__module__ or old.__qualname__ != cls.__qualname__)
    ):
        raise ConfigError(
            f"class name {name!r} is already registered by {old.__module__}.{old.__qualname__}"
        )
    _REGISTRY[name] = cls
    return cls


def registered() -> dict[str, type[nn.Module]]:
    """A copy of the registry: class name -> class."""
    return dict(_REGISTRY)


def to_config(module: nn.Module) -> dict[str, Any]:
    """``{"class": name, "config": module.get_config()}`` for a registered module."""
    name = type(module).__name__
    if _REGISTRY.get(name) is not type(module):
        raise ConfigError(
            f"module class {name!r} is not registered; decorate it with rnnkit.nn.config.register"
        )
    get_config = getattr(module, "get_config", None)
    if get_config is None:
        raise ConfigError(f"module class {name!r} has no get_config()")
    return {"class": name, "config": get_config()}


def from_config(config: dict[str, Any]) -> nn.Module:
    """Rebuild a module from ``{"class": name, "config": {...}}`` (see :func:`to_config`)."""
    if not isinstance(config, dict) or "class" not in config or "config" not in config:
        raise ConfigError(
            f"config must be a dict with keys 'class' and 'config', got {config!r:.200}"
        )
    name = config["class"]
    cls = _REGISTRY.get(name)
    if cls is None:
        raise ConfigError(
            f"config class {name!r} is not a registered rnnkit.nn module; "
            f"known: {sorted(_REGISTRY)}"
        )
    kwargs = config["config"]
    if not isinstance(kwargs, dict):
        raise ConfigError(f"config['config'] must be a dict, got {type(kwargs).__name__}")
    from_cfg = getattr(cls, "from_config", None)
    if from_cfg is not None:
        return from_cfg(kwargs)
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ConfigError(f"config for {name!r} does not match its constructor: {err}") from err


def is_module_config(value: Any) -> bool:
    """True if ``value`` looks like the output of :func:`to_config`."""
    return isinstance(value, dict) and set(value) == {"class", "config"}


def get_config(module: nn.Module) -> dict[str, Any]:
    """``module.get_config()``: the constructor arguments of an rnnkit.nn module."""
    get = getattr(module, "get_config", None)
    if get is None:
        raise ConfigError(f"module class {type(module).__name__!r} has no get_config()")
    return get()
