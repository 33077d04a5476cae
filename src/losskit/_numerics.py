"""Numerically stable identities, written once, for any array-API namespace.

Each helper states the identity it uses and why. On NumPy the element-wise
ones call the SciPy ufunc that already implements them (one pass, tested by
SciPy); the array-API standard has no sigmoid or xlogy, so the generic
versions below serve PyTorch, JAX, CuPy and the rest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import scipy.special

from ._compat import Array, as_array, is_numpy, namespace

__all__ = [
    "LOG_CLAMP",
    "clamped_log",
    "clamped_log1m",
    "clip_grad_norm",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "propagate_nan",
    "shifted_logits",
    "sigmoid",
    "softmax",
    "softplus",
    "xlogy",
]

#: Floor of ``log(p)`` for probability inputs, PyTorch ``BCELoss``'s choice: a
#: confidently wrong prediction costs 100 instead of ``inf``.
LOG_CLAMP = -100.0


def softplus(x: Array, /) -> Array:
    """``log(1 + exp(x))`` for any finite or infinite ``x``.

    ``softplus(x) = max(x, 0) + log1p(exp(-|x|))``: the exponential never
    overflows and ``log1p`` keeps full precision where ``exp(-|x|)`` is tiny.
    """
    xp = namespace(x)
    if is_numpy(xp):
        return xp.logaddexp(0.0, x)  # log(e^0 + e^x), NumPy's stable ufunc
    return xp.clip(x, min=0.0) + xp.log1p(xp.exp(-xp.abs(x)))


def log_sigmoid(x: Array, /) -> Array:
    """``log(sigmoid(x)) = -softplus(-x)``, never ``log`` of an underflowed 0."""
    xp = namespace(x)
    if is_numpy(xp):
        return scipy.special.log_expit(x)
    return -softplus(-x)


def sigmoid(x: Array, /) -> Array:
    """``1 / (1 + exp(-x))`` without overflow.

    With ``e = exp(-|x|)`` in (0, 1]: ``sigmoid(x) = 1/(1+e)`` for ``x >= 0`` and
    ``e/(1+e)`` for ``x < 0``; both branches are finite everywhere.
    """
    xp = namespace(x)
    if is_numpy(xp):
        return scipy.special.expit(x)
    e = xp.exp(-xp.abs(x))
    r = 1.0 / (1.0 + e)
    return xp.where(x >= 0, r, e * r)


def shifted_logits(x: Array, /, axis: int = -1) -> tuple[Array, Array]:
    """``(z, log(sum(exp(z))))`` with ``z = x - max(x)`` along ``axis`` (kept as size 1).

    ``logsumexp(x) - x_c = lse(z) - z_c`` exactly, which keeps full precision
    under a large shared offset (1e8 in float32). Rows whose maximum is not
    finite are not shifted, so an all ``-inf`` row gives ``-inf`` and a ``+inf``
    entry gives ``+inf`` instead of ``inf - inf``.
    """
    xp = namespace(x)
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    z = x - m
    return z, xp.log(xp.sum(xp.exp(z), axis=axis, keepdims=True))


def logsumexp(x: Array, /, axis: int = -1, *, keepdims: bool = False) -> Array:
    """``log(sum(exp(x)))`` along ``axis``, shifted by the maximum (see ``shifted_logits``)."""
    x = as_array(x)
    xp = namespace(x)
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    out = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else xp.squeeze(out, axis=axis)


def log_softmax(x: Array, /, axis: int = -1) -> Array:
    """``x - logsumexp(x)`` computed as ``z - lse(z)`` on the max-shifted ``z``."""
    x = as_array(x)
    z, lse = shifted_logits(x, axis=axis)
    return z - lse


def softmax(x: Array, /, axis: int = -1) -> Array:
    """``exp(x) / sum(exp(x))`` on the max-shifted logits: no overflow, rows sum to 1."""
    x = as_array(x)
    xp = namespace(x)
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    e = xp.exp(x - m)
    return e / xp.sum(e, axis=axis, keepdims=True)


def xlogy(x: Array, y: Array, /) -> Array:
    """``x * log(y)`` with ``0 * log(y) = 0`` for every ``y`` (``0 log 0 = 0``).

    The generic version replaces ``y`` by 1 where ``x == 0`` before the ``log``
    (a "double where"), so neither the value nor an autodiff gradient sees
    ``0 * -inf``.
    """
    xp = namespace(x, y)
    if is_numpy(xp):
        return scipy.special.xlogy(x, y)
    zero = x == 0
    safe_y = xp.where(zero, xp.ones_like(y), y)
    return xp.where(zero, xp.zeros_like(x * safe_y), x * xp.log(safe_y))


def clamped_log(p: Array, /) -> Array:
    """``max(log(p), -100)``: PyTorch ``BCELoss``'s clamp, finite at ``p = 0``."""
    xp = namespace(p)
    return xp.clip(xp.log(p), min=LOG_CLAMP)


def clamped_log1m(p: Array, /) -> Array:
    """``max(log(1 - p), -100)`` via ``log1p(-p)``, exact for tiny ``p``."""
    xp = namespace(p)
    return xp.clip(xp.log1p(-p), min=LOG_CLAMP)


def propagate_nan(z: Array, x: Array, /) -> Array:
    """``x`` where ``z`` is a number and NaN where ``z`` is NaN.

    An indicator such as ``z > 0`` is False at NaN, so a derivative built from
    it would turn a NaN input into a silent 0; this keeps the NaN (SPEC §3).
    """
    xp = namespace(z, x)
    return xp.where(xp.isnan(z), z, x)


def clip_grad_norm(
    grads: Sequence[Array],
    max_norm: float,
    norm_type: float = 2.0,
    *,
    error_if_nonfinite: bool = False,
) -> tuple[list[Array], Array]:
    """Scale gradients so that their joint norm is at most ``max_norm``.

    Follows ``torch.nn.utils.clip_grad_norm_``: the total norm is the
    ``norm_type``-norm of the per-array norms (``inf`` for the largest absolute
    entry); every array is multiplied by ``min(1, max_norm / (total + 1e-6))``.
    Unlike PyTorch the inputs are not modified: new arrays are returned.

    Parameters
    ----------
    grads : sequence of arrays
        The gradients, of one array library.
    max_norm : float
        The largest allowed total norm.
    norm_type : float, default 2.0
        The p of the p-norm, or ``math.inf``.
    error_if_nonfinite : bool, default False
        Raise ``RuntimeError`` when the total norm is NaN or infinite.

    Returns
    -------
    (list of arrays, array)
        The clipped gradients and the total norm before clipping (0-d).
    """
    arrays = [as_array(g) for g in grads]
    if not arrays:
        return [], as_array(0.0)
    xp = namespace(*arrays)
    norm_type = float(norm_type)
    if math.isinf(norm_type):
        norms = [xp.max(xp.abs(g)) if g.size else xp.asarray(0.0) for g in arrays]
        total = xp.max(xp.stack(norms))
    else:
        norms = [xp.sum(xp.abs(g) ** norm_type) ** (1.0 / norm_type) for g in arrays]
        total = xp.sum(xp.stack(norms) ** norm_type) ** (1.0 / norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"the total norm of order {norm_type} of the gradients is non-finite, "
            "so it cannot be clipped"
        )
    coef = xp.clip(max_norm / (total + 1e-6), max=1.0)
    return [g * xp.astype(coef, g.dtype) for g in arrays], total
