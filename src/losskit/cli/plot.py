"""``losskit plot``: loss and derivative curves of a few losses, to a PNG, SVG or PDF file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .._base import LossFunction
from ..compare import DataError, build_loss, parse_spec
from ..plotting import FORMATS, plot_losses
from ._console import writable


def register(sub: Any) -> None:
    p = sub.add_parser(
        "plot",
        help="loss and derivative curves (PNG, SVG or PDF)",
        description=(
            "Draw each loss and its derivative along the axis that describes it: the "
            "residual for regression, the margin for hinge and logit losses, the probability "
            "for losses of probabilities, the distance for similarity losses."
        ),
    )
    p.add_argument(
        "losses",
        nargs="+",
        metavar="LOSS",
        help="registry names, or name:key=value (e.g. huber:delta=2)",
    )
    p.add_argument(
        "--out", type=Path, required=True, help=f"output file ({', '.join(FORMATS)} by its suffix)"
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.out.suffix.lower() not in FORMATS:
        raise DataError(f"--out must end in {', '.join(FORMATS)}; got {args.out.name!r}")
    writable(args.out, force=args.force, directory=False)
    losses: list[str | LossFunction] = []
    for spec in args.losses:
        name, params = parse_spec(spec)
        losses.append(build_loss(name, params) if params else name)
    if not args.out.parent.is_dir():
        raise DataError(f"{args.out.parent} is not a directory")
    plot_losses(losses, args.out)
    print(f"wrote {args.out}")
    return 0
