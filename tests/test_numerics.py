"""``losskit.numerics`` (SPEC §7) against scipy.special, mpmath and PyTorch.

Each function runs on NumPy (which calls SciPy's ufuncs where they exist) and on the
generic array-API path (array-api-strict and PyTorch), so both implementations meet
the same references. The mpmath oracle works at 100 bits; the tolerances are those of
scikit-learn's ``test_log1pexp``: 1e-12 relative in float64, 1e-5 in float32.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np
import pytest
import scipy.special as sc

from losskit import numerics

torch = pytest.importorskip("torch")
xp_strict = pytest.importorskip("array_api_strict")

BACKENDS = ["numpy", "array_api_strict", "torch"]
RTOL = {np.float64: 1e-12, np.float32: 1e-5}


def to_backend(x: np.ndarray, backend: str) -> Any:
    if backend == "numpy":
        return x
    if backend == "torch":
        return torch.from_numpy(np.ascontiguousarray(x))
    return xp_strict.asarray(x)


def to_numpy(x: Any) -> np.ndarray:
    return x.numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def call(fn: Callable[..., Any], backend: str, *arrays: np.ndarray, **kw: Any) -> np.ndarray:
    out = fn(*(to_backend(a, backend) for a in arrays), **kw)
    result = to_numpy(out)
    assert result.dtype == arrays[0].dtype, "the input dtype is kept"
    return result


# --------------------------------------------------------------------------
# element-wise: softplus, log_sigmoid, sigmoid, xlogy
# --------------------------------------------------------------------------

# scikit-learn's switch points of log1pexp (f64 [-37, -2, 18, 33.3], f32 [-17, -1, 9, 14.6])
# on both sides, the overflow thresholds of exp, and the extremes.
SWITCHES = [-37.0, -2.0, 18.0, 33.3, -17.0, -1.0, 9.0, 14.6, 88.7, 709.78]
POINTS = sorted(
    {s + d for s in SWITCHES for d in (-1e-3, 0.0, 1e-3)}
    | {-s for s in SWITCHES}
    | {0.0, 1e-10, -1e-10, 0.5, -0.5, 50.0, -50.0, 1e3, -1e3, 1e4, -1e4, 3e38, -3e38}
)

ORACLES: dict[str, Callable[[Any], Any]] = {
    "softplus": lambda x: mpmath.log1p(mpmath.exp(x)),
    "log_sigmoid": lambda x: -mpmath.log1p(mpmath.exp(-x)),
    "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
}
SCIPY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "softplus": lambda x: np.logaddexp(0.0, x),
    "log_sigmoid": sc.log_expit,
    "sigmoid": sc.expit,
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(ORACLES))
def test_elementwise_against_mpmath(name: str, dtype: Any, backend: str) -> None:
    x = np.array(POINTS, dtype=dtype)
    x = x[np.isfinite(x)]
    got = call(getattr(numerics, name), backend, x)
    with mpmath.mp.workprec(100):
        want = np.array([float(ORACLES[name](mpmath.mpf(float(v)))) for v in x])
    finite = np.isfinite(want.astype(dtype))
    tiny = float(np.finfo(dtype).tiny)  # below the normal range only absolute accuracy is left
    np.testing.assert_allclose(got[finite], want[finite], rtol=RTOL[dtype], atol=tiny)
    assert np.all(np.isinf(got[~finite]))  # softplus(3e38) overflows nothing but float32's range


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(SCIPY))
def test_elementwise_against_scipy(name: str, backend: str, rng: np.random.Generator) -> None:
    x = np.concatenate([rng.normal(size=50) * 30, [-np.inf, np.inf, 0.0, -0.0]])
    np.testing.assert_allclose(
        call(getattr(numerics, name), backend, x), SCIPY[name](x), rtol=4e-16
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_infinite_inputs_give_limits(backend: str) -> None:
    x = np.array([-np.inf, np.inf])
    np.testing.assert_array_equal(call(numerics.softplus, backend, x), [0.0, np.inf])
    np.testing.assert_array_equal(call(numerics.log_sigmoid, backend, x), [-np.inf, 0.0])
    np.testing.assert_array_equal(call(numerics.sigmoid, backend, x), [0.0, 1.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_xlogy(backend: str, rng: np.random.Generator) -> None:
    """``x log y`` with ``0 log y = 0`` for every y, 0 and inf included (scipy's xlogy)."""
    x = np.array([0.0, 0.0, 0.0, 1.0, 2.5, 0.3, 1.0])
    y = np.array([0.0, np.inf, 3.0, 0.0, 4.0, 1e-300, np.inf])
    with np.errstate(divide="ignore"):  # 1 log 0 = -inf: NumPy warns, as np.log(0) does
        got = call(numerics.xlogy, backend, x, y)
    np.testing.assert_allclose(got, sc.xlogy(x, y), rtol=4e-16)
    np.testing.assert_array_equal(got[:3], 0.0)
    a, b = rng.uniform(size=20), rng.uniform(size=20)
    np.testing.assert_allclose(call(numerics.xlogy, backend, a, b), sc.xlogy(a, b), rtol=4e-16)


# --------------------------------------------------------------------------
# along an axis: logsumexp, softmax, log_softmax
# --------------------------------------------------------------------------

ROWS = np.array(
    [
        [1e4, 0.0, 7e-7],
        [-1e4, -1e4, -1e4],
        [1e8, 1e8, 1e8 - 1.0],
        [0.5, -0.5, 2.0],
        [700.0, 710.0, -710.0],
        [-np.inf, 0.0, 1.0],
    ]
)


def mp_logsumexp(row: np.ndarray) -> Any:
    return mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(float(v))) for v in row))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_row_functions_against_mpmath(dtype: Any, backend: str) -> None:
    x = ROWS.astype(dtype)
    lse = call(numerics.logsumexp, backend, x)
    log_sm = call(numerics.log_softmax, backend, x)
    sm = call(numerics.softmax, backend, x)
    with mpmath.mp.workprec(100):
        for i, row in enumerate(x.astype(np.float64)):
            m = mp_logsumexp(row)
            np.testing.assert_allclose(lse[i], float(m), rtol=RTOL[dtype])
            finite = np.isfinite(row)
            want_log = np.array([float(mpmath.mpf(float(v)) - m) for v in row[finite]])
            want = np.array([float(mpmath.exp(mpmath.mpf(float(v)) - m)) for v in row[finite]])
            # log p is relative to |x|: the offset cancels, its rounding (eps·|x|) does not
            scale = float(np.max(np.abs(row[finite])))
            eps = float(np.finfo(dtype).eps)
            atol = 4 * eps * scale
            np.testing.assert_allclose(log_sm[i, finite], want_log, rtol=RTOL[dtype], atol=atol)
            np.testing.assert_allclose(sm[i, finite], want, rtol=RTOL[dtype], atol=4 * eps * scale)
            np.testing.assert_array_equal(sm[i, ~finite], 0.0)
            np.testing.assert_array_equal(log_sm[i, ~finite], -np.inf)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_row_functions_against_scipy(axis: int, backend: str, rng: np.random.Generator) -> None:
    x = rng.normal(size=(4, 5)) * 10
    np.testing.assert_allclose(
        call(numerics.logsumexp, backend, x, axis=axis), sc.logsumexp(x, axis=axis), rtol=1e-15
    )
    np.testing.assert_allclose(
        call(numerics.softmax, backend, x, axis=axis), sc.softmax(x, axis=axis), rtol=1e-14
    )
    np.testing.assert_allclose(
        call(numerics.log_softmax, backend, x, axis=axis),
        sc.log_softmax(x, axis=axis),
        rtol=1e-14,
        atol=1e-14,
    )
    keep = call(numerics.logsumexp, backend, x, axis=axis, keepdims=True)
    np.testing.assert_allclose(keep, sc.logsumexp(x, axis=axis, keepdims=True), rtol=1e-15)


