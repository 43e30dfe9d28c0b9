"""The ``rnnkit`` command: one module per sub-command, each a thin layer over ``rnnkit.tasks``.

A sub-command module defines ``register(subparsers)`` which adds its parser and sets
``func=run`` where ``run(args) -> int`` does the work. :mod:`rnnkit.cli.main` lists them.
"""
