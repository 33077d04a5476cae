"""``exp``, ``log``, ``log1p``, sums and maxima that the compiler vectorises (Numba kernels).

A loop that calls the C library's ``exp`` runs one element at a time; these
are written with arithmetic, selects and bit casts only, so LLVM turns a
kernel's loop into SIMD code. Each works in its argument's precision
(float32 or float64), is within one ulp of the correctly rounded result on
its domain and returns what C99 prescribes at ``±0``, ``±inf`` and NaN and
on underflow and overflow (``tests/test_fastpath.py`` checks this against
NumPy and mpmath).

* ``exp``: Cody-Waite reduction ``x = k ln 2 + r``, ``|r| <= ln 2 / 2``, a
  polynomial for ``exp(r) - 1`` (Taylor, degree 13, in float64; Cephes'
  minimax polynomial in float32), then the scale ``2^k`` applied as two
  powers of two so that subnormal results round once.
* ``log``: ``x = 2^k m`` with ``m`` in ``[√2/2, √2)``, ``log m`` from
  ``s = (m - 1) / (m + 1)`` with fdlibm's minimax polynomial in ``s²``
  (``e_log.c`` and ``e_logf.c``), plus ``k ln 2`` split into two parts.
* ``log1p(x) = log(u) - ((u - 1) - x) / u`` with ``u = 1 + x``: the second term
  restores what rounding ``1 + x`` lost.
* :func:`sum_add` and :func:`max_num` let a summing or maximising loop use every
  SIMD lane: LLVM keeps a strict left-to-right order otherwise;
  :func:`min_not_nan` and :func:`max_not_nan` do it for operands known not to
  be NaN.

Within a kernel compiled for float32 every constant is a float32, so no
operation is silently promoted to float64.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

__all__ = ["exp", "log", "log1p", "max_not_nan", "max_num", "min_not_nan", "sum_add"]


def _bitcast_typing(target: Any) -> Any:
    """The typing function of an intrinsic that reinterprets ``x``'s bits as ``target(x)``."""

    def typing(typingctx, x):  # type: ignore[no-untyped-def]
        width = target(x)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            return builder.bitcast(args[0], context.get_value_type(width))

        return width(x), codegen

    return typing


#: The bits of a float as an integer of the same width (float64 -> int64, float32 -> int32).
_as_int: Any = intrinsic(
    _bitcast_typing(lambda x: types.int64 if x == types.float64 else types.int32)
)
#: The float whose bits are the integer ``x`` (int64 -> float64, int32 -> float32).
_as_float: Any = intrinsic(
    _bitcast_typing(lambda x: types.float64 if x == types.int64 else types.float32)
)

# --------------------------------------------------------------------------
# float64
# --------------------------------------------------------------------------

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # fdlibm: ln 2 with 32 trailing zero bits
_LN2_LO = 1.90821492927058770002e-10
_SQRT_HALF = 0.7071067811865476

# exp(r) - 1 = r + r² P(r), P the Taylor coefficients 1/2!, ..., 1/13!
_E2, _E3, _E4, _E5 = 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120
_E6, _E7, _E8, _E9 = 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880
_E10, _E11, _E12, _E13 = 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800

# fdlibm e_log.c: log(1 + f) = f - f²/2 + s (f²/2 + R(s²))
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01


@njit(fastmath={"contract"}, error_model="numpy")
def _exp64(x: float) -> float:
    xc = -746.0 if x < -746.0 else (710.0 if x > 710.0 else x)  # NaN passes
    kf = np.floor((xc if xc == xc else 0.0) * _LOG2E + 0.5)
    r = xc - kf * _LN2_HI - kf * _LN2_LO
    p = _E12 + r * _E13
    p = _E11 + r * p
    p = _E10 + r * p
    p = _E9 + r * p
    p = _E8 + r * p
    p = _E7 + r * p
    p = _E6 + r * p
    p = _E5 + r * p
    p = _E4 + r * p
    p = _E3 + r * p
    p = _E2 + r * p
    k = np.int64(kf)
    k1 = k >> 1
    s1 = _as_float((k1 + 1023) << 52)
    s2 = _as_float((k - k1 + 1023) << 52)
    return (1.0 + (r + r * r * p)) * s1 * s2


