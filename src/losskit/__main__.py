"""``python -m losskit``: the command line."""

from losskit.cli import main

raise SystemExit(main())
