"""``losskit list``, ``show``, ``check`` and ``bench``: the registry, its derivatives and speed."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from .._base import LossFunction
from .._gradcheck import check_gradients
from .._registry import REGISTRY, TASKS, info
from ..compare import DataError, build_loss, parse_spec, time_losses
from ._console import console, print_json, show, table, yes


def register_list(sub: Any) -> None:
    p = sub.add_parser(
        "list",
        help="every registered loss with its properties",
        description="Every registered loss: task, convexity, robustness, smoothness, Hessian.",
    )
    p.add_argument("--task", choices=TASKS, help="only the losses of this task")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=run_list)


def run_list(args: argparse.Namespace) -> int:
    entries = [e for e in REGISTRY.values() if args.task in (None, e.task)]
    if args.json:
        print_json([{k: v for k, v in e.as_dict().items() if k != "params"} for e in entries])
        return 0
    header = ["loss", "class", "task", "convex", "robust", "smooth", "bounded", "Hessian"]
    rows = [
        [
            e.name,
            e.cls.__name__,
            e.task,
            yes(e.convex),
            yes(e.robust),
            yes(e.smooth),
            yes(e.bounded),
            e.hessian_kind,
        ]
        for e in entries
    ]
    show(console(), table(header, rows, title=f"{len(rows)} losses (losskit show NAME for one)"))
    return 0


def register_show(sub: Any) -> None:
    p = sub.add_parser(
        "show",
        help="formula, derivative, Hessian, properties and seed errata of one loss",
        description=(
            "One loss: its formula, derivative and Hessian diagonal (LaTeX), properties, "
            "the convention at kinks, parameters, references, and what the seed got wrong."
        ),
    )
    p.add_argument("name", help="a registry name or alias (losskit list)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_show)


def run_show(args: argparse.Namespace) -> int:
    try:
        entry = info(args.name)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    if args.json:
        print_json(entry.as_dict())
        return 0
    out = console()
    out.print(f"[bold]{entry.name}[/bold] — losskit.{entry.cls.__name__} ({entry.task})")
    out.print(entry.summary, markup=False)
    rows = [
        ("inputs", entry.inputs),
        ("loss", entry.formula),
        ("derivative", entry.derivative),
        ("Hessian", entry.hessian),
        (
            "properties",
            f"convex {yes(entry.convex)}, robust {yes(entry.robust)}, smooth "
            f"{yes(entry.smooth)}, bounded {yes(entry.bounded)}; Hessian {entry.hessian_kind}",
        ),
        ("at kinks", entry.kinks),
        ("parameters", "; ".join(f"{k}: {v}" for k, v in entry.params.items())),
        ("references", "; ".join(entry.references)),
        ("seed erratum", entry.seed or "none recorded"),
    ]
    grid = table(["", ""], [list(r) for r in rows])
    grid.show_header = False
    out.print(grid)
    return 0


def register_check(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="finite-difference check of every loss's derivative and Hessian",
        description=(
            "Compare each loss's derivative and Hessian diagonal with fourth-order "
            "finite differences in float64 (losskit.check_gradients). Exit status 1 if any fails."
        ),
    )
    p.add_argument(
        "names", nargs="*", metavar="LOSS", help="registry names or name:key=value (default: all)"
    )
    p.add_argument(
        "--loss",
        action="append",
        default=[],
        metavar="MODULE:CLASS",
        help="your own loss class (or instance), importable from the current directory",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_check)


def _variants(spec: str) -> list[LossFunction]:
    """The loss of ``spec``; for a bare name with ``from_logits``, its logits variant too."""
    name, params = parse_spec(spec)
    losses = [build_loss(name, params)]
    if not params and "from_logits" in losses[0].params:
        losses.append(build_loss(name, {"from_logits": True}))
    return losses


def _user_loss(spec: str) -> LossFunction:
    module_name, sep, attr = spec.partition(":")
    if not (sep and module_name and attr):
        raise DataError(f"--loss takes MODULE:CLASS (e.g. mylosses:CubicLoss); got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module may fail in any way
        raise DataError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    obj = getattr(module, attr, None)
    if isinstance(obj, type) and issubclass(obj, LossFunction):
        try:
            return obj()
        except Exception as exc:
            raise DataError(f"cannot build {spec}(): {type(exc).__name__}: {exc}") from None
    if isinstance(obj, LossFunction):
        return obj
    raise DataError(f"{spec} is not a losskit loss class or instance")


def run_check(args: argparse.Namespace) -> int:
    losses = [loss for spec in args.names or list(REGISTRY) for loss in _variants(spec)]
    losses += [_user_loss(spec) for spec in args.loss]
    records: list[dict[str, Any]] = []
    for loss in losses:
        try:
            result = check_gradients(loss)
        except Exception as exc:  # a user's loss may raise anything: report it as a failure
            records.append(
                {"loss": repr(loss), "ok": False, "error": f"{type(exc).__name__}: {exc}"}
            )
            continue
        records.append(
            {
                "loss": result.loss,
                "ok": result.ok,
                "grad_error": result.grad_error,
                "hess_error": result.hess_error,
                "n_checked": result.n_checked,
            }
        )
    failed = sum(not r["ok"] for r in records)
    if args.json:
        print_json({"failed": failed, "checks": records})
        return 1 if failed else 0
    rows = []
    for r in records:
        if "error" in r:
            rows.append([r["loss"], "—", "—", "—", f"FAIL: {r['error']}"])
            continue
        hess = "n/a" if r["hess_error"] is None else f"{r['hess_error']:.2g}"
        status = "ok" if r["ok"] else "FAIL"
        rows.append([r["loss"], f"{r['grad_error']:.2g}", hess, str(r["n_checked"]), status])
    header = ["loss", "gradient error", "Hessian error", "points", "result"]
    title = "errors as multiples of the tolerance (≤ 1 passes), float64 finite differences"
    out = console()
    show(out, table(header, rows, title=title))
    out.print(f"{len(records) - failed} passed, {failed} failed")
    return 1 if failed else 0


def register_bench(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="time value_and_derivative per loss",
        description=(
            "Median time of value_and_derivative per loss and dtype, and the effective "
            "bandwidth (bytes of the inputs and the derivative per second)."
        ),
    )
    p.add_argument("names", nargs="*", metavar="LOSS", help="registry names (default: all)")
    p.add_argument("-n", type=int, default=1_000_000, help="elements per input (default 10^6)")
    p.add_argument(
        "--dtype",
        default="float32,float64",
        help="comma-separated dtypes (default float32,float64)",
    )
    p.add_argument("--repeat", type=int, default=5, help="timed calls per loss (median)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    dtypes = [d.strip() for d in args.dtype.split(",") if d.strip()]
    for d in dtypes:
        if d not in ("float32", "float64"):
            raise DataError(f"--dtype takes float32 and float64; got {d!r}")
    if args.n < 1 or args.repeat < 1:
        raise DataError("-n and --repeat must be positive")
    names = [parse_spec(s)[0] for s in args.names] or None
    rows = time_losses(names, n=args.n, dtypes=dtypes, repeat=args.repeat)
    if args.json:
        print_json(rows)
        return 0
    cells = [
        [r["loss"], r["dtype"], f"{r['elements']:,}", f"{r['ms']:.3f}", f"{r['gb_per_s']:.2f}"]
        for r in rows
    ]
    title = f"value_and_derivative, median of {args.repeat} calls"
    show(console(), table(["loss", "dtype", "elements", "ms", "GB/s"], cells, title=title))
    return 0
