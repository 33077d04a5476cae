"""Backend agreement on a CUDA GPU: every loss on PyTorch, CuPy and JAX GPU arrays.

Runs from a checkout, without pytest::

    python benchmarks/gpu_check.py

For each library that is installed and sees the GPU it runs, in every dtype
the library has, the test suite's loss variants (``tests/conftest.py``; the
registry's defaults when pytest is not installed) and the SPEC §4 extreme
inputs, and checks that ``compute``, ``derivative`` and ``hessian`` return
arrays of that library, on the GPU, in the input dtype, within ``8 eps`` of
NumPy float64 (``tests/_backends.py: agreement``). It also checks the
validation policy on the device: bad probabilities pass under ``"auto"``
(no device-to-host read) and raise under ``"always"``. Last, with PyTorch, it
compiles value, derivative and Hessian of one variant per code path with
``torch.compile(fullgraph=True)`` and the default ``inductor`` backend (Triton
kernels on the GPU; the CPU test suite uses the ``eager`` and ``aot_eager``
backends) in float32 and float64: no graph break, same ``8 eps`` tolerance.

Prints one summary line, e.g. ``gpu_check: cuda:0 NVIDIA H100 80GB HBM3 — torch
359/359 ok (40 s), cupy skipped (not installed), jax skipped (no GPU backend),
inductor 78/78 ok (300 s)`` (a check: one case in one dtype, all three methods;
plus the validation check); details of failures go to stderr. Exit status 1 if any check failed, 0
otherwise, also when there is no GPU (the line then says so).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import losskit
from _backends import (
    DTYPES,
    EPS,
    Backend,
    _parts,
    agreement,
    available,
    cupy_backend,
    jax_backend,
    max_violation,
    one_per_code_path,
    rounded_inputs,
    stability_cases,
    torch_backend,
)

#: Failures printed to stderr, at most.
SHOWN_FAILURES = 20


Case = tuple[str, losskit.LossFunction, tuple[np.ndarray, ...]]


def _cases(per_code_path: bool = False) -> list[Case]:
    """(id, loss, NumPy inputs): the suite's variants (or only the first of each
    code path), or the registry defaults."""
    rng = np.random.default_rng(11)
    try:
        from conftest import VARIANTS
    except ImportError:  # no pytest/hypothesis: one default loss per registry name
        losses = [losskit.get(name) for name in losskit.names()]
        return [(str(loss.name), loss, tuple(loss._sample(rng, (4, 3)))) for loss in losses]
    variants = one_per_code_path(VARIANTS) if per_code_path else VARIANTS
    return [(v.id, v.loss, v.inputs(rng)) for v in variants]


def _cuda_device() -> str | None:
    """``"cuda:0 <name>"`` for the first CUDA device any installed library sees."""
    if available("torch"):
        import torch

        if torch.cuda.is_available():
            return f"cuda:0 {torch.cuda.get_device_name(0)}"
    if available("cupy"):
        import cupy

        try:
            if cupy.cuda.runtime.getDeviceCount() > 0:
                name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
                return f"cuda:0 {name}"
        except cupy.cuda.runtime.CUDARuntimeError:
            return None
    if available("jax"):
        import jax

        try:
            return f"cuda:0 {jax.devices('gpu')[0].device_kind}"
        except RuntimeError:
            return None
    return None


def _gpu_backends() -> list[tuple[str, Callable[[], Backend] | None, str]]:
    """(library, backend factory or None, why skipped)."""
    found: list[tuple[str, Callable[[], Backend] | None, str]] = []
    if not available("torch"):
        found.append(("torch", None, "not installed"))
    else:
        import torch

        ok = torch.cuda.is_available()
        found.append(("torch", (lambda: torch_backend("cuda:0")) if ok else None, "no CUDA"))
    if not available("cupy"):
        found.append(("cupy", None, "not installed"))
    else:
        found.append(("cupy", cupy_backend, ""))
    if not available("jax"):
        found.append(("jax", None, "not installed"))
    else:
        import jax

        try:
            jax.devices("gpu")
            found.append(("jax", lambda: jax_backend("gpu"), ""))
        except RuntimeError:
            found.append(("jax", None, "no GPU backend"))
    return found


def _validation_policy(backend: Backend) -> list[str]:
    """On the device, ``"auto"`` skips value checks (no device-to-host read) and
    ``"always"`` runs them."""
    bce = losskit.BinaryCrossEntropy()
    with backend.context():
        y, p = (
            backend.make(np.array([0.0, 1.0]), "float32"),
            backend.make(np.array([0.5, 1.5]), "float32"),
        )
    problems = []
    try:
        bce.compute(y, p)
    except ValueError:
        problems.append(f'{backend} validation: "auto" read values on the device')
    try:
        with losskit.validation("always"):
            bce.compute(y, p)
        problems.append(f'{backend} validation: "always" let p = 1.5 through')
    except ValueError:
        pass
    return problems


def check(backend: Backend) -> tuple[int, int, list[str]]:
    """(passed, total, failures) over every case and dtype of ``backend``."""
    failures: list[str] = []
    total = 0
    variants = _cases()
    for dtype in DTYPES[backend.name.split("[")[0]]:
        cases = list(variants)
        if dtype in ("float32", "float64"):
            cases += [(f"stability:{c.id}", c.loss, c.inputs) for c in stability_cases(dtype)]
        for case_id, loss, inputs in cases:
            total += 1
            with np.errstate(all="ignore"):
                problems = agreement(loss, inputs, backend, dtype)
            failures += [f"{backend} {dtype} {case_id}: {p}" for p in problems[:1]]
    total += 1
    failures += _validation_policy(backend)[:1]
    return total - len(failures), total, failures


def inductor_check(
    device: str = "cuda:0", seconds: float = float("inf")
) -> tuple[int, int, list[str]]:
    """(passed, total, failures): value, derivative and Hessian compiled together by
    ``torch.compile(fullgraph=True)`` with ``inductor``, on CUDA tensors, against
    NumPy float64 on the same (rounded) inputs. Cases not started within
    ``seconds`` are left out of ``total`` (and said so on stderr)."""
    import torch

    backend = torch_backend(device)
    failures: list[str] = []
    total = 0
    cases = [(dtype, case) for dtype in ("float32", "float64") for case in _cases(True)]
    deadline = time.perf_counter() + seconds
    for dtype, (case_id, loss, inputs) in cases:
        if time.perf_counter() > deadline:
            print(
                f"inductor: {len(cases) - total} of {len(cases)} cases left out "
                f"(time budget of {seconds:g} s)",
                file=sys.stderr,
            )
            break
        total += 1

        def everything(*arrays: Any, loss: losskit.LossFunction = loss) -> tuple[Any, ...]:
            grad, hess = loss.derivative_and_hessian(*arrays)
            return (loss.compute(*arrays), *_parts(grad), *_parts(hess))

        tensors, exact = rounded_inputs(backend, inputs, dtype)
        torch._dynamo.reset()  # a fresh graph per loss: no recompilation limit
        try:
            got = torch.compile(everything, fullgraph=True)(*tensors)
        except Exception as error:  # a graph break or a compiler error
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            failures.append(f"inductor {dtype} {case_id}: {type(error).__name__}: {first}")
            continue
        with np.errstate(all="ignore"):
            want = everything(*exact)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            v = max_violation(backend.to_numpy(g), np.asarray(w, dtype=np.float64), EPS[dtype])
            if g.dtype != getattr(torch, dtype) or g.device != tensors[0].device or not v <= 8:
                failures.append(
                    f"inductor {dtype} {case_id} result {i}: {g.dtype} on {g.device}, "
                    f"{v:.3g} eps from NumPy float64"
                )
                break
    return total - len(failures), total, failures


def _timed(run: Callable[[], tuple[int, int, list[str]]], library: str) -> tuple[str, list[str]]:
    """The summary part for one library and its failures; an error counts as one."""
    start = time.perf_counter()
    try:
        passed, total, failed = run()
    except Exception as error:  # a library whose API changed must not hide the others
        return f"{library} ERROR ({type(error).__name__}: {error})", [f"{library}: {error!r}"]
    seconds = time.perf_counter() - start
    verdict = "ok" if passed == total else "FAILED"
    part = f"{library} {passed}/{total} {verdict} ({seconds:.0f} s)"
    print(part, file=sys.stderr, flush=True)  # progress, in case a time limit cuts the run
    return part, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--inductor-seconds",
        type=float,
        default=float("inf"),
        help="time budget of the torch.compile (inductor) part; default: no limit",
    )
    args = parser.parse_args()
    device = _cuda_device()
    if device is None:
        print("gpu_check: no CUDA device (torch, cupy and jax see none); nothing checked")
        return 0
    parts, failures = [], []
    for library, factory, why in _gpu_backends():
        if factory is None:
            parts.append(f"{library} skipped ({why})")
            continue
        make: Callable[[], Backend] = factory
        part, failed = _timed(lambda: check(make()), library)  # noqa: B023 (called at once)
        parts.append(part)
        failures += failed
    if available("torch"):
        import torch

        if torch.cuda.is_available():
            part, failed = _timed(lambda: inductor_check(seconds=args.inductor_seconds), "inductor")
            parts.append(part)
            failures += failed
    for line in failures[:SHOWN_FAILURES]:
        print(line, file=sys.stderr)
    print(f"gpu_check: {device} — {', '.join(parts)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
