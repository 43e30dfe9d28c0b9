"""``python -m rnnkit`` is the ``rnnkit`` command."""

from rnnkit.cli.main import main

raise SystemExit(main())
