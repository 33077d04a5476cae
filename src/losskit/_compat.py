"""The one place that talks to array-api-compat.

Every other module asks this one for the namespace of its arrays, for dtype
and device facts and for whether values can be read: eagerly (NumPy, CuPy,
PyTorch, JAX outside a transformation, array-api-strict), lazily at a cost
(Dask) or not at all (``torch.compile``, ``torch.func.vmap`` and ``jax.jit``
tracers, meta tensors).

PyTorch tensors are recognised here without array-api-compat's cached type
lookups: ``torch.compile`` warns about every ``functools.lru_cache`` it traces
through, and losses must compile without warnings or graph breaks.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import sys
from collections.abc import Iterator
from typing import Any, Literal

import array_api_compat
import numpy as np

Array = Any
Namespace = Any

__all__ = [
    "SILENCE_FP_WARNINGS",
    "Array",
    "Namespace",
    "as_array",
    "compute_dtype",
    "device",
    "fp_errors_ignored",
    "is_floating",
    "is_integral",
    "is_numpy",
    "is_traced",
    "namespace",
    "on_host",
    "set_validation",
    "should_validate",
    "validation",
    "validation_mode",
    "values_readable",
]

#: NumPy floating-point warnings are silenced while a loss is evaluated: the
#: formulas produce ``inf`` or ``-inf`` on purpose (``log(0)`` of an exact zero
#: probability before its -100 clamp), and the result carries any non-finite
#: value for the caller to see. The test suite turns this off to check that
#: ordinary inputs raise no floating-point error at all.
SILENCE_FP_WARNINGS = True

_NUMPY_NAMES = ("numpy", "array_api_compat.numpy")
#: Namespaces that compute eagerly with NumPy on the host (their floating-point
#: warnings are NumPy's). Dask also runs NumPy, but later, in ``compute()``.
_NUMPY_BACKED = (*_NUMPY_NAMES, "array_api_strict")


def _torch_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor (never imports torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def namespace(*arrays: Array) -> Namespace:
    """The array-API namespace shared by ``arrays`` (NumPy for Python scalars and lists)."""
    if arrays and all(_torch_tensor(a) for a in arrays):
        import array_api_compat.torch as torch_xp

        return torch_xp
    xp = array_api_compat.array_namespace(*arrays)
    return _dask_namespace(xp) if array_api_compat.is_dask_namespace(xp) else xp


class _DaskNamespace:
    """array-api-compat's Dask namespace with a chunk-wise ``clip``.

    Its ``clip`` broadcasts a scalar bound to a one-chunk array of the full
    shape; with 1e8 float32 elements in 1e7-element chunks that took 4.5x the
    memory and 3x the time of ``dask.array.clip``, which clips block by block.
    """

    def __init__(self, xp: Namespace) -> None:
        self._xp = xp
        self.__name__ = xp.__name__

    def __getattr__(self, name: str) -> Any:
        return getattr(self._xp, name)

    def clip(self, x: Array, /, min: Any = None, max: Any = None) -> Array:
        scalar = (int, float, type(None))
        if isinstance(min, scalar) and isinstance(max, scalar):
            import dask.array as da

            return da.clip(x, min, max)
        return self._xp.clip(x, min=min, max=max)


@functools.cache
def _dask_namespace(xp: Namespace) -> _DaskNamespace:
    return _DaskNamespace(xp)


def is_numpy(xp: Namespace) -> bool:
    """Whether ``xp`` is NumPy (or array-api-compat's NumPy wrapper)."""
    return getattr(xp, "__name__", None) in _NUMPY_NAMES


def is_torch(xp: Namespace) -> bool:
    """Whether ``xp`` is array-api-compat's PyTorch namespace."""
    return getattr(xp, "__name__", None) == "array_api_compat.torch"


def device(x: Array) -> Any:
    """The device of ``x`` (``x.device`` where the library has the standard attribute)."""
    if _torch_tensor(x):
        return x.device
    return array_api_compat.device(x)


def as_array(x: Any, like: Array | None = None) -> Array:
    """``x`` as an array of ``like``'s library and device (NumPy when ``like`` is None).

    Arrays already of that library are returned as they are, without a copy.
    """
    if like is None:
        if _torch_tensor(x) or array_api_compat.is_array_api_obj(x):
            return x
        return np.asarray(x)
    if _torch_tensor(x) and _torch_tensor(like):
        return x
    xp = namespace(like)
    if array_api_compat.is_array_api_obj(x) and namespace(x) is xp:
        return x
    return xp.asarray(x, device=device(like))


def is_floating(xp: Namespace, x: Array) -> bool:
    return bool(xp.isdtype(x.dtype, "real floating"))


def is_integral(xp: Namespace, x: Array) -> bool:
    return bool(xp.isdtype(x.dtype, ("integral", "bool")))


def compute_dtype(xp: Namespace, dtype: Any) -> Any:
    """The dtype losses compute in: half precisions are promoted to float32."""
    half = [xp.float16] if hasattr(xp, "float16") else []
    bf16 = getattr(xp, "bfloat16", None)
    if bf16 is not None:
        half.append(bf16)
    if any(dtype == h for h in half):
        return xp.float32
    return dtype


# --------------------------------------------------------------------------
# can the values be read: tracing, laziness, devices
# --------------------------------------------------------------------------


def _torch_traced(x: Any) -> bool:
    """A tensor without values to read: traced by Dynamo (``torch.compile``,
    ``torch.export``), batched by ``torch.func.vmap``, or on the meta device."""
    import torch

    if torch.compiler.is_compiling() or x.is_meta:
        return True
    # functorch's private test; if a torch release drops it, vmap breaks the tests
    return bool(torch._C._functorch.is_batchedtensor(x))


def host_view(x: Array) -> np.ndarray | None:
    """A NumPy array sharing the memory of a plain PyTorch CPU tensor ``x``, or None.

    None for a tensor autograd must see (``requires_grad`` with grad mode on),
    a traced or meta tensor, any tensor inside a ``torch.func`` transform, a
    tensor subclass, a sparse one, one with a lazy conjugate or negation bit,
    and anything not a tensor.
    The fast path computes through such views: no copy either way.
    """
    if not _torch_tensor(x):
        return None
    import torch

    # Traced first: Dynamo must not trace the attribute checks below.
    # Inside a torch.func transform even a plain tensor has no readable storage.
    if _torch_traced(x) or torch._C._functorch.peek_interpreter_stack() is not None:
        return None
    if type(x) is not torch.Tensor or x.device.type != "cpu" or x.layout != torch.strided:
        return None
    if (x.requires_grad and torch.is_grad_enabled()) or x.is_conj() or x.is_neg():
        return None
    try:
        return x.detach().numpy()
    except TypeError:  # a dtype NumPy lacks (bfloat16, float8): no view
        return None


def is_traced(x: Array) -> bool:
    """Whether ``x`` stands for values that do not exist yet while a function is traced.

    True for JAX tracers (``jax.jit``, ``jax.grad``, ``jax.vmap``), for torch
    tensors under ``torch.compile``, ``torch.export`` or ``torch.func.vmap``
    and on the meta device, and for arrays of unknown lazy libraries. Reading
    such values fails or breaks the trace.
    """
    if isinstance(x, np.ndarray):
        return False
    if _torch_tensor(x):
        return _torch_traced(x)
    jax = sys.modules.get("jax")
    if jax is not None and isinstance(x, jax.core.Tracer):
        return True
    if array_api_compat.is_dask_array(x) or array_api_compat.is_jax_array(x):
        return False
    return bool(array_api_compat.is_lazy_array(x))


def values_readable(x: Array) -> bool:
    """Whether the values of ``x`` can be read now, cheaply: not traced and not lazy (Dask)."""
    return not is_traced(x) and not array_api_compat.is_dask_array(x)


def on_host(x: Array) -> bool:
    """Whether ``x`` lives in host memory (reading it needs no device transfer)."""
    if array_api_compat.is_numpy_array(x):
        return True
    if array_api_compat.is_cupy_array(x):
        return False
    if _torch_tensor(x):
        return bool(x.device.type == "cpu")
    dev = device(x)
    if array_api_compat.is_jax_array(x):
        return getattr(dev, "platform", "cpu") == "cpu"
    return "cpu" in str(dev).lower()


ValidationMode = Literal["auto", "always", "never"]
_VALIDATION: contextvars.ContextVar[str] = contextvars.ContextVar(
    "losskit_validation", default="auto"
)


def _check_mode(mode: Any) -> str:
    if mode is True:
        return "always"
    if mode is False:
        return "never"
    if mode not in ("auto", "always", "never"):
        raise ValueError(
            f"validation mode must be 'auto', 'always', 'never', True or False; got {mode!r}"
        )
    return str(mode)


def set_validation(mode: ValidationMode | bool) -> str:
    """Set how losses check input values (probability ranges, label ranges); returns the old mode.

    * ``"auto"`` (default): check arrays in host memory whose values exist
      (NumPy, PyTorch CPU, eager JAX CPU, array-api-strict); skip arrays on an
      accelerator (the check would stall for a device-to-host copy on every
      call) and lazy Dask arrays (it would compute the data an extra time).
    * ``"always"`` (or True): also check accelerator and Dask arrays.
    * ``"never"`` (or False): check no values.

    No mode checks traced values (``jax.jit``, ``jax.grad``, ``jax.vmap``,
    ``torch.compile``, ``torch.export``, ``torch.func.vmap``): they do not
    exist while the function is traced.
    Shapes and dtypes are always checked: that costs nothing.
    """
    old = _VALIDATION.get()
    _VALIDATION.set(_check_mode(mode))
    return old


def validation_mode() -> str:
    """The current validation mode (see :func:`set_validation`)."""
    return _VALIDATION.get()


@contextlib.contextmanager
def validation(mode: ValidationMode | bool) -> Iterator[None]:
    """Context manager: the validation mode inside the block (see :func:`set_validation`)."""
    token = _VALIDATION.set(_check_mode(mode))
    try:
        yield
    finally:
        _VALIDATION.reset(token)


def should_validate(x: Array) -> bool:
    """Whether value checks run on ``x`` under the current validation mode."""
    # Traced first: torch.compile cannot trace ContextVar.get (a graph break).
    if is_traced(x):
        return False
    mode = _VALIDATION.get()
    if mode == "never":
        return False
    return mode == "always" or (on_host(x) and values_readable(x))


@contextlib.contextmanager
def fp_errors_ignored(xp: Namespace) -> Iterator[None]:
    """Silence NumPy floating-point warnings (see ``SILENCE_FP_WARNINGS``).

    Covers the libraries that compute eagerly with NumPy (NumPy and
    array-api-strict); Dask evaluates later, in ``compute()``, outside this block.
    """
    if SILENCE_FP_WARNINGS and getattr(xp, "__name__", None) in _NUMPY_BACKED:
        with np.errstate(all="ignore"):
            yield
    else:
        yield
