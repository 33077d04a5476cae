"""Forward + backward time and peak memory of ``losskit.torch.as_module`` on the CPU.

Three ways to get a loss and its gradient in PyTorch are compared on the same inputs:

* ``losskit.torch``: ``as_module(loss)(input, target).backward()``, losskit's analytic
  derivative in the backward, only the inputs saved (on the CPU, with Numba installed, the
  fused kernels of ``losskit._fastpath`` for the losses they cover, on as many threads as
  torch is given);
* ``losskit.torch recompute=False``: value and derivative in one forward pass, the
  derivative saved;
* ``autograd``: ``loss.compute(target, input).backward()``, autograd through losskit's
  formula (every intermediate saved);
* ``torch``: PyTorch's own loss (``torch.nn.functional``), where one exists.

Time: the median of ``--repeats`` forward + backward passes after a warm-up, the methods
taking turns in each round (one process), so that a change of load on a shared machine
hits them alike; still noisy. Memory, in a fresh process per method: the peak resident
memory of one pass above what the inputs occupy (``ru_maxrss`` minus the resident size
before the pass, which follows a small warm-up pass that loads any compiled kernels), and
the bytes autograd keeps for the backward beyond the inputs themselves (counted with
``saved_tensors_hooks``).

    python benchmarks/bench_torch_module.py            # the full table (minutes)
    python benchmarks/bench_torch_module.py --quick    # small sizes, a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _common import cpu

METHODS = ("losskit.torch", "losskit.torch recompute=False", "autograd", "torch")


@dataclass(frozen=True)
class Case:
    """A loss, the PyTorch function it equals, and how to draw its inputs."""

    name: str
    loss: str  # losskit.get(...) arguments as "name key=value ..."
    torch_fn: str  # an expression of F, x, t (and p, n for triplet)
    inputs: str  # "regression" | "binary" | "labels" | "rows" | "triplet"


CASES = [
    Case("mse", "mse", "F.mse_loss(x, t)", "regression"),
    Case("l1", "mae", "F.l1_loss(x, t)", "regression"),
    Case("huber", "huber", "F.huber_loss(x, t)", "regression"),
    Case("smooth_l1", "smooth_l1", "F.smooth_l1_loss(x, t)", "regression"),
    Case(
        "bce_with_logits",
        "binary_cross_entropy from_logits=True",
        "F.binary_cross_entropy_with_logits(x, t)",
        "binary",
    ),
    Case(
        "cross_entropy",
        "sparse_categorical_cross_entropy from_logits=True",
        "F.cross_entropy(x, t)",
        "labels",
    ),
    Case(
        "kl_div",
        "kl_divergence from_logits=True",
        "F.kl_div(F.log_softmax(x, dim=-1), t, reduction='batchmean')",
        "rows",
    ),
    Case("multi_margin", "multiclass_hinge", "F.multi_margin_loss(x, t)", "labels"),
    Case("triplet", "triplet", "F.triplet_margin_loss(x, p, n)", "triplet"),
]

#: Input shapes per case: element-wise losses at 1e6 and 1e7 elements, row-wise ones
#: at 1e4 x 1000 (cross-entropy also at 1e5 x 1000, in float32 only: autograd through
#: the formula needs several GiB there), triplet at 1e5 x 100 per input.
SHAPES = {
    "regression": [(10**6,), (10**7,)],
    "binary": [(10**6,), (10**7,)],
    "labels": [(10**4, 1000)],
    "rows": [(10**4, 1000)],
    "triplet": [(10**5, 100)],
}
LARGE_CE = (10**5, 1000)
QUICK_SHAPES = {
    "regression": [(10**4,)],
    "binary": [(10**4,)],
    "labels": [(100, 50)],
    "rows": [(100, 50)],
    "triplet": [(100, 10)],
}


def _parse_loss(spec: str) -> tuple[str, dict[str, Any]]:
    name, *pairs = spec.split()
    params = {}
    for pair in pairs:
        key, value = pair.split("=")
        params[key] = {"True": True, "False": False}.get(value, value)
    return name, params


def _rss_bytes() -> int:
    """The current resident set size."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize()


