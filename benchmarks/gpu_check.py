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
(no device-to-host read) and raise under ``"always"``.

Prints one summary line, e.g. ``gpu_check: cuda:0 NVIDIA H100 80GB HBM3 — torch
359/359 ok, cupy skipped (not installed), jax skipped (no GPU backend)`` (a
check: one case in one dtype, all three methods; plus the validation check);
details of failures go to stderr. Exit status 1 if any check failed, 0
otherwise, also when there is no GPU (the line then says so).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import losskit
from _backends import (
    DTYPES,
    Backend,
    agreement,
    available,
    cupy_backend,
    jax_backend,
    stability_cases,
    torch_backend,
)

#: Failures printed to stderr, at most.
SHOWN_FAILURES = 20


def _cases() -> list[tuple[str, losskit.LossFunction, tuple[np.ndarray, ...]]]:
    """(id, loss, NumPy inputs): the suite's variants, or the registry defaults."""
    rng = np.random.default_rng(11)
    try:
        from conftest import VARIANTS
    except ImportError:  # no pytest/hypothesis: one default loss per registry name
        losses = [losskit.get(name) for name in losskit.names()]
        return [(str(loss.name), loss, tuple(loss._sample(rng, (4, 3)))) for loss in losses]
    return [(v.id, v.loss, v.inputs(rng)) for v in VARIANTS]


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


def main() -> int:
    device = _cuda_device()
    if device is None:
        print("gpu_check: no CUDA device (torch, cupy and jax see none); nothing checked")
        return 0
    parts, failures = [], []
    for library, factory, why in _gpu_backends():
        if factory is None:
            parts.append(f"{library} skipped ({why})")
            continue
        passed, total, failed = check(factory())
        failures += failed
        parts.append(f"{library} {passed}/{total} {'ok' if passed == total else 'FAILED'}")
    for line in failures[:SHOWN_FAILURES]:
        print(line, file=sys.stderr)
    print(f"gpu_check: {device} — {', '.join(parts)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
