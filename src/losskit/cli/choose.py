"""``losskit compare`` and ``losskit recommend``: which loss for my data?"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from ..compare import (
    METRICS,
    MODELS,
    SCENARIOS,
    TASKS,
    Candidate,
    Comparison,
    DataError,
    Dataset,
    builtin_scenarios,
    candidates,
    compare,
    default_candidates,
    footnotes,
    load_dataset,
    parse_spec,
    ranking_table,
    report_json,
    task_of,
    write_report,
)
from ..recommend import TASKS as RECOMMEND_TASKS
from ..recommend import profile, recommend
from ._console import console, print_json, show, table, writable

#: The model option that ``--max-iter`` sets.
_ITERATIONS = {"linear": "max_iter", "mlp": "max_iter", "gbdt": "n_estimators"}


def _add_training_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        choices=MODELS,
        default="linear",
        help="linear: L-BFGS-B on a linear model (default); mlp: one hidden layer, Adam; "
        "gbdt: boosted trees (losskit.integrations, needs LightGBM or XGBoost)",
    )
    p.add_argument("--max-iter", type=int, help="iterations (linear), epochs (mlp) or trees (gbdt)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of folds, outliers, models")


#: Where a plain ``losskit compare`` writes its report.
REPORT_DIR = "losskit-report"


def register_compare(sub: Any) -> None:
    p = sub.add_parser(
        "compare",
        help="train one model with each candidate loss, cross-validated, and rank the losses",
        description=(
            "Train the same model with each candidate loss through losskit's own derivatives, "
            "cross-validate it, and rank the losses by a primary metric (regression: MAE; "
            "imbalanced binary: PR-AUC; other binary: ROC-AUC; multi-class: balanced accuracy). "
            "Without DATA it runs three built-in scenarios on data sets shipped with "
            "scikit-learn: diabetes with gross errors in the training targets, breast cancer "
            "made imbalanced, and digits."
        ),
    )
    p.add_argument(
        "data", nargs="?", type=Path, help="a CSV file (Parquet with pyarrow); needs --target"
    )
    p.add_argument("--target", help="the target column of DATA")
    p.add_argument("--task", choices=TASKS, help="override the task detected from the target")
    p.add_argument(
        "--losses",
        help="comma-separated losses, each a name or name:key=value "
        "(default: the registry's losses for the task)",
    )
    p.add_argument(
        "--scenario",
        action="append",
        choices=SCENARIOS,
        help="run only this built-in scenario (repeatable)",
    )
    _add_training_options(p)
    p.add_argument(
        "--out",
        type=Path,
        help=f"write report.md, report.html, results.json and plots here (default: ./{REPORT_DIR}, "
        f"or {REPORT_DIR}-2, -3, ... if it is taken; none with --json)",
    )
    p.add_argument("--force", action="store_true", help="overwrite the files in --out")
    p.add_argument("--no-report", action="store_true", help="print the tables only")
    p.add_argument(
        "--json", action="store_true", help="print the results as JSON (no training curves)"
    )
    p.set_defaults(handler=run_compare)


def _load(args: argparse.Namespace) -> Dataset:
    if args.target is None:
        raise DataError("a data file needs --target COLUMN")
    return load_dataset(args.data, args.target, task=args.task)


def _plan(args: argparse.Namespace) -> list[tuple[Dataset, list[Candidate]]]:
    """The data sets to run and each one's candidate losses."""
    if args.data is None:
        if args.target or args.task:
            raise DataError("--target and --task need a data file")
        wanted = args.scenario or SCENARIOS
        datasets = [d for d in builtin_scenarios(args.seed) if d.name in wanted]
    elif args.scenario:
        raise DataError("--scenario chooses a built-in scenario; do not give a data file too")
    else:
        datasets = [_load(args)]
    if not args.losses:
        return [(d, default_candidates(d.task)) for d in datasets]
    specs = [s.strip() for s in args.losses.split(",") if s.strip()]
    if len(datasets) == 1:
        return [(datasets[0], candidates(specs, datasets[0].task))]
    # built-in scenarios: each runs the listed losses of its task
    tasks = {spec: task_of(parse_spec(spec)[0]) for spec in specs}
    for spec, task in tasks.items():
        if task not in {d.task for d in datasets}:
            running = ", ".join(d.name for d in datasets)
            raise DataError(f"loss {spec!r} fits none of the scenarios run: {running}")
    plan = [(d, [s for s in specs if tasks[s] == d.task]) for d in datasets]
    return [(d, candidates(chosen, d.task)) for d, chosen in plan if chosen]


def _run(
    plan: Sequence[tuple[Dataset, list[Candidate]]],
    args: argparse.Namespace,
) -> list[Comparison]:
    options = {} if args.max_iter is None else {_ITERATIONS[args.model]: args.max_iter}
    total = sum(args.folds * len(c) for _, c in plan)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    comparisons = []
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        bar = progress.add_task("fitting", total=total)
        for dataset, chosen in plan:
            comparisons.append(
                compare(
                    dataset,
                    chosen,
                    model=args.model,
                    model_options=options,
                    folds=args.folds,
                    seed=args.seed,
                    progress=lambda text: progress.update(bar, advance=1, description=text),
                )
            )
    return comparisons