@njit(fastmath={"contract"}, error_model="numpy")
def _log64(x: float) -> float:
    tiny = x < 2.2250738585072014e-308  # subnormal (or 0, negative): scale up by 2^54
    xs = x * 18014398509481984.0 if tiny else x
    bits = _as_int(xs)
    k = ((bits >> 52) & 0x7FF) - (1077 if tiny else 1023)
    m = _as_float((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)  # in [1, 2)
    big = m > 1.4142135623730951
    m = m * 0.5 if big else m
    kf = np.float64(k + 1 if big else k)
    f = m - 1.0
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    result = kf * _LN2_HI - ((hfsq - (s * (hfsq + t2 + t1) + kf * _LN2_LO)) - f)
    if x == 0:
        return -math.inf
    if x < 0:
        return math.nan
    if x == math.inf or x != x:
        return x
    return result


# --------------------------------------------------------------------------
# float32
# --------------------------------------------------------------------------

_F = np.float32
_LOG2E_F = _F(1.4426950408889634)
_C1_F = _F(0.693359375)  # Cephes expf: ln 2 = C1 - C2, C1 exact in 9 bits
_C2_F = _F(-2.12194440e-4)
# Cephes expf.c: exp(r) = 1 + r + r² P(r)
_P0_F, _P1_F, _P2_F = _F(1.9875691500e-4), _F(1.3981999507e-3), _F(8.3334519073e-3)
_P3_F, _P4_F, _P5_F = _F(4.1665795894e-2), _F(1.6666665459e-1), _F(5.0000001201e-1)
# FreeBSD e_logf.c
_LG1_F, _LG2_F = _F(0.666666626930236816), _F(0.400009721517562866)
_LG3_F, _LG4_F = _F(0.284987866878509521), _F(0.242790788412094116)
_LN2_HI_F, _LN2_LO_F = _F(6.9313812256e-01), _F(9.0580006145e-06)
_HALF_F, _ONE_F, _TWO_F, _ZERO_F = _F(0.5), _F(1.0), _F(2.0), _F(0.0)
_EXP_LO_F, _EXP_HI_F = _F(-104.0), _F(89.0)
_SQRT2_F = _F(1.4142135)
_TINY_F, _SCALE_F = _F(1.17549435e-38), _F(33554432.0)  # 2^-126, 2^25
_INF_F, _NAN_F = _F(math.inf), _F(math.nan)


@njit(fastmath={"contract"}, error_model="numpy")
def _exp32(x: Any) -> Any:
    xc = _EXP_LO_F if x < _EXP_LO_F else (_EXP_HI_F if x > _EXP_HI_F else x)
    kf = np.floor((xc if xc == xc else _ZERO_F) * _LOG2E_F + _HALF_F)
    r = xc - kf * _C1_F - kf * _C2_F
    p = _P1_F + r * _P0_F
    p = _P2_F + r * p
    p = _P3_F + r * p
    p = _P4_F + r * p
    p = _P5_F + r * p
    # 32-bit integers throughout, so that a float32 loop keeps eight lanes
    k = np.int32(kf)
    k1 = np.int32(k >> 1)
    s1 = _as_float(np.int32((k1 + 127) << 23))
    s2 = _as_float(np.int32((k - k1 + 127) << 23))
    return (_ONE_F + (r + r * r * p)) * s1 * s2


@njit(fastmath={"contract"}, error_model="numpy")
def _log32(x: Any) -> Any:
    tiny = x < _TINY_F
    xs = x * _SCALE_F if tiny else x
    bits = _as_int(xs)
    k = np.int32(((bits >> 23) & 0xFF) - (152 if tiny else 127))
    m = _as_float(np.int32((bits & 0x007FFFFF) | 0x3F800000))
    big = m > _SQRT2_F
    m = m * _HALF_F if big else m
    kf = np.float32(np.int32(k + 1) if big else k)
    f = m - _ONE_F
    hfsq = _HALF_F * f * f
    s = f / (_TWO_F + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2_F + w * _LG4_F)
    t2 = z * (_LG1_F + w * _LG3_F)
    result = kf * _LN2_HI_F - ((hfsq - (s * (hfsq + t2 + t1) + kf * _LN2_LO_F)) - f)
    if x == _ZERO_F:
        return -_INF_F
    if x < _ZERO_F:
        return _NAN_F
    if x == _INF_F or x != x:
        return x
    return result


# --------------------------------------------------------------------------
# the type-generic entry points
# --------------------------------------------------------------------------


def exp(x):  # type: ignore[no-untyped-def]  # Numba matches unannotated signatures
    """``e^x`` (kernels only)."""
    return math.exp(x)


def log(x):  # type: ignore[no-untyped-def]
    """Natural logarithm (kernels only)."""
    return math.log(x)


def log1p(x):  # type: ignore[no-untyped-def]
    """``log(1 + x)`` (kernels only)."""
    return math.log1p(x)


@overload(exp, inline="always")
def _exp(x):  # type: ignore[no-untyped-def]
    if x == types.float32:
        return lambda x: _exp32(x)
    return lambda x: _exp64(x)


@overload(log, inline="always")
def _log(x):  # type: ignore[no-untyped-def]
    if x == types.float32:
        return lambda x: _log32(x)
    return lambda x: _log64(x)


@njit(fastmath={"contract"}, error_model="numpy")
def _log1p64(x: float) -> float:
    u = x + 1.0
    log_u = _log64(u)
    if u == 1.0:  # |x| below half an ulp of 1, and x = ±0
        return x
    if not 0.0 < u < math.inf:  # x <= -1, +inf, NaN: log(u) says it
        return log_u
    return log_u - ((u - 1.0) - x) / u


@njit(fastmath={"contract"}, error_model="numpy")
def _log1p32(x: Any) -> Any:
    u = x + _ONE_F
    log_u = _log32(u)
    if u == _ONE_F:
        return x
    if not _ZERO_F < u < _INF_F:
        return log_u
    return log_u - ((u - _ONE_F) - x) / u


@overload(log1p, inline="always")
def _log1p(x):  # type: ignore[no-untyped-def]
    if x == types.float32:
        return lambda x: _log1p32(x)
    return lambda x: _log1p64(x)


# --------------------------------------------------------------------------
# reductions that vectorise
# --------------------------------------------------------------------------


@intrinsic
def sum_add(typingctx, acc, v):  # type: ignore[no-untyped-def]
    """``acc + v`` that the compiler may reassociate: a loop summing with it uses every
    SIMD lane (in a fixed order, so the result is reproducible)."""

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.fadd(args[0], args[1], flags=("reassoc",))

    return acc(acc, v), codegen


def _min_max(which: str, flags: tuple[str, ...] = ()) -> Any:
    """Code for LLVM's ``maxnum``/``minnum``: the other operand where one is NaN."""

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        t = args[0].type
        name = f"llvm.{which}.f64" if t == ir.DoubleType() else f"llvm.{which}.f32"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(t, [t, t]), name)
        return builder.call(fn, args, fastmath=flags)

    return codegen


@intrinsic
def max_num(typingctx, a, b):  # type: ignore[no-untyped-def]
    """``max(a, b)`` ignoring a NaN operand (LLVM's ``maxnum``), so a maximum loop vectorises."""
    return a(a, b), _min_max("maxnum")


# ``nnan nsz``: LLVM vectorises a min/max reduction only when told that no operand
# is NaN (and that the sign of zero does not matter); measured 6x faster on 1e7
# float64 elements. With a NaN operand the result is undefined (poison), so the
# caller must detect NaN by other means and not use the result then.


@intrinsic
def min_not_nan(typingctx, a, b):  # type: ignore[no-untyped-def]
    """``min(a, b)`` of operands that are not NaN (``minnum`` with ``nnan nsz``)."""
    return a(a, b), _min_max("minnum", ("nnan", "nsz"))


@intrinsic
def max_not_nan(typingctx, a, b):  # type: ignore[no-untyped-def]
    """``max(a, b)`` of operands that are not NaN (``maxnum`` with ``nnan nsz``)."""
    return a(a, b), _min_max("maxnum", ("nnan", "nsz"))
