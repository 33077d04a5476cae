"""Wall time of the default ``losskit compare`` (the README's first command), and per scenario.

Runs the installed command as a user would, in a fresh process each time (import and
data loading included), ``--repeat`` times, and each built-in scenario alone once per
repeat. Prints the median wall times, the machine, its load, and what the default run
found (the winner of each scenario and the gap to the next, mean ± std over folds).
``--write`` replaces the section "## losskit compare (default run)" of
``benchmarks/RESULTS.md`` with the same text (other sections are kept).

    python benchmarks/bench_compare.py [--repeat 3] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from _common import RESULTS, cpu, write_section

SECTION = "## losskit compare (default run)"
BUDGET_S = 180.0  # the default run must finish within 3 minutes on a 2-core machine


def _command() -> list[str]:
    script = Path(sys.executable).with_name("losskit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "losskit"]


def _timed(args: list[str]) -> tuple[float, dict]:
    """Wall time of ``losskit compare ARGS`` as a user runs it (tables and the report with its
    plots, written in a temporary directory), and the numbers of its results.json."""
    with tempfile.TemporaryDirectory() as cwd:
        start = time.perf_counter()
        proc = subprocess.run(
            [*_command(), "compare", *args], capture_output=True, text=True, check=False, cwd=cwd
        )
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"losskit compare {' '.join(args)} failed:\n{proc.stderr}")
        results = Path(cwd) / "losskit-report" / "results.json"
        return seconds, json.loads(results.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true", help=f"update {RESULTS.name}")
    args = parser.parse_args()

    load_before = os.getloadavg()
    runs, scenario_runs = [], {}
    data: dict = {}
    for _ in range(args.repeat):
        seconds, data = _timed([])
        runs.append(seconds)
        for s in data["scenarios"]:
            wall, _ = _timed(["--scenario", s["scenario"]])
            scenario_runs.setdefault(s["scenario"], []).append((wall, s["seconds"]))
    load_after = os.getloadavg()

    import losskit  # after the runs: its versions go into the record

    median = statistics.median(runs)
    lines = [
        SECTION,
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `benchmarks/bench_compare.py "
        f"--repeat {args.repeat}`: wall time of `losskit compare` with no arguments (a fresh "
        "process: import, data loading, 75 fits, tables, the report with its plots), linear "
        "model, 5 folds, seed 0.",
        "",
        f"- Machine: {cpu()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, losskit {losskit.__version__}, "
        f"numpy {data['numpy']}.",
        f"- Load average (1 min) before/after: {load_before[0]:.2f} / {load_after[0]:.2f} — the "
        "machine is shared, so the times are noisy.",
        f"- **Default run: median {median:.1f} s** (runs: "
        + ", ".join(f"{t:.1f}" for t in runs)
        + f" s); budget {BUDGET_S:.0f} s: "
        + ("within it." if max(runs) <= BUDGET_S else "**over it**."),
        "",
        "| scenario | wall s (alone, median) | fitting s (median) | losses × folds |",
        "|---|---|---|---|",
    ]
    for s in data["scenarios"]:
        walls = [w for w, _ in scenario_runs[s["scenario"]]]
        fits = [f for _, f in scenario_runs[s["scenario"]]]
        count = f"{len(s['ranking'])} × {s['folds']}"
        lines.append(
            f"| {s['scenario']} | {statistics.median(walls):.1f} | "
            f"{statistics.median(fits):.1f} | {count} |"
        )
    lines += ["", "What the default run found (mean ± std over the 5 folds; Δ paired by fold):"]
    for s in data["scenarios"]:
        metric = s["primary_metric"]
        lines += ["", f"**{s['scenario']}** — {s['summary']}.", ""]
        lines += [f"| # | loss | {metric} | Δ vs best |", "|---|---|---|---|"]
        for r in s["ranking"]:
            m, gap = r["metrics"][metric], r["gap_to_best"]
            lines.append(
                f"| {r['rank']} | {r['loss']} | {m['mean']:.4g} ± {m['std']:.2g} | "
                f"{gap['mean']:+.3g} ± {gap['std']:.2g} |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(SECTION, text)
        print(f"updated {RESULTS}")


if __name__ == "__main__":
    main()
