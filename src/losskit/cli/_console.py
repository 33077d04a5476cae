"""Terminal output shared by the commands: the console, tables, errors, output paths."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ..compare import DataError

_NUMBER = re.compile(r"^([-+]?\d|—$|n/a$)")


def console() -> Console:
    """Standard output; 160 columns when it is not a terminal (and COLUMNS is unset)."""
    sized = sys.stdout.isatty() or "COLUMNS" in os.environ
    return Console(width=None if sized else 160, highlight=False, soft_wrap=False)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], title: str = "") -> Table:
    """A rich table: cells up to 40 characters never wrap; numeric columns align right."""
    out = Table(
        title=title or None,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    for i, name in enumerate(header):
        cells = [row[i] for row in rows]
        widest = max(map(len, cells), default=0)
        numeric = bool(cells) and all(_NUMBER.match(c) for c in cells)
        out.add_column(name, justify="right" if numeric else "left", min_width=min(widest, 40))
    for row in rows:
        out.add_row(*(Text(cell) for cell in row))  # cells are text, not rich markup
    return out


def show(out: Console, grid: Table) -> None:
    """Print ``grid`` whole: wider than the console rather than wrapped or cropped."""
    needed = Measurement.get(out, out.options.update_width(10_000), grid).maximum
    if needed > out.width:
        out = Console(width=needed, highlight=False, soft_wrap=False)
    out.print(grid)


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=1, ensure_ascii=False))


def error(message: str) -> int:
    """Print ``losskit: error: message`` on one line of standard error; return status 2."""
    print(f"losskit: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


def writable(path: Path, *, force: bool, directory: bool) -> Path:
    """``path`` if writing there replaces nothing (or ``force``); a DataError otherwise."""
    if directory:
        if path.exists() and not path.is_dir():
            raise DataError(f"{path} exists and is not a directory")
        if path.is_dir() and any(path.iterdir()) and not force:
            raise DataError(f"{path} exists and is not empty; add --force to overwrite its files")
    elif path.exists() and not force:
        raise DataError(f"{path} exists; add --force to overwrite it")
    return path
