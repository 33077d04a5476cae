"""The one place that talks to array-api-compat.

Every other module asks this one for the namespace of its arrays, for dtype
facts and for whether values can be read (eager) or not (traced or lazy).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any, Literal

import array_api_compat
import numpy as np

Array = Any
Namespace = Any

__all__ = [
    "Array",
    "Namespace",
    "as_array",
    "compute_dtype",
    "device",
    "fp_errors_ignored",
    "is_floating",
    "is_integral",
    "is_numpy",
    "namespace",
    "on_host",
    "set_validation",
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


def namespace(*arrays: Array) -> Namespace:
    """The array-API namespace shared by ``arrays`` (NumPy for Python scalars and lists)."""
    return array_api_compat.array_namespace(*arrays)


def is_numpy(xp: Namespace) -> bool:
    return bool(array_api_compat.is_numpy_namespace(xp))


def device(x: Array) -> Any:
    return array_api_compat.device(x)


def as_array(x: Any, like: Array | None = None) -> Array:
    """``x`` as an array of ``like``'s library and device (NumPy when ``like`` is None).

    Arrays already of that library are returned as they are, without a copy.
    """
    if like is None:
        if array_api_compat.is_array_api_obj(x):
            return x
        return np.asarray(x)
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

    * ``"auto"`` (default): check arrays in host memory; skip arrays on an
      accelerator (a check there would stall for a device-to-host copy on
      every call) and arrays whose values cannot be read (``jax.jit`` tracers,
      ``torch.compile`` graphs, Dask).
    * ``"always"`` (or True): also check accelerator arrays.
    * ``"never"`` (or False): check no values.

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


def on_host(x: Array) -> bool:
    """Whether ``x`` lives in host memory (reading it needs no device transfer)."""
    if array_api_compat.is_numpy_array(x):
        return True
    if array_api_compat.is_cupy_array(x):
        return False
    dev = device(x)
    if array_api_compat.is_torch_array(x):
        return dev.type == "cpu"
    if array_api_compat.is_jax_array(x):
        return getattr(dev, "platform", "cpu") == "cpu"
    return "cpu" in str(dev).lower()


def values_readable(x: Array) -> bool:
    """Whether the values of ``x`` can be read now, without tracing or a lazy graph."""
    if array_api_compat.is_lazy_array(x):
        return False
    if array_api_compat.is_torch_array(x):
        import torch

        return not torch.compiler.is_compiling()
    return True


def should_validate(x: Array) -> bool:
    """Whether value checks run on ``x`` under the current validation mode."""
    mode = _VALIDATION.get()
    if mode == "never" or not values_readable(x):
        return False
    return mode == "always" or on_host(x)


@contextlib.contextmanager
def fp_errors_ignored(xp: Namespace) -> Iterator[None]:
    """Silence NumPy floating-point warnings (see ``SILENCE_FP_WARNINGS``)."""
    if SILENCE_FP_WARNINGS and is_numpy(xp):
        with np.errstate(all="ignore"):
            yield
    else:
        yield
