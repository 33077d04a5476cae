"""Array libraries for the backend tests and ``benchmarks/gpu_check.py`` (no pytest in here).

A :class:`Backend` turns NumPy test inputs into one library's arrays (on one
device, in one dtype) and back, and :func:`agreement` runs a loss on them and
lists every way the result differs from NumPy float64: value, library,
device, dtype.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, TypeVar

import numpy as np

import losskit

__all__ = [
    "DTYPES",
    "EPS",
    "METHODS",
    "Backend",
    "StabilityCase",
    "agreement",
    "array_api_strict_backend",
    "available",
    "cupy_backend",
    "dask_backend",
    "jax_backend",
    "max_violation",
    "numpy_backend",
    "stability_cases",
    "torch_backend",
]

#: The methods compared; ``hessian`` is skipped where a loss has none.
METHODS = ("compute", "derivative", "hessian")

#: The floating dtypes each library has (NumPy's float64 is the reference itself).
DTYPES = {
    "numpy": ("float32", "float16"),
    "array_api_strict": ("float64", "float32"),
    "torch": ("float64", "float32", "float16", "bfloat16"),
    "jax": ("float64", "float32", "float16", "bfloat16"),
    "dask": ("float64", "float32"),
    "cupy": ("float64", "float32", "float16"),
}

#: Machine epsilon by dtype name (NumPy has no bfloat16: 8 significant bits).
EPS = {"float64": 2.0**-52, "float32": 2.0**-23, "float16": 2.0**-10, "bfloat16": 2.0**-7}


def available(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    return importlib.util.find_spec(module) is not None


@dataclass(frozen=True)
class Backend:
    """One array library on one device.

    ``make(x, dtype)`` converts a NumPy array (floating arrays to the dtype
    named ``dtype``, integer labels as they are); ``to_numpy`` converts back
    (half precisions via float32); ``owns(a)`` says whether ``a`` is an array
    of this library; ``device(a)`` is its device; ``context`` wraps every use
    (JAX's 64-bit mode); ``lazy`` results are computed with ``compute()``.
    """

    name: str
    make: Callable[[np.ndarray, str], Any]
    to_numpy: Callable[[Any], np.ndarray]
    owns: Callable[[Any], bool]
    device: Callable[[Any], Any]
    context: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext
    lazy: bool = False
    dtype_of: Callable[[str], Any] = field(default=lambda name: name)

    def __str__(self) -> str:
        return self.name


def numpy_backend() -> Backend:
    def make(x: np.ndarray, dtype: str) -> Any:
        return x.astype(dtype) if x.dtype.kind == "f" else x

    return Backend(
        name="numpy",
        make=make,
        to_numpy=lambda a: np.asarray(a, dtype=np.float64),
        owns=lambda a: isinstance(a, np.ndarray),
        device=lambda a: "cpu",
        dtype_of=np.dtype,
    )


def array_api_strict_backend(device: str = "CPU_DEVICE", **flags: Any) -> Backend:
    """array-api-strict on one of its devices, with ``ArrayAPIStrictFlags(**flags)``
    (e.g. ``api_version="2023.12"``) around every use."""
    import array_api_strict as xps

    dev = xps.Device(device)
    cpu = xps.Device("CPU_DEVICE")

    def make(x: np.ndarray, dtype: str) -> Any:
        if x.dtype.kind == "f":
            return xps.asarray(x, dtype=getattr(xps, dtype), device=dev)
        return xps.asarray(x, device=dev)

    def to_numpy(a: Any) -> np.ndarray:
        return np.asarray(a.to_device(cpu), dtype=np.float64)

    label = "array_api_strict" + (f"[{device}]" if device != "CPU_DEVICE" else "")
    label += "".join(f"[{k}={v}]" for k, v in flags.items())
    return Backend(
        name=label,
        make=make,
        to_numpy=to_numpy,
        owns=lambda a: isinstance(a, type(xps.asarray(0.0))),
        device=lambda a: a.device,
        context=lambda: xps.ArrayAPIStrictFlags(**flags),
        dtype_of=lambda name: getattr(xps, name),
    )


def torch_backend(device: str = "cpu") -> Backend:
    import torch

    dev = torch.device(device)

    def make(x: np.ndarray, dtype: str) -> Any:
        t = torch.from_numpy(np.ascontiguousarray(x)).to(dev)
        return t.to(getattr(torch, dtype)) if x.dtype.kind == "f" else t

    def to_numpy(a: Any) -> np.ndarray:
        a = a.detach().cpu()
        return (a.float() if a.dtype == torch.bfloat16 else a).numpy().astype(np.float64)

    return Backend(
        name=f"torch[{device}]",
        make=make,
        to_numpy=to_numpy,
        owns=lambda a: isinstance(a, torch.Tensor),
        device=lambda a: a.device,
        dtype_of=lambda name: getattr(torch, name),
    )


def jax_backend(platform: str = "cpu") -> Backend:
    """JAX on the first device of ``platform``, in 64-bit mode (so float64 is float64)."""
    import jax
    import jax.numpy as jnp

    dev = jax.devices(platform)[0]

    def make(x: np.ndarray, dtype: str) -> Any:
        with jax.enable_x64(True):
            a = jnp.asarray(x, dtype=dtype) if x.dtype.kind == "f" else jnp.asarray(x)
            return jax.device_put(a, dev)

    return Backend(
        name=f"jax[{platform}]",
        make=make,
        to_numpy=lambda a: np.asarray(a).astype(np.float64),
        owns=lambda a: isinstance(a, jax.Array),
        device=lambda a: a.device,
        context=lambda: jax.enable_x64(True),
        dtype_of=jnp.dtype,
    )


def dask_backend(chunks: int = 2) -> Backend:
    """Dask arrays of NumPy chunks, ``chunks`` long along every axis."""
    import dask.array as da

    def make(x: np.ndarray, dtype: str) -> Any:
        x = x.astype(dtype) if x.dtype.kind == "f" else x
        return da.from_array(x, chunks=chunks)

    return Backend(
        name="dask",
        make=make,
        to_numpy=lambda a: np.asarray(a, dtype=np.float64),
        owns=lambda a: isinstance(a, da.Array),
        device=lambda a: "cpu",
        lazy=True,
        dtype_of=np.dtype,
    )


def cupy_backend() -> Backend:
    import cupy

    def make(x: np.ndarray, dtype: str) -> Any:
        return cupy.asarray(x.astype(dtype) if x.dtype.kind == "f" else x)

    return Backend(
        name="cupy",
        make=make,
        to_numpy=lambda a: cupy.asnumpy(a).astype(np.float64),
        owns=lambda a: isinstance(a, cupy.ndarray),
        device=lambda a: a.device,
        dtype_of=np.dtype,
    )


# --------------------------------------------------------------------------
# agreement with NumPy float64
# --------------------------------------------------------------------------


def _parts(result: Any) -> tuple[Any, ...]:
    """A method's result as a tuple of arrays (triplet returns one per input)."""
    return result if isinstance(result, tuple) else (result,)


def max_violation(actual: np.ndarray, desired: np.ndarray, eps: float) -> float:
    """The largest ``|actual - desired| / (eps (|desired| + scale))``.

    With ``scale = max(1, max |desired|)``, a violation up to ``k`` passes a
    ``k eps`` tolerance: relative for large entries, absolute (relative to the
    array's scale) where entries cancel to near 0.
    Non-finite entries must be identical (same infinity, NaN where NaN); a
    mismatch counts as ``inf``.
    """
    if actual.shape != desired.shape:
        return float("inf")
    finite = np.isfinite(desired)
    if not np.array_equal(actual[~finite], desired[~finite], equal_nan=True):
        return float("inf")
    if not finite.any():
        return 0.0
    d, a = desired[finite], actual[finite]
    scale = max(1.0, float(np.max(np.abs(d))))
    return float(np.max(np.abs(a - d) / (eps * (np.abs(d) + scale))))


_V = TypeVar("_V", bound="_HasLoss")


class _HasLoss(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def loss(self) -> losskit.LossFunction: ...


def one_per_code_path(variants: Sequence[_V]) -> list[_V]:
    """The first variant of each loss and each option that switches its formulas."""
    seen, chosen = set(), []
    for v in variants:
        p = v.loss.params
        key = (v.name, *(p.get(k) for k in ("from_logits", "log_input", "per_class", "swap")))
        key += (p.get("ignore_index") is not None, p.get("p"))
        if key not in seen:
            seen.add(key)
            chosen.append(v)
    return chosen


def _scheduler_refusing_work(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a Dask graph was computed while the loss was only building it")


@contextlib.contextmanager
def _no_eager_compute(backend: Backend) -> Iterator[None]:
    """For a lazy backend: fail if anything is computed inside the block."""
    if backend.lazy:
        import dask

        with dask.config.set(scheduler=_scheduler_refusing_work):
            yield
    else:
        yield


def rounded_inputs(
    backend: Backend, inputs: Sequence[np.ndarray], dtype: str
) -> tuple[list[Any], list[np.ndarray]]:
    """``inputs`` as ``backend`` arrays in ``dtype``, and the same rounded values in
    NumPy float64 (integer labels as they are): the reference's inputs. Call inside
    ``backend.context()``."""
    arrays = [backend.make(np.asarray(x), dtype) for x in inputs]
    exact = [
        backend.to_numpy(a) if np.asarray(x).dtype.kind == "f" else np.asarray(x)
        for a, x in zip(arrays, inputs, strict=True)
    ]
    return arrays, exact


def agreement(
    loss: losskit.LossFunction,
    inputs: Sequence[np.ndarray],
    backend: Backend,
    dtype: str,
    *,
    k: float = 8.0,
    sample_weight: np.ndarray | None = None,
) -> list[str]:
    """Every way ``loss`` on ``backend`` arrays in ``dtype`` differs from NumPy float64.

    The inputs are converted to ``backend`` in ``dtype``, and the reference
    is computed by NumPy in float64 from those same (rounded) values, so the
    comparison measures the computation, not the rounding of the inputs. Each
    of ``compute``, ``derivative`` and ``hessian`` must give arrays of the
    backend's library, on the input's device, in ``dtype``, within
    ``k eps(dtype)`` (see :func:`max_violation`); a lazy backend must not
    compute anything until asked. Returns the problems (empty: all agree).
    """
    problems: list[str] = []
    with backend.context():
        arrays, exact = rounded_inputs(backend, inputs, dtype)
        weight = None if sample_weight is None else backend.make(sample_weight, dtype)
        ref_weight = None if weight is None else backend.to_numpy(weight)
        ref_device = backend.device(arrays[loss._ref])
        want_dtype = backend.dtype_of(dtype)
        eps = EPS[dtype]
        for method in METHODS:
            try:
                reference = getattr(loss, method)(*exact, sample_weight=ref_weight)
            except NotImplementedError:
                continue
            with _no_eager_compute(backend):
                result = getattr(loss, method)(*arrays, sample_weight=weight)
            got, want = _parts(result), _parts(reference)
            if len(got) != len(want):
                problems.append(f"{method}: {len(got)} results, NumPy gives {len(want)}")
                continue
            for i, (g, w) in enumerate(zip(got, want, strict=True)):
                where = method if len(got) == 1 else f"{method}[{i}]"
                if not backend.owns(g):
                    problems.append(f"{where}: a {type(g).__name__}, not a {backend} array")
                    continue
                if g.dtype != want_dtype:
                    problems.append(f"{where}: dtype {g.dtype}, input dtype {dtype}")
                if not backend.lazy and backend.device(g) != ref_device:
                    problems.append(f"{where}: on {backend.device(g)}, input on {ref_device}")
                if backend.lazy:
                    g = g.compute(scheduler="sync")
                v = max_violation(backend.to_numpy(g), np.asarray(w, dtype=np.float64), eps)
                if not v <= k:
                    problems.append(f"{where}: differs from NumPy float64 by {v:.3g} eps > {k:g}")
    return problems


# --------------------------------------------------------------------------
# SPEC §4 extreme inputs
# --------------------------------------------------------------------------


class StabilityCase(NamedTuple):
    """A SPEC §4 promise: ``loss`` on ``inputs``, and ``expected`` ``(value,
    derivative)`` (``derivative`` None: only finite) or None (only finite)."""

    id: str
    loss: losskit.LossFunction
    inputs: tuple[np.ndarray, ...]
    expected: tuple[Any, Any] | None


def stability_cases(dtype: str) -> list[StabilityCase]:
    """The SPEC §4 promises as inputs for ``dtype`` (float32 or float64)."""
    inf = math.inf
    huge = 1e300 if dtype == "float64" else 1e38
    offset = np.array([[0.0, 8.0, -8.0], [0.0, 0.0, 0.0]])  # multiples of float32's ulp at 1e8
    lse = math.log(1.0 + math.exp(8.0) + math.exp(-8.0))
    # logits (-inf, 1, 2), targets (0, 1/2, 1/2): loss lse - 1.5, gradient softmax - target
    masked_lse = math.log(math.e + math.e**2)
    q = math.e**2 / (math.e + math.e**2)
    ce = losskit.CategoricalCrossEntropy(from_logits=True, reduction="none")
    sparse = losskit.SparseCategoricalCrossEntropy(from_logits=True, reduction="none")
    return [
        StabilityCase(
            "bce-logits-at-inf",
            losskit.BinaryCrossEntropy(from_logits=True, reduction="none"),
            (np.array([1.0, 0.0, 0.0, 1.0]), np.array([inf, inf, -inf, -inf])),
            ([0.0, inf, 0.0, inf], [0.0, 1.0, 0.0, -1.0]),
        ),
        StabilityCase(
            "bce-probabilities-exactly-0-and-1",
            losskit.BinaryCrossEntropy(reduction="none"),
            (np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.0, 1.0, 0.0, 1.0])),
            ([0.0, 0.0, 100.0, 100.0], None),
        ),
        StabilityCase(
            "ce-offset-1e8",
            ce,
            (np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), offset + 1e8),
            ([lse, math.log(3.0)], None),
        ),
        StabilityCase(
            "sparse-ce-offset-1e8",
            sparse,
            (np.array([0, 1]), offset + 1e8),
            ([lse, math.log(3.0)], None),
        ),
        StabilityCase(
            "ce-masked-minus-inf-logits",
            ce,
            (np.array([[0.0, 0.5, 0.5]]), np.array([[-inf, 1.0, 2.0]])),
            ([masked_lse - 1.5], [[0.0, 0.5 - q, q - 0.5]]),
        ),
        StabilityCase(
            "log-cosh-huge-residual",
            losskit.LogCoshLoss(reduction="none"),
            (np.array([0.0, 0.0]), np.array([huge, -huge])),
            ([huge, huge], [1.0, -1.0]),
        ),
        StabilityCase(
            "focal-gamma-0.5-saturated-logits",
            losskit.FocalLoss(gamma=0.5, from_logits=True, reduction="none"),
            (np.array([1.0, 0.0, 1.0, 0.0]), np.array([100.0, -100.0, -100.0, 100.0])),
            None,
        ),
        StabilityCase(
            "focal-gamma-0.5-probability-pt-1",
            losskit.FocalLoss(gamma=0.5, reduction="none"),
            (np.array([1.0, 0.0]), np.array([1.0, 0.0])),
            ([0.0, 0.0], None),
        ),
        StabilityCase(
            "all-ignored-batch",
            losskit.SparseCategoricalCrossEntropy(from_logits=True, ignore_index=-100),
            (np.array([-100, -100]), np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])),
            (0.0, [[0.0] * 3] * 2),
        ),
    ]