def test_row_functions_at_infinities() -> None:
    """An all -inf row: logsumexp -inf, no NaN in logsumexp; a +inf entry: logsumexp +inf."""
    x = np.array([[-np.inf, -np.inf], [np.inf, 0.0]])
    with np.errstate(divide="ignore"):  # log(0) for the -inf row, as in scipy's logsumexp
        np.testing.assert_array_equal(numerics.logsumexp(x), [-np.inf, np.inf])


def test_softmax_rows_sum_to_one(rng: np.random.Generator) -> None:
    x = rng.normal(size=(50, 7)) * 100
    np.testing.assert_allclose(numerics.softmax(x).sum(-1), 1.0, rtol=8 * np.finfo(float).eps)


def test_seed_helpers_map_to_numerics(rng: np.random.Generator) -> None:
    """The seed's ``log_sum_exp`` and ``stable_softmax`` (README mapping) give the same numbers."""
    x = rng.normal(size=(3, 4)) * 5

    def log_sum_exp(x: np.ndarray) -> np.ndarray:  # the seed's code
        x_max = np.max(x, axis=-1, keepdims=True)
        return x_max + np.log(np.sum(np.exp(x - x_max), axis=-1, keepdims=True))

    def stable_softmax(x: np.ndarray) -> np.ndarray:  # the seed's code
        x_shifted = x - np.max(x, axis=-1, keepdims=True)
        exp_x = np.exp(x_shifted)
        return exp_x / np.sum(exp_x, axis=-1, keepdims=True)

    np.testing.assert_allclose(numerics.logsumexp(x, keepdims=True), log_sum_exp(x), rtol=1e-15)
    np.testing.assert_allclose(numerics.softmax(x), stable_softmax(x), rtol=1e-15)


