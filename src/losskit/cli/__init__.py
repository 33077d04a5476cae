"""The ``losskit`` command line: it parses, calls the library and formats.

Commands: ``list``, ``show``, ``plot``, ``recommend``, ``compare``, ``check``
and ``bench`` (``losskit COMMAND --help`` for each). The work is done by
:mod:`losskit.compare`, :mod:`losskit.recommend`, :mod:`losskit.plotting`
and the registry; this package only turns arguments into calls and results
into tables.

Exit status: 0 on success; 1 when ``losskit check`` finds a failing
derivative, or when the ``cli`` extra is missing; 2 on bad input (a usage
error, a missing or malformed file, an unknown column or loss), reported in
one line on standard error.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.util import find_spec

__all__ = ["INSTALL_HINT", "main"]

#: What the command line needs beyond the library (the ``cli`` extra).
_EXTRA = ("rich", "matplotlib", "sklearn", "threadpoolctl")
INSTALL_HINT = "losskit's command line needs the cli extra: pip install 'losskit[cli]'"


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``losskit`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    missing = [name for name in _EXTRA if find_spec(name) is None]
    if missing:
        print(f"{INSTALL_HINT} (missing: {', '.join(missing)})", file=sys.stderr)
        return 1
    from ._app import run

    return run(sys.argv[1:] if argv is None else list(argv))
