"""The argument parser and the dispatch to the commands."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from .. import __version__
from ..compare import DataError
from . import catalog, choose, plot
from ._console import error


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="losskit",
        description=(
            "Loss functions with exact derivatives, and the measurements that choose one: "
            "'losskit compare' trains one model with each candidate loss and ranks them."
        ),
    )
    parser.add_argument("--version", action="version", version=f"losskit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    catalog.register_list(sub)
    catalog.register_show(sub)
    plot.register(sub)
    choose.register_recommend(sub)
    choose.register_compare(sub)
    catalog.register_check(sub)
    catalog.register_bench(sub)
    return parser


def run(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        return int(args.handler(args))
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except DataError as exc:
        return error(str(exc))
    except KeyboardInterrupt:
        print("losskit: interrupted", file=sys.stderr)
        return 130