# --------------------------------------------------------------------------
# clip_grad_norm against torch.nn.utils.clip_grad_norm_
# --------------------------------------------------------------------------


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e6])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
@pytest.mark.parametrize("backend", BACKENDS)
def test_clip_grad_norm_matches_torch(
    norm_type: float, max_norm: float, backend: str, rng: np.random.Generator
) -> None:
    grads = [rng.normal(size=(3, 4)), rng.normal(size=5) * 4, rng.normal(size=(2, 2, 2))]
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.from_numpy(g.copy())
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    inputs = [to_backend(g.copy(), backend) for g in grads]
    clipped, ours = numerics.clip_grad_norm(inputs, max_norm, norm_type)
    np.testing.assert_allclose(to_numpy(ours), total.numpy(), rtol=1e-14)
    for c, p, g, original in zip(clipped, params, grads, inputs, strict=True):
        np.testing.assert_allclose(to_numpy(c), p.grad.numpy(), rtol=1e-14)
        np.testing.assert_array_equal(to_numpy(original), g)  # inputs are not modified
    if max_norm == 1e6:
        for c, g in zip(clipped, grads, strict=True):
            np.testing.assert_array_equal(to_numpy(c), g)


def test_clip_grad_norm_error_if_nonfinite() -> None:
    grads = [np.array([1.0, np.inf]), np.array([2.0])]
    with pytest.raises(RuntimeError, match="non-finite"):
        numerics.clip_grad_norm(grads, 1.0, error_if_nonfinite=True)
    params = [torch.zeros(2, dtype=torch.float64, requires_grad=True)]
    params[0].grad = torch.tensor([1.0, float("nan")], dtype=torch.float64)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        numerics.clip_grad_norm([np.array([1.0, np.nan])], 1.0, error_if_nonfinite=True)
    with np.errstate(invalid="ignore"):  # inf · 0 = NaN, as in PyTorch
        _, total = numerics.clip_grad_norm(grads, 1.0)  # no error asked: inf norm returned
    assert np.isinf(total)


def test_clip_grad_norm_edge_cases() -> None:
    clipped, total = numerics.clip_grad_norm([], 1.0)
    assert clipped == []
    assert float(total) == 0.0
    zeros = [np.zeros(3)]
    clipped, total = numerics.clip_grad_norm(zeros, 1.0)
    assert float(total) == 0.0
    np.testing.assert_array_equal(clipped[0], 0.0)
    f32 = [np.ones(4, dtype=np.float32) * 3]
    clipped, total = numerics.clip_grad_norm(f32, 1.0)
    assert clipped[0].dtype == np.float32
    np.testing.assert_allclose(total, 6.0, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(clipped[0]), 1.0, rtol=1e-5)