def _print(comparisons: Sequence[Comparison]) -> None:
    out = console()
    for c in comparisons:
        d = c.dataset
        out.rule(Text(d.name, style="bold"))
        out.print(d.description, markup=False)
        header, rows = ranking_table(c, all_std=False)
        title = (
            f"{c.model} model, {c.folds}-fold CV: {METRICS[c.primary].label} mean ± std over "
            "folds, other metrics' means (all in --json and --out)"
        )
        show(out, table(header, rows, title=title))
        out.print(Text(c.summary() + ".", style="bold"))
        for note in footnotes(c):
            out.print(note, markup=False)
    seconds = sum(c.seconds for c in comparisons)
    fits = sum(c.folds * len(c.results) for c in comparisons)
    out.print(f"{fits} fits in {seconds:.1f} s")


def run_compare(args: argparse.Namespace) -> int:
    if args.folds < 2:
        raise DataError(f"--folds must be at least 2; got {args.folds}")
    if args.max_iter is not None and args.max_iter < 1:
        raise DataError(f"--max-iter must be positive; got {args.max_iter}")
    out = args.out
    if out is not None:
        writable(out, force=args.force, directory=True)
    elif not (args.json or args.no_report):
        out = _fresh(Path(REPORT_DIR))
    plan = _plan(args)
    comparisons = _run(plan, args)
    if args.json:
        print_json(report_json(comparisons, history=False))
    else:
        _print(comparisons)
    if out is not None and not args.no_report:
        command = shlex.join(["losskit", *sys.argv[1:]])
        write_report(comparisons, out, command=command)
        if not args.json:
            console().print(f"report: {out / 'report.md'} (and report.html, results.json, plots)")
    return 0


def _fresh(base: Path) -> Path:
    """``base``, or ``base-2``, ``base-3``, ...: the first that does not exist or is empty."""
    path, k = base, 1
    while path.exists() and (not path.is_dir() or any(path.iterdir())):
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def register_recommend(sub: Any) -> None:
    p = sub.add_parser(
        "recommend",
        help="rank the losses for a task or a data file, with the reason for each",
        description=(
            "Turn the seed's selection guide into a ranked list: from flags, or from a data "
            "file whose task, class balance and outliers (robust z-score) are measured. "
            "--verify then runs 'compare' on the top candidates."
        ),
    )
    p.add_argument("data", nargs="?", type=Path, help="a CSV (or Parquet) file; needs --target")
    p.add_argument("--target", help="the target column of DATA")
    p.add_argument(
        "--task",
        choices=list(RECOMMEND_TASKS),
        help="the task (detected from DATA when given)",
    )
    p.add_argument("--imbalanced", action="store_true", help="the classes are imbalanced")
    p.add_argument("--outliers", action="store_true", help="the targets have outliers")
    p.add_argument("--counts", action="store_true", help="the targets are counts")
    p.add_argument("--top", type=int, default=3, help="how many losses --verify compares")
    p.add_argument("--verify", action="store_true", help="measure the top losses with compare")
    _add_training_options(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_recommend)


def run_recommend(args: argparse.Namespace) -> int:
    flags = {"imbalanced": args.imbalanced, "outliers": args.outliers, "counts": args.counts}
    dataset, found = None, None
    if args.data is not None:
        if args.task is not None and args.task not in TASKS:
            raise DataError(f"a data file's task is one of {', '.join(TASKS)}; got {args.task!r}")
        dataset = _load(args)
        found = profile(dataset)
        task = found.task
        flags = {k: v or getattr(found, k) for k, v in flags.items()}
    elif args.task is None:
        raise DataError("give --task (or a data file with --target)")
    else:
        task = args.task
    ranked = recommend(task, **flags)
    comparison = None
    if args.verify:
        if dataset is None:
            raise DataError("--verify needs a data file to measure on")
        top = [r.name for r in ranked if task_of(r.name) == task][: args.top]
        comparison = _run([(dataset, candidates(top, task))], args)[0]
    if args.json:
        print_json(
            {
                "profile": None if found is None else found.as_dict(),
                "task": task,
                **flags,
                "ranking": [r.as_dict() for r in ranked],
                "verify": None if comparison is None else comparison.to_dict(history=False),
            }
        )
        return 0
    out = console()
    for line in [*found.describe(), *dataset.notes] if found and dataset else []:
        out.print(line, markup=False)
    shown = ", ".join(k for k, v in flags.items() if v) or "none"
    rows = [[str(i), r.name, str(r.score), r.reason] for i, r in enumerate(ranked, 1)]
    out.print(table(["#", "loss", "score", "why"], rows, title=f"{task}; conditions: {shown}"))
    if comparison is not None:
        _print([comparison])
    return 0