def _setup(case: Case, shape: tuple[int, ...], dtype_name: str, threads: int) -> dict:
    """The inputs and one forward + backward step per method, for ``case``."""
    import torch

    import losskit
    from losskit import _fastpath
    from losskit.torch import as_module

    torch.set_num_threads(threads)
    _fastpath.set_num_threads(threads)  # losskit's CPU kernels: as many threads as torch
    F = torch.nn.functional
    torch.manual_seed(0)
    dtype = getattr(torch, dtype_name)
    x = torch.randn(*shape, dtype=dtype)
    n = None
    if case.inputs == "regression":
        t = torch.randn(*shape, dtype=dtype)
    elif case.inputs == "binary":
        t = (torch.rand(*shape) < 0.5).to(dtype)
    elif case.inputs == "labels":
        t = torch.randint(0, shape[-1], shape[:-1])
    elif case.inputs == "rows":
        t = torch.softmax(torch.randn(*shape, dtype=dtype), dim=-1)
    else:
        t = x + 0.3 * torch.randn(*shape, dtype=dtype)  # the positive
        n = x + 0.6 * torch.randn(*shape, dtype=dtype)  # the negative
    x.requires_grad_()
    name, params = _parse_loss(case.loss)
    loss = losskit.get(name, **params)
    args = (x, t, n) if n is not None else (t, x)  # losskit's order
    forwards: dict[str, Callable[[], Any]] = {
        "losskit.torch": lambda: as_module(loss)(*((x, t, n) if n is not None else (x, t))),
        "losskit.torch recompute=False": lambda: as_module(loss, recompute=False)(
            *((x, t, n) if n is not None else (x, t))
        ),
        "autograd": lambda: loss.compute(*args),
        "torch": lambda: eval(case.torch_fn, {"F": F, "x": x, "t": t, "p": t, "n": n}),
    }

    def step(method: str) -> None:
        forwards[method]().backward()
        x.grad = None

    inputs = [v for v in (x, t, n) if v is not None]
    return {"step": step, "forward": forwards, "inputs": inputs}


def memory(case: Case, shape: tuple[int, ...], dtype: str, method: str, threads: int) -> dict:
    """Peak memory of one forward + backward, and what autograd keeps beyond the inputs.

    Run in a fresh process: ``ru_maxrss`` is the process's high-water mark.
    """
    import torch

    from losskit import _fastpath

    with _fastpath.forced(True):  # load the compiled kernels first: code is not a peak
        _setup(case, (64, *shape[1:]), dtype, threads)["step"](method)
    bench = _setup(case, shape, dtype, threads)
    before = _rss_bytes()
    bench["step"](method)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    inputs = {v.untyped_storage().data_ptr() for v in bench["inputs"]}
    kept: dict[int, int] = {}

    def pack(tensor: Any) -> Any:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in inputs:
            kept[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = bench["forward"][method]()
    del out
    return {"peak_mb": max(peak, 0) / 2**20, "saved_mb": sum(kept.values()) / 2**20}


def timing(
    case: Case, shape: tuple[int, ...], dtype: str, repeats: int, threads: int
) -> dict[str, float]:
    """Median forward + backward time per method, the methods taking turns in each round."""
    bench = _setup(case, shape, dtype, threads)
    times: dict[str, list[float]] = {m: [] for m in METHODS}
    for method in METHODS:
        bench["step"](method)  # warm-up
    for _ in range(repeats):
        for method in METHODS:
            start = time.perf_counter()
            bench["step"](method)
            times[method].append(time.perf_counter() - start)
    return {m: 1e3 * statistics.median(ts) for m, ts in times.items()}


def _child(task: list) -> Any:
    kind, *spec = task
    return memory(*spec) if kind == "memory" else timing(*spec)


def _run_child(task: list) -> Any:
    command = [sys.executable, __file__, "--child", json.dumps(task)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _environment(threads: int) -> str:
    import numpy
    import torch

    import losskit

    return (
        f"{time.strftime('%Y-%m-%d')}, {cpu()} ({os.cpu_count()} cores), "
        f"{threads} torch thread(s), "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {numpy.__version__}, losskit {losskit.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--cases", default=",".join(c.name for c in CASES))
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    by_name = {c.name: c for c in CASES}
    if args.child:
        kind, name, *rest = json.loads(args.child)
        print(json.dumps(_child([kind, by_name[name], *rest])))
        return

    print(f"Machine: {_environment(args.threads)}\n")
    print("| loss | shape | dtype | method | time (ms) | peak (MiB) | kept for backward (MiB) |")
    print("| --- | --- | --- | --- | ---: | ---: | ---: |")
    for name in args.cases.split(","):
        case = by_name[name]
        shapes = (QUICK_SHAPES if args.quick else SHAPES)[case.inputs]
        if name == "cross_entropy" and not args.quick:
            shapes = [*shapes, LARGE_CE]
        for shape in shapes:
            for dtype in args.dtypes.split(","):
                if shape == LARGE_CE and dtype != "float32":
                    continue
                times = _run_child(["timing", name, shape, dtype, args.repeats, args.threads])
                dims = " x ".join(f"{s:.0e}" if s >= 10**4 else str(s) for s in shape)
                for method in METHODS:
                    mem = _run_child(["memory", name, shape, dtype, method, args.threads])
                    print(
                        f"| {name} | {dims} | {dtype} | {method} | {times[method]:.1f} | "
                        f"{mem['peak_mb']:.0f} | {mem['saved_mb']:.0f} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
