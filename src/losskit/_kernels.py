"""Fused one-pass loss kernels, compiled by Numba (imported lazily by ``_fastpath``).

Every kernel reads its inputs once and writes the value (or a partial sum of
it), the scaled derivative and the scaled Hessian diagonal in the same pass.
The per-element mathematics is the array-API reference's (the loss family
modules) for one element at a time:

* each element-wise loss is a *point function*
  ``point(y, x, prm) -> (value, grad, hess)`` with the loss's parameters in
  ``prm`` (a tuple of scalars of the compute dtype, so that they stay in
  registers). Constants are typed like the data
  (:func:`lit`), so float32 is computed in float32 and rounds as NumPy does
  with a Python scalar; ``exp``/``log``/``log1p`` come from ``_vecmath`` so
  that the loops vectorise.
* :func:`elementwise` and :func:`cross_entropy_rows` are the drivers: they apply
  the sample weights and the reduction's scale, and sum each block of values
  into ``partials[block]`` (float64, summed by the caller), so the result
  does not depend on how the blocks are split between threads. Weights come
  as ``wv`` and ``rep``: sample ``i`` weighs ``wv[i // rep]`` (a scalar or
  per-row weight is not expanded), and its derivatives are scaled by
  ``w / den`` (``den``: 1, or the weight total for "mean").
* an output that is not wanted is passed as None and its code is compiled
  away (Numba prunes ``is None`` branches on arguments).

The functions called from Python end in ``_kernel`` and are cached on disk
(``cache=True``). They are written out one per loss because Numba cannot
cache a closure or a function that takes another function as an argument.
Numba keys its cache on this file's time stamp only: after editing
``_vecmath.py`` alone, touch this file (or delete ``__pycache__/_kernels*.nb*``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, types
from numba.extending import overload

from ._vecmath import exp, log, log1p, max_not_nan, max_num, min_not_nan, sum_add

__all__ = ["BLOCK"]

#: Elements per partial sum, and the unit of work handed to a thread.
BLOCK = 2048

# error_model="numpy": a division by zero gives inf/NaN like NumPy instead of
# raising, which also keeps loops free of checks so that they vectorise.
inline = njit(inline="always", error_model="numpy")
kernel = njit(nogil=True, cache=True, error_model="numpy")


# --------------------------------------------------------------------------
# scalar helpers
# --------------------------------------------------------------------------


def lit(value, like):  # type: ignore[no-untyped-def]  # Numba matches unannotated signatures
    """``value`` in the floating type of ``like`` (inside kernels)."""
    return value


@overload(lit, inline="always")
def _lit(value, like):  # type: ignore[no-untyped-def]
    if like == types.float32:
        return lambda value, like: np.float32(value)
    return lambda value, like: np.float64(value)


# NaN-propagating clips, as NumPy's ``clip``: a NaN input comes out NaN.


@inline
def clip_min(v: Any, lo: Any) -> Any:
    return lo if v < lo else v


@inline
def clip_max(v: Any, hi: Any) -> Any:
    return hi if v > hi else v


@inline
def sign(v: Any) -> Any:
    """``np.sign``: -1, 0 or 1 (NaN stays NaN)."""
    if v > 0:
        return lit(1.0, v)
    if v < 0:
        return lit(-1.0, v)
    return v


@inline
def indicator(cond: bool, like: Any) -> Any:
    return lit(1.0, like) if cond else lit(0.0, like)


@inline
def nan_or(z: Any, v: Any) -> Any:
    """``v``, or NaN where ``z`` is NaN (``_numerics.propagate_nan``)."""
    return z if z != z else v


@inline
def mul0(c: Any, v: Any) -> Any:
    """``c * v`` with ``0 * v = 0`` even for infinite ``v``."""
    return lit(0.0, v) if c == 0 else c * v


@inline
def clamped_log(p: Any) -> Any:
    """``max(log(p), -100)`` (PyTorch ``BCELoss``'s clamp)."""
    return clip_min(log(p), lit(-100.0, p))


@inline
def clamped_log1m(p: Any) -> Any:
    """``max(log(1 - p), -100)`` via ``log1p(-p)``."""
    return clip_min(log1p(-p), lit(-100.0, p))


@inline
def softplus_pair(x: Any) -> tuple[Any, Any, Any]:
    """``(softplus(x), softplus(-x), e)`` with ``e = exp(-|x|)``.

    ``softplus(x) = max(x, 0) + log1p(exp(-|x|))``, NumPy's ``logaddexp(0, x)``:
    one exponential and one ``log1p`` serve both signs.
    """
    e = exp(-abs(x))
    tail = log1p(e)
    zero = lit(0.0, x)
    return (x if x > 0 else zero) + tail, (-x if x < 0 else zero) + tail, e


@inline
def sigmoid_pair(x: Any, e: Any) -> tuple[Any, Any, Any]:
    """``(σ(x), σ(-x), σ(x) σ(-x))`` from ``e = exp(-|x|)`` with one division.

    ``1/(1 + e)`` and ``e/(1 + e)`` are the two sigmoids (which is which
    depends on the sign of ``x``), and ``e/(1 + e)²`` is their product.
    """
    inv = lit(1.0, x) / (lit(1.0, x) + e)
    small = e * inv
    if x >= 0:
        return inv, small, small * inv
    return small, inv, small * inv


# --------------------------------------------------------------------------
# point functions: one element's (value, derivative, Hessian)
# --------------------------------------------------------------------------


@inline
def mse_point(y: Any, x: Any, prm: Any) -> tuple[Any, Any, Any]:
    """``r², 2r, 2`` with ``r = x - y`` (``MeanSquaredError``)."""
    r = x - y
    two = lit(2.0, r)
    return r * r, two * r, two


@inline
def mae_point(y: Any, x: Any, prm: Any) -> tuple[Any, Any, Any]:
    """``|r|, sign(r), 0`` (``MeanAbsoluteError``; smooth L1 with beta 0)."""
    r = x - y
    return abs(r), sign(r), lit(0.0, r)


@inline
def huber_point(y: Any, x: Any, prm: Any) -> tuple[Any, Any, Any]:
    """``½a² + δ(|r| - a)``, ``clip(r, -δ, δ)``, ``[|r| < δ]`` with ``a = min(|r|, δ)``.

    ``prm = [δ]``.
    """
    d = prm[0]
    r = x - y
    ar = abs(r)
    a = clip_max(ar, d)
    value = lit(0.5, r) * a * a + d * (ar - a)
    return value, clip_max(clip_min(r, -d), d), indicator(ar < d, r)


@inline
def smooth_l1_point(y: Any, x: Any, prm: Any) -> tuple[Any, Any, Any]:
    """``Huber_β / β``; ``prm = [β, 0.5 / β]`` with ``β > 0``."""
    b = prm[0]
    r = x - y
    ar = abs(r)
    a = clip_max(ar, b)
    one = lit(1.0, r)
    value = prm[1] * a * a + (ar - a)
    return value, clip_max(clip_min(r / b, -one), one), indicator(ar < b, r) / b


def cosh_sinh_small(a):  # type: ignore[no-untyped-def]
    """``(cosh(a) - 1, sinh(a))`` for ``|a| <= 1`` (kernels only)."""
    return math.cosh(a) - 1.0, math.sinh(a)


@overload(cosh_sinh_small, inline="always")
def _cosh_sinh_small(a):  # type: ignore[no-untyped-def]
    if a == types.float32:
        return lambda a: _cosh_sinh_small32(a)
    return lambda a: _cosh_sinh_small64(a)


@njit(fastmath={"contract"}, error_model="numpy")
def _cosh_sinh_small64(a: float) -> tuple[float, float]:
    # Taylor series: every term positive, so no cancellation; 1/20! < eps/4
    z = a * a
    c = 1.0 / 20922789888000.0 + z * (1.0 / 6402373705728000.0)
    c = 1.0 / 87178291200.0 + z * c
    c = 1.0 / 479001600.0 + z * c
    c = 1.0 / 3628800.0 + z * c
    c = 1.0 / 40320.0 + z * c
    c = 1.0 / 720.0 + z * c
    c = 1.0 / 24.0 + z * c
    c = 0.5 + z * c
    s = 1.0 / 355687428096000.0 + z * (1.0 / 121645100408832000.0)
    s = 1.0 / 1307674368000.0 + z * s
    s = 1.0 / 6227020800.0 + z * s
    s = 1.0 / 39916800.0 + z * s
    s = 1.0 / 362880.0 + z * s
    s = 1.0 / 5040.0 + z * s
    s = 1.0 / 120.0 + z * s
    s = 1.0 / 6.0 + z * s
    return z * c, a + a * z * s


_F = np.float32
_CF = tuple(_F(1.0 / math.factorial(k)) for k in range(14))


@njit(fastmath={"contract"}, error_model="numpy")
def _cosh_sinh_small32(a: Any) -> tuple[Any, Any]:
    z = a * a
    c = _CF[10] + z * _CF[12]
    c = _CF[8] + z * c
    c = _CF[6] + z * c
    c = _CF[4] + z * c
    c = _CF[2] + z * c
    s = _CF[11] + z * _CF[13]
    s = _CF[9] + z * s
    s = _CF[7] + z * s
    s = _CF[5] + z * s
    s = _CF[3] + z * s
    return z * c, a + a * z * s


@inline
def log_cosh_point(y: Any, x: Any, prm: Any) -> tuple[Any, Any, Any]:
    """``log cosh r``, ``tanh r``, ``sech² r`` with one ``exp`` and one ``log1p``.

    For ``|r| >= 1``, with ``e = exp(-2|r|)``: ``|r| + log1p(e) - log 2``,
    ``±(1 - e)/(1 + e)`` and ``4e/(1 + e)²`` (the reference's formulas, finite
    for any ``r``). Below, from the series ``c = cosh r - 1`` and ``sinh r``:
    ``log1p(c)``, ``sinh r / (1 + c)`` and ``1/(1 + c)²``, free of the
    cancellation the first form has near 0.
    """
    r = x - y
    a = abs(r)
    one = lit(1.0, r)
    small = a < 1
    c, sinh = cosh_sinh_small(r)
    e = exp(lit(-2.0, r) * a)
    tail = log1p(c if small else e)
    ope = one + e
    cosh = one + c
    if small:
        return tail, sinh / cosh, one / (cosh * cosh)
    value = a + tail - lit(math.log(2.0), r)
    tanh = (one - e) / ope
    return value, -tanh if r < 0 else tanh, lit(4.0, r) * e / (ope * ope)


@inline
def quantile_point(y: Any, x: Any, prm: Any) -> tuple[Any, Any, Any]:
    """Pinball loss; ``prm = [q, 1 - q]``."""
    q, q1 = prm[0], prm[1]
    d = y - x
    zero = lit(0.0, d)
    value = q * clip_min(d, zero) + q1 * clip_min(-d, zero)
    grad = -q if d > 0 else (q1 if d < 0 else nan_or(d, zero))
    return value, grad, zero


@inline
def stirling(y: Any) -> Any:
    """``y log y - y + ½ log(2π y)`` where ``y > 1``, else 0 (``PoissonLoss(full=True)``)."""
    safe = y if y > 1 else lit(1.0, y)
    term = safe * log(safe) - safe + lit(0.5, y) * log(lit(2.0 * math.pi, y) * safe)
    return term if y > 1 else lit(0.0, y)


@inline
def poisson_log_point(y: Any, x: Any, prm: Any) -> tuple[Any, Any, Any]:
    """``e^x - y x``, ``e^x - y``, ``e^x`` (log-rate input); ``prm = [full]``."""
    rate = exp(x)
    value = rate - (lit(0.0, x) if y == 0 else y * x)
    if prm[0] != 0:
        value = value + stirling(y)
    return value, rate - y, rate


@inline
def poisson_rate_point(y: Any, x: Any, prm: Any) -> tuple[Any, Any, Any]:
    """``λ - y log(λ + ε)``, ``1 - y/(λ + ε)``, ``y/(λ + ε)²``; ``prm = [full, ε]``."""
    s = x + prm[1]
    xlogy = lit(0.0, x) if y == 0 and s == s else y * log(s)  # SciPy's xlogy
    value = x - xlogy
    if prm[0] != 0:
        value = value + stirling(y)
    return value, lit(1.0, x) - y / s, y / (s * s)


@inline
def xent_weights(y: Any, prm: Any) -> tuple[Any, Any]:
    """Term weights ``a = c_a y'``, ``b = c_b (1 - y')`` with ``y' = y s + t`` (label smoothing).

    ``prm = [s, t, c_a, c_b]``: BCE ``[1 - e, e/2, pos_weight, 1]``, focal with
    gamma 0 ``[1, 0, α, 1 - α]``, weighted CE ``[1, 0, w_1, w_0]``.
    """
    ys = y * prm[0] + prm[1]
    return prm[2] * ys, prm[3] * (lit(1.0, y) - ys)


@inline
def xent_logits_point(y: Any, x: Any, prm: Any) -> tuple[Any, Any, Any]:
    """``a softplus(-x) + b softplus(x)``, ``b σ(x) - a σ(-x)``, ``(a + b) σ(x) σ(-x)``."""
    a, b = xent_weights(y, prm)
    sp_pos, sp_neg, e = softplus_pair(x)
    p, q, pq = sigmoid_pair(x, e)
    return mul0(a, sp_neg) + mul0(b, sp_pos), b * p - a * q, (a + b) * pq


@inline
def xent_probs_point(y: Any, p: Any, prm: Any) -> tuple[Any, Any, Any]:
    """``-(a log p + b log(1 - p))`` with clamped logs; PyTorch's floored derivatives."""
    a, b = xent_weights(y, prm)
    value = lit(0.0, p) - (a * clamped_log(p) + b * clamped_log1m(p))
    one_m = lit(1.0, p) - p
    eps = lit(1e-12, p)
    grad = (b * p - a * one_m) / clip_min(p * one_m, eps)
    pe = clip_min(p, eps)
    qe = clip_min(one_m, eps)
    return value, grad, a / (pe * pe) + b / (qe * qe)


@inline
def small_power(q: Any, g: Any) -> Any:
    """``q ** g`` for ``g`` in {0, 1, 2} (NumPy's exact fast paths), vectorisable."""
    return q * q if g == 2 else (q if g == 1 else lit(1.0, q))


@inline
def any_power(q: Any, g: Any) -> Any:
    """``q ** g`` from the C library (one element at a time)."""
    return q**g


@inline
def focal_logits_terms(y: Any, x: Any, prm: Any, power: Any) -> tuple[Any, Any, Any]:
    """Binary focal loss on logits, ``FocalLoss._logit_terms`` for one element.

    ``prm = [γ, has_alpha, α, 1 - α]``.
    """
    g = prm[0]
    one = lit(1.0, x)
    alpha_t = prm[2] * y + prm[3] * (one - y) if prm[1] != 0 else one
    s = one - lit(2.0, x) * y
    sp_pos, sp_neg, e = softplus_pair(x)
    p, sp, pq = sigmoid_pair(x, e)
    q = y * sp + (one - y) * p
    ce = mul0(y, sp_neg) + mul0(one - y, sp_pos)
    f = power(q, g)
    r = pq / q if q > 0 else one
    p_minus_y = (one - y) * p - y * sp
    big_b = g * s * mul0(r, ce) + p_minus_y
    r_prime = r * (sp - p) - s * r * r
    d_b = g * s * (mul0(r_prime, ce) + r * p_minus_y) + pq
    return alpha_t * f * ce, alpha_t * f * big_b, alpha_t * f * (g * s * r * big_b + d_b)


@inline
def focal_probs_terms(y: Any, p: Any, prm: Any, power: Any) -> tuple[Any, Any, Any]:
    """Binary focal loss on probabilities, ``FocalLoss._prob_terms`` for one element.

    ``prm = [γ, has_alpha, α, 1 - α, γ(γ - 1), 2γ, γ - 1]``.
    """
    g = prm[0]
    one = lit(1.0, p)
    alpha_t = prm[2] * y + prm[3] * (one - y) if prm[1] != 0 else one
    s = one - lit(2.0, p) * y
    one_m = one - p
    q = y * one_m + (one - y) * p
    ce = lit(0.0, p) - (y * clamped_log(p) + (one - y) * clamped_log1m(p))
    f = power(q, g)
    c1 = ce / q if q > 0 else one
    eps = lit(1e-12, p)
    ce_1 = (p - y) / clip_min(p * one_m, eps)
    grad = alpha_t * f * (g * s * c1 + ce_1)
    ce_1_lim = ce_1 if q > 0 else s
    pe = clip_min(p, eps)
    qe = clip_min(one_m, eps)
    ce_2 = y / (pe * pe) + (one - y) / (qe * qe)
    inner = prm[4] * s * s * c1 + prm[5] * s * ce_1_lim
    return alpha_t * f * ce, grad, alpha_t * (power(q, prm[6]) * inner + f * ce_2)


@inline
def focal_logits_point(y: Any, x: Any, prm: Any) -> tuple[Any, Any, Any]:
    return focal_logits_terms(y, x, prm, small_power)


@inline
def focal_logits_pow_point(y: Any, x: Any, prm: Any) -> tuple[Any, Any, Any]:
    return focal_logits_terms(y, x, prm, any_power)


@inline
def focal_probs_point(y: Any, x: Any, prm: Any) -> tuple[Any, Any, Any]:
    return focal_probs_terms(y, x, prm, small_power)


@inline
def focal_probs_pow_point(y: Any, x: Any, prm: Any) -> tuple[Any, Any, Any]:
    return focal_probs_terms(y, x, prm, any_power)


@inline
def hinge_point(y: Any, x: Any, prm: Any) -> tuple[Any, Any, Any]:
    """``max(0, m - s x)``, ``-s [z > 0]``, 0 with ``s = -1 if y == 0 else y``; ``prm = [m]``.

    For valid labels (all in {0, 1}, or all in {-1, 1}) ``s`` is the reference's
    signed label; the kernel reports the labels it saw so the caller can check.
    """
    s = -lit(1.0, y) if y == 0 else y
    z = prm[0] - s * x
    zero = lit(0.0, z)
    return clip_min(z, zero), -s if z > 0 else nan_or(z, zero), zero


@inline
def squared_hinge_point(y: Any, x: Any, prm: Any) -> tuple[Any, Any, Any]:
    """``max(0, z)²``, ``-2 s max(0, z)``, ``2 [z > 0]`` with ``z = m - s x``; ``prm = [m]``."""
    s = -lit(1.0, y) if y == 0 else y
    z = prm[0] - s * x
    zp = clip_min(z, lit(0.0, z))
    two = lit(2.0, z)
    return zp * zp, -two * s * zp, two * indicator(z > 0, z)


@inline
def contrastive_point(y: Any, d: Any, prm: Any) -> tuple[Any, Any, Any]:
    """``½(y d² + (1 - y) max(0, m - d)²)`` and its derivatives; ``prm = [m]``."""
    m = prm[0]
    one = lit(1.0, d)
    gap = clip_min(m - d, lit(0.0, d))
    value = lit(0.5, d) * (y * d * d + (one - y) * gap * gap)
    return value, y * d - (one - y) * gap, y + (one - y) * indicator(d < m, d)


# --------------------------------------------------------------------------
# the element-wise driver
# --------------------------------------------------------------------------
# Element indices are unsigned: a signed index that Numba cannot prove
# non-negative gets Python's wrap-around, which turns SIMD loads into gathers.

_BLOCK_U = np.uint64(BLOCK)
_ONE_U = np.uint64(1)
#: Elements summed in the data's precision before the sum moves to float64:
#: float32 loops keep all eight SIMD lanes, and each lane adds only a few terms.
_SUM_RUN = np.uint64(256)


@inline
def _run_const(point, y, x, prm, w, cw, i0, i1, g, h, vals):  # type: ignore[no-untyped-def]
    """Elements ``[i0, i1)`` with one weight ``w`` and derivative scale ``cw``; their sum."""
    total = 0.0
    for s0 in range(i0, i1, _SUM_RUN):
        part = lit(0.0, w)
        for i in range(s0, min(s0 + _SUM_RUN, i1)):
            v, gi, hi = point(y[i], x[i], prm)
            wl = w * v
            part = sum_add(part, wl)
            if vals is not None:
                vals[i] = wl
            if g is not None:
                g[i] = gi * cw
            if h is not None:
                h[i] = hi * cw
        total += np.float64(part)
    return total


@inline
def _run_each(point, y, x, prm, wv, den, i0, i1, g, h, vals):  # type: ignore[no-untyped-def]
    """Elements ``[i0, i1)`` with their own weights, scaled by ``w / den``; their sum."""
    total = 0.0
    for s0 in range(i0, i1, _SUM_RUN):
        part = lit(0.0, den)
        for i in range(s0, min(s0 + _SUM_RUN, i1)):
            v, gi, hi = point(y[i], x[i], prm)
            w = wv[i]
            wl = w * v
            part = sum_add(part, wl)
            if vals is not None:
                vals[i] = wl
            cw = w / den
            if g is not None:
                g[i] = gi * cw
            if h is not None:
                h[i] = hi * cw
        total += np.float64(part)
    return total


@inline
def elementwise_block(point, y, x, prm, wv, rep, den, g, h, vals, i0, i1):  # type: ignore[no-untyped-def]
    """Elements ``[i0, i1)`` of an element-wise loss (see :func:`elementwise`); their sum."""
    if rep == 1:
        return _run_each(point, y, x, prm, wv, den, i0, i1, g, h, vals)
    total = 0.0
    i = i0
    while i < i1:  # runs of elements that share one weight
        row = i // rep
        j = min(i1, (row + _ONE_U) * rep)
        w = wv[row]
        total += _run_const(point, y, x, prm, w, w / den, i, j, g, h, vals)
        i = j
    return total


@inline
def element_blocks(point, flags_of, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    """Blocks ``[b0, b1)`` of ``BLOCK`` elements of an element-wise loss; the OR of
    ``flags_of(y, i0, i1)`` over the blocks.

    ``y``, ``x`` and the outputs ``g``, ``h``, ``vals`` are flat. Element ``i``
    weighs ``w = wv[i // rep]`` and its derivatives are scaled by ``w / den``.
    ``vals`` receives the weighted values, ``partials[b]`` their sum over
    block ``b``.
    """
    n = np.uint64(x.size)
    rep_u = np.uint64(rep)
    flags = 0
    for b in range(b0, b1):
        i0 = np.uint64(b) * _BLOCK_U
        i1 = min(i0 + _BLOCK_U, n)
        partials[b] = elementwise_block(point, y, x, prm, wv, rep_u, den, g, h, vals, i0, i1)
        flags |= flags_of(y, i0, i1)
    return flags


@inline
def no_flags(y: Any, i0: Any, i1: Any) -> int:
    """No flags (compiled away)."""
    return 0


@inline
def label_flags(y: Any, i0: Any, i1: Any) -> int:
    """Which hinge labels ``y[i0:i1]`` holds: bit 1 a 0, bit 2 a -1, bit 4 a value
    other than -1, 0, 1 and NaN (NaN labels are allowed and propagate)."""
    zeros = False
    minus = False
    other = False
    for i in range(i0, i1):
        v = y[i]
        zeros |= v == 0
        minus |= v == -1
        other |= not (v == 0 or v == 1 or v == -1 or v != v)
    return int(zeros) | 2 * int(minus) | 4 * int(other)


@inline
def elementwise(point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    """:func:`element_blocks` without flags: the driver of every element-wise kernel."""
    element_blocks(point, no_flags, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@inline
def hinge_elementwise(point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    """:func:`element_blocks` that also returns the :func:`label_flags` of its blocks."""
    return element_blocks(point, label_flags, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


# --------------------------------------------------------------------------
# the softmax cross-entropy driver (rows: the class axis last)
# --------------------------------------------------------------------------


@inline
def target_coefs(t, r, prm, cw, ignore, a):  # type: ignore[no-untyped-def]
    """Row ``r``'s ``a_k = (t_k s + e/C) w_k`` for probability targets, into ``a``; -1.

    ``prm = [s, e/C]``.
    """
    for k in range(a.size):
        v = t[r, k] * prm[0] + prm[1]
        a[k] = v if cw is None else v * cw[k]
    return -1


@inline
def label_coefs(t, r, prm, cw, ignore, a):  # type: ignore[no-untyped-def]
    """Row ``r``'s coefficients for integer labels, as ``SparseCategoricalCrossEntropy``.

    ``a_k = (1 - e) w_y [k = y] + (e/C) w_k``, all 0 for a row labelled
    ``ignore``; ``prm = [1 - e, e/C, has_ignore, plain]``. With ``plain`` (no
    smoothing, class weights or ``ignore``) the coefficients are one-hot: the
    label is returned and ``a`` is left alone; otherwise ``a`` is filled and
    -1 returned.
    """
    label = t[r]
    if prm[3] != 0 and 0 <= label < a.size:
        return label
    zero = lit(0.0, prm[0])
    if prm[2] != 0 and label == ignore:
        a[:] = zero
        return -1
    for k in range(a.size):
        a[k] = zero if prm[1] == 0 else (prm[1] if cw is None else prm[1] * cw[k])
    if 0 <= label < a.size:
        a[label] += prm[0] if cw is None else prm[0] * cw[label]
    return -1


@inline
def softmax_block(coefs, t, x, prm, cw, ignore, wv, rep, den, g, h, vals, r0, r1, scratch):  # type: ignore[no-untyped-def]
    """Rows ``[r0, r1)`` of softmax cross-entropy ``sum_k a_k (lse - z_k)``; their weighted sum.

    As ``_classification.row_xent`` from logits: ``z = x - max(x)`` (not shifted
    when the maximum is not finite), ``lse = log(sum(exp(z)))``, a term with
    ``a_k = 0`` adds 0 even at ``z_k = -inf``; derivative ``A p - a`` and
    Hessian ``A p (1 - p)`` with ``A = sum_k a_k``, ``p = exp(z) / sum(exp(z))``.

    The exponentials and logarithms run over the whole block (each row's
    maximum repeated beside its entries), so they vectorise however few the
    classes; ``exp(z)`` waits in ``g`` until the derivative replaces it.
    """
    mrep, ebuf, sums, lse, a = scratch
    n = x.shape[1]
    rows = r1 - r0
    count = rows * n
    flat = x.reshape(-1)[r0 * n : r1 * n]
    e = g.reshape(-1)[r0 * n : r1 * n] if g is not None else ebuf[:count]
    for r in range(rows):
        m = x[r0 + r, 0]
        for k in range(n):
            m = max_num(m, x[r0 + r, k])  # a NaN makes the row NaN below, as in the reference
        if not math.isfinite(m):
            m = lit(0.0, m)
        for k in range(n):
            mrep[r * n + k] = m
    for j in range(count):
        e[j] = exp(flat[j] - mrep[j])
    for r in range(rows):
        total = 0.0
        for k in range(n):
            total = sum_add(total, np.float64(e[r * n + k]))
        sums[r] = lit(total, flat[0])
    for r in range(rows):
        lse[r] = log(sums[r])
    one = lit(1.0, flat[0])
    block = 0.0
    for r in range(rows):
        hot = coefs(t, r0 + r, prm, cw, ignore, a)
        base = r * n
        w = wv[(r0 + r) // rep]
        if hot >= 0:  # one-hot coefficients: the same numbers, fewer operations
            value = np.float64(lse[r] - (flat[base + hot] - mrep[base]))
            if g is not None:
                scale = w / den
                inv = one / sums[r]
                p_hot = e[base + hot] * inv
                for k in range(n):
                    p = e[base + k] * inv
                    e[base + k] = p * scale
                    if h is not None:
                        h[r0 + r, k] = p * (one - p) * scale
                e[base + hot] = (p_hot - one) * scale
        else:
            value = 0.0
            big_a = 0.0
            for k in range(n):
                term = mul0(a[k], lse[r] - (flat[base + k] - mrep[base]))
                value = sum_add(value, np.float64(term))
                big_a = sum_add(big_a, np.float64(a[k]))
            if g is not None:
                scale = w / den
                aa = lit(big_a, one)
                inv = one / sums[r]
                for k in range(n):
                    p = e[base + k] * inv
                    e[base + k] = (aa * p - a[k]) * scale
                    if h is not None:
                        h[r0 + r, k] = aa * p * (one - p) * scale
        wl = w * lit(value, one)
        if vals is not None:
            vals[r0 + r] = wl
        block += np.float64(wl)
    return block


@inline
def probability_block(coefs, t, x, prm, cw, ignore, wv, rep, den, g, h, vals, r0, r1, scratch):  # type: ignore[no-untyped-def]
    """Rows ``[r0, r1)`` of ``-sum_k a_k max(log p_k, -100)`` for probabilities; their weighted sum.

    As ``_classification.row_xent`` from probabilities: derivative
    ``-a / max(p, 1e-12)`` and Hessian ``a / max(p, 1e-12)²``. The logarithms
    run over the whole block.
    """
    logs, _, _, _, a = scratch
    n = x.shape[1]
    rows = r1 - r0
    flat = x.reshape(-1)[r0 * n : r1 * n]
    for j in range(rows * n):
        logs[j] = clamped_log(flat[j])
    eps = lit(1e-12, flat[0])
    block = 0.0
    for r in range(rows):
        hot = coefs(t, r0 + r, prm, cw, ignore, a)
        if hot >= 0:  # one-hot coefficients, not written by ``coefs``
            a[:] = lit(0.0, eps)
            a[hot] = lit(1.0, eps)
        value = 0.0
        for k in range(n):
            value = sum_add(value, np.float64(a[k] * logs[r * n + k]))
        w = wv[(r0 + r) // rep]
        if g is not None:
            scale = w / den
            for k in range(n):
                pe = clip_min(x[r0 + r, k], eps)
                g[r0 + r, k] = -a[k] / pe * scale
                if h is not None:
                    h[r0 + r, k] = a[k] / (pe * pe) * scale
        wl = w * (lit(0.0, eps) - lit(value, eps))
        if vals is not None:
            vals[r0 + r] = wl
        block += np.float64(wl)
    return block


@inline
def cross_entropy_rows(
    block, coefs, t, x, prm, cw, ignore, wv, rep, den, g, h, vals, partials, b0, b1, rb
):  # type: ignore[no-untyped-def]
    """Blocks ``[b0, b1)`` of ``rb`` rows each of a cross-entropy over the last axis.

    ``block`` is :func:`softmax_block` (logits) or :func:`probability_block`;
    ``coefs`` fills a row's target weights. ``x``, ``g``, ``h`` have shape
    (rows, classes), C-contiguous; ``t`` holds the targets (rows, classes) or
    labels (rows,). Weights and scales as :func:`elementwise`, per row.
    """
    n_rows, n = x.shape
    scratch = (
        np.empty(rb * n, dtype=x.dtype),
        np.empty(rb * n, dtype=x.dtype),
        np.empty(rb, dtype=x.dtype),
        np.empty(rb, dtype=x.dtype),
        np.empty(n, dtype=x.dtype),
    )
    for b in range(b0, b1):
        r0 = b * rb
        partials[b] = block(
            coefs,
            t,
            x,
            prm,
            cw,
            ignore,
            wv,
            rep,
            den,
            g,
            h,
            vals,
            r0,
            min(r0 + rb, n_rows),
            scratch,
        )


@njit(nogil=True, cache=True, error_model="numpy")
def label_shares_kernel(labels, n_classes, cw, ignore, has_ignore, wv, rep, shares):  # type: ignore[no-untyped-def]
    """``shares[r] = w_r norm_r``: each row's part of the denominator of "mean" for labels.

    ``norm_r`` is the class weight of the row's label (0 for a label outside
    the classes), 1 without class weights, and 0 for a row labelled ``ignore``
    (``SparseCategoricalCrossEntropy``'s ``norm``). The caller sums them as the
    reference does.
    """
    one = lit(1.0, wv[0])
    zero = lit(0.0, one)
    for r in range(labels.size):
        label = labels[r]
        norm = one
        if has_ignore and label == ignore:
            norm = zero
        elif cw is not None:
            norm = cw[label] if 0 <= label < n_classes else zero
        shares[r] = wv[r // rep] * norm


# --------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------


@kernel
def bounds_kernel(x, lows, highs, b0, b1):  # type: ignore[no-untyped-def]
    """Blocks ``[b0, b1)`` of the flat ``x``: the minimum and maximum of each in
    ``lows[b]``, ``highs[b]``; both NaN for a block holding a NaN or an infinity.

    ``sum (v - v)`` is NaN exactly when some ``v`` is NaN or infinite; only then
    can ``min_not_nan``/``max_not_nan`` have seen a NaN, and their result is
    not used.
    """
    n = np.uint64(x.size)
    for b in range(b0, b1):
        i0 = np.uint64(b) * _BLOCK_U
        i1 = min(i0 + _BLOCK_U, n)
        nonfinite = x[i0] - x[i0]
        lo, hi = x[i0], x[i0]
        for i in range(i0, i1):
            v = x[i]
            nonfinite = sum_add(nonfinite, v - v)
            lo = min_not_nan(lo, v)
            hi = max_not_nan(hi, v)
        clean = nonfinite == nonfinite
        lows[b] = lo if clean else math.nan
        highs[b] = hi if clean else math.nan


# --------------------------------------------------------------------------
# cached entry points, one per loss (see the module docstring)
# --------------------------------------------------------------------------
# element-wise: (y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1), as ``elementwise``


@kernel
def mse_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    elementwise(mse_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@kernel
def mae_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    elementwise(mae_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@kernel
def huber_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    elementwise(huber_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@kernel
def smooth_l1_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    elementwise(smooth_l1_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@kernel
def log_cosh_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    elementwise(log_cosh_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@kernel
def quantile_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    elementwise(quantile_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@kernel
def poisson_log_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    elementwise(poisson_log_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@kernel
def poisson_rate_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    elementwise(poisson_rate_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@kernel
def xent_logits_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    elementwise(xent_logits_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@kernel
def xent_probs_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    elementwise(xent_probs_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@kernel
def focal_logits_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    elementwise(focal_logits_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@kernel
def focal_logits_pow_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    elementwise(focal_logits_pow_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@kernel
def focal_probs_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    elementwise(focal_probs_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@kernel
def focal_probs_pow_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    elementwise(focal_probs_pow_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@kernel
def contrastive_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    elementwise(contrastive_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@kernel
def hinge_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    return hinge_elementwise(hinge_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1)


@kernel
def squared_hinge_kernel(y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1):  # type: ignore[no-untyped-def]
    return hinge_elementwise(
        squared_hinge_point, y, x, prm, wv, rep, den, g, h, vals, partials, b0, b1
    )


# rows: (t, x, prm, cw, ignore, wv, rep, den, g, h, vals, partials, b0, b1, rb),
# as ``cross_entropy_rows``


@kernel
def target_xent_kernel(t, x, prm, cw, ignore, wv, rep, den, g, h, vals, partials, b0, b1, rb):  # type: ignore[no-untyped-def]
    cross_entropy_rows(
        softmax_block,
        target_coefs,
        t,
        x,
        prm,
        cw,
        ignore,
        wv,
        rep,
        den,
        g,
        h,
        vals,
        partials,
        b0,
        b1,
        rb,
    )


@kernel
def label_xent_kernel(t, x, prm, cw, ignore, wv, rep, den, g, h, vals, partials, b0, b1, rb):  # type: ignore[no-untyped-def]
    cross_entropy_rows(
        softmax_block,
        label_coefs,
        t,
        x,
        prm,
        cw,
        ignore,
        wv,
        rep,
        den,
        g,
        h,
        vals,
        partials,
        b0,
        b1,
        rb,
    )


@kernel
def target_xent_probs_kernel(t, x, prm, cw, ignore, wv, rep, den, g, h, vals, partials, b0, b1, rb):  # type: ignore[no-untyped-def]
    cross_entropy_rows(
        probability_block,
        target_coefs,
        t,
        x,
        prm,
        cw,
        ignore,
        wv,
        rep,
        den,
        g,
        h,
        vals,
        partials,
        b0,
        b1,
        rb,
    )


@kernel
def label_xent_probs_kernel(t, x, prm, cw, ignore, wv, rep, den, g, h, vals, partials, b0, b1, rb):  # type: ignore[no-untyped-def]
    cross_entropy_rows(
        probability_block,
        label_coefs,
        t,
        x,
        prm,
        cw,
        ignore,
        wv,
        rep,
        den,
        g,
        h,
        vals,
        partials,
        b0,
        b1,
        rb,
    )
