"""The numerical-stability promises of SPEC §4, one test each, in float32 and float64.

Exact expectations come from closed forms or from a 100-bit ``mpmath`` oracle
(value, first and second derivative by ``mpmath.diff``), never from the code under test.
The issue each test reproduces is named in its docstring.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np
import pytest

import losskit
from conftest import Variant, assert_allclose_dtype, per_sample_shape, variant_params
from losskit import LossFunction

DTYPES = [np.float64, np.float32]
METHODS = ("compute", "derivative", "hessian")
mp = mpmath.mp


def run(loss: LossFunction, *inputs: Any) -> list[np.ndarray]:
    return [np.asarray(getattr(loss, m)(*inputs)) for m in METHODS]


def cast(x: Any, dtype: Any) -> np.ndarray:
    x = np.asarray(x)
    return x.astype(dtype) if x.dtype.kind == "f" else x


# --------------------------------------------------------------------------
# an mpmath oracle: value and the first two partial derivatives of a formula
# --------------------------------------------------------------------------


def mp_softplus(x: Any) -> Any:
    return mpmath.log1p(mpmath.exp(x))


def mp_sigmoid(x: Any) -> Any:
    return 1 / (1 + mpmath.exp(-x))


def oracle(f: Callable[[list[Any]], Any], x: list[float]) -> tuple[float, list[float], list[float]]:
    """``f`` at ``x`` (a list of reals), its gradient and its Hessian diagonal, at 100 bits."""
    with mp.workprec(100):
        point = [mpmath.mpf(v) for v in x]

        def along(k: int) -> Callable[[Any], Any]:
            return lambda t: f([t if i == k else v for i, v in enumerate(point)])

        grad = [float(mpmath.diff(along(k), point[k], 1)) for k in range(len(x))]
        hess = [float(mpmath.diff(along(k), point[k], 2)) for k in range(len(x))]
        return float(f(point)), grad, hess


def check_elementwise_oracle(
    loss: LossFunction, f: Callable[[Any, Any], Any], y: np.ndarray, x: np.ndarray, dtype: Any
) -> None:
    """losskit's value, gradient and Hessian of every element against the oracle of ``f(y, x)``."""
    value, grad, hess = run(loss.replace(reduction="none"), cast(y, dtype), cast(x, dtype))
    assert value.dtype == grad.dtype == hess.dtype == dtype
    xs = cast(x, dtype).astype(np.float64)  # the oracle sees the input the loss saw
    want = [
        oracle(lambda t, yi=yi: f(yi, t[0]), [xi])
        for yi, xi in zip(y.ravel(), xs.ravel(), strict=True)
    ]
    k = 8.0 if dtype == np.float64 else 4.0
    for got, column in (
        (value, [w[0] for w in want]),
        (grad, [w[1][0] for w in want]),
        (hess, [w[2][0] for w in want]),
    ):
        assert np.all(np.isfinite(got))
        for g_i, w_i in zip(got.ravel(), column, strict=True):
            assert_allclose_dtype(g_i, w_i, dtype, k=k, scale=max(1.0, abs(w_i)))


# --------------------------------------------------------------------------
# probabilities exactly 0 and 1
# --------------------------------------------------------------------------

BINARY_PROB_LOSSES = [
    (losskit.BinaryCrossEntropy(), 1.0, 1.0),
    (losskit.BinaryCrossEntropy(pos_weight=2.0), 2.0, 1.0),
    (losskit.WeightedCrossEntropy(class_weights=(1.0, 5.0)), 5.0, 1.0),
    (losskit.FocalLoss(gamma=0.0), 1.0, 1.0),
    (losskit.FocalLoss(gamma=0.5), 1.0, 1.0),
    (losskit.FocalLoss(gamma=1.0), 1.0, 1.0),
    (losskit.FocalLoss(gamma=2.0, alpha=0.25), 0.25, 0.75),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("loss", "w_pos", "w_neg"), BINARY_PROB_LOSSES, ids=[repr(c[0]) for c in BINARY_PROB_LOSSES]
)
def test_binary_probabilities_zero_and_one(
    loss: LossFunction, w_pos: float, w_neg: float, dtype: Any
) -> None:
    """p ∈ {0, 1}: a confidently wrong element costs 100 (log clamped at -100, PyTorch
    ``BCELoss``) with a finite gradient of the right sign; a right one costs 0, gradient 0."""
    y = np.array([1.0, 0.0, 1.0, 0.0], dtype=dtype)
    p = np.array([0.0, 1.0, 1.0, 0.0], dtype=dtype)
    value, grad, hess = run(loss.replace(reduction="none"), y, p)
    np.testing.assert_array_equal(value, np.array([100 * w_pos, 100 * w_neg, 0.0, 0.0], dtype))
    assert np.all(np.isfinite(grad))
    assert grad[0] < -1e11 * w_pos
    assert grad[1] > 1e11 * w_neg
    np.testing.assert_array_equal(grad[2:], 0.0)
    assert np.all(np.isfinite(hess[:2]))
    assert np.all(hess[:2] > 0)
    gamma = getattr(loss, "gamma", 0.0)
    if 0 < gamma < 1:  # the documented limit of the Hessian at p_t = 1: +inf
        np.testing.assert_array_equal(hess[2:], np.inf)
    else:
        assert np.all(np.isfinite(hess[2:]))


ROW_PROB_LOSSES = [
    (losskit.CategoricalCrossEntropy(), 1.0),
    (losskit.CategoricalCrossEntropy(class_weight=(3.0, 1.0, 1.0)), 3.0),
    (losskit.SparseCategoricalCrossEntropy(), 1.0),
    (losskit.CategoricalFocalLoss(), 1.0),
    (losskit.CategoricalFocalLoss(gamma=0.5), 1.0),
    (losskit.KLDivergence(), 1.0),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("loss", "w"), ROW_PROB_LOSSES, ids=[repr(c[0]) for c in ROW_PROB_LOSSES])
def test_row_probabilities_zero_and_one(loss: LossFunction, w: float, dtype: Any) -> None:
    """A target class predicted with probability 0 costs 100 × its weight, finitely."""
    onehot = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=dtype)
    y = np.array([0, 1]) if isinstance(loss, losskit.SparseCategoricalCrossEntropy) else onehot
    p = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]], dtype=dtype)
    value, grad, hess = run(loss.replace(reduction="none"), y, p)
    np.testing.assert_array_equal(value, np.array([100 * w, 0.0], dtype))
    assert np.all(np.isfinite(grad))
    assert grad[0, 0] < -1e11
    assert not np.any(np.isnan(hess))
    gamma = getattr(loss, "gamma", 0.0)
    finite = np.isfinite(hess)
    if 0 < gamma < 1:  # +inf only where a target class has p = 1 (the documented limit)
        np.testing.assert_array_equal(~finite, (onehot == 1) & (p == 1))
        assert np.all(hess[~finite] > 0)
    else:
        assert np.all(finite)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "loss",
    [
        losskit.MedicalImagingLoss(),
        losskit.DiceLoss(),
        losskit.JaccardLoss(),
        losskit.TverskyLoss(),
    ],
    ids=repr,
)
def test_mask_losses_at_probabilities_zero_and_one(loss: LossFunction, dtype: Any) -> None:
    y = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]], dtype=dtype)
    p = np.array([[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 1.0, 1.0]], dtype=dtype)
    for result in run(loss, y, p):
        assert result.dtype == dtype
        assert np.all(np.isfinite(result))


def test_float32_probability_just_below_one() -> None:
    """p = 1 - 2^-24 (the largest float32 below 1): the clamp, not a clip to 1 - 1e-15,
    keeps log(1 - p) finite and exact (the seed's float32 clip rounds to 1.0)."""
    p = np.array([1 - 2.0**-24], dtype=np.float32)
    value = losskit.BinaryCrossEntropy()(np.zeros(1, np.float32), p)
    assert value.dtype == np.float32
    np.testing.assert_allclose(value, 24 * math.log(2), rtol=4 * np.finfo(np.float32).eps)


# --------------------------------------------------------------------------
# large and infinite logits
# --------------------------------------------------------------------------

LOGITS = np.array([-1e4, -1e3, -100.0, -36.9, -5.0, 0.0, 5.0, 36.9, 100.0, 1e3, 1e4])


def _bce(y: Any, x: Any, pos: float = 1.0) -> Any:
    return pos * y * mp_softplus(-x) + (1 - y) * mp_softplus(x)


def _focal(y: Any, x: Any, gamma: float, alpha: float | None) -> Any:
    p = mp_sigmoid(x)
    q = y * (1 - p) + (1 - y) * p
    a = 1 if alpha is None else alpha * y + (1 - alpha) * (1 - y)
    return a * q**gamma * _bce(y, x)


LOGIT_LOSSES = [
    (losskit.BinaryCrossEntropy(from_logits=True), _bce),
    (losskit.BinaryCrossEntropy(from_logits=True, pos_weight=3.0), lambda y, x: _bce(y, x, 3.0)),
    (
        losskit.WeightedCrossEntropy(class_weights=(2.0, 0.5), from_logits=True),
        lambda y, x: 0.5 * y * mp_softplus(-x) + 2.0 * (1 - y) * mp_softplus(x),
    ),
    (losskit.FocalLoss(from_logits=True), lambda y, x: _focal(y, x, 2.0, None)),
    (
        losskit.FocalLoss(gamma=0.5, alpha=0.25, from_logits=True),
        lambda y, x: _focal(y, x, 0.5, 0.25),
    ),
    (losskit.FocalLoss(gamma=1.0, from_logits=True), lambda y, x: _focal(y, x, 1.0, None)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("loss", "formula"), LOGIT_LOSSES, ids=[repr(c[0]) for c in LOGIT_LOSSES])
def test_binary_logits_up_to_1e4(loss: LossFunction, formula: Callable, dtype: Any) -> None:
    """Logits up to ±1e4: finite and equal to the 100-bit oracle, for hard and soft labels."""
    x = np.concatenate([LOGITS, LOGITS])
    y = np.concatenate([np.ones_like(LOGITS), np.zeros_like(LOGITS)])
    check_elementwise_oracle(loss, formula, y, x, dtype)
    soft = np.full_like(LOGITS, 0.3)
    check_elementwise_oracle(loss, formula, soft, LOGITS, dtype)


def _row_ce(a: list[Any], x: list[Any]) -> Any:
    lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in x))
    return mpmath.fsum(ac * (lse - xc) for ac, xc in zip(a, x, strict=True) if ac)


def _row_focal(a: list[Any], x: list[Any], gamma: float) -> Any:
    lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in x))
    terms = []
    for ac, xc in zip(a, x, strict=True):
        if ac:
            log_p = xc - lse
            terms.append(-ac * (1 - mpmath.exp(log_p)) ** gamma * log_p)
    return mpmath.fsum(terms)


ROWS = np.array(
    [
        [1e4, 0.0, -1e4],
        [-1e4, 1e4, 3.0],
        [1e4, 1e4 - 1.0, -1e4],
        [100.0, -100.0, 0.0],
        [0.0, 7e-7, -1e3],
        [-1e4, -1e4, -1e4],
    ]
)
ROW_LOSSES = [
    (losskit.CategoricalCrossEntropy(from_logits=True), _row_ce),
    (losskit.KLDivergence(from_logits=True), _row_ce),  # same x-dependence; y log y checked apart
    (losskit.CategoricalFocalLoss(from_logits=True), lambda a, x: _row_focal(a, x, 2.0)),
    (losskit.CategoricalFocalLoss(gamma=0.5, from_logits=True), lambda a, x: _row_focal(a, x, 0.5)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("loss", "formula"), ROW_LOSSES, ids=[repr(c[0]) for c in ROW_LOSSES])
@pytest.mark.parametrize("target", ["one-hot", "soft"])
def test_softmax_logits_up_to_1e4(
    loss: LossFunction, formula: Callable, target: str, dtype: Any
) -> None:
    """Softmax losses at logits up to 1e4 against the oracle, row by row (sklearn#28046's
    multinomial row [1e4, 0, 7e-7] included)."""
    n, c = ROWS.shape
    y = np.eye(c)[np.arange(n) % c] if target == "one-hot" else np.tile([0.2, 0.5, 0.3], (n, 1))
    x = cast(ROWS, dtype)
    value, grad, hess = run(loss.replace(reduction="none"), cast(y, dtype), x)
    is_kl = isinstance(loss, losskit.KLDivergence)
    k = 8.0 if dtype == np.float64 else 4.0
    for i in range(n):
        v, g, h = oracle(lambda t, a=list(y[i]): formula(a, t), list(x[i].astype(np.float64)))
        if is_kl:
            v += float(sum(mpmath.mpf(a) * mpmath.log(a) for a in y[i] if a))
        scale = max(1.0, abs(v))
        assert_allclose_dtype(value[i], v, dtype, k=k, scale=scale)
        assert_allclose_dtype(grad[i], g, dtype, k=k, scale=1.0)
        assert_allclose_dtype(hess[i], h, dtype, k=k, scale=1.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_ce_logits_up_to_1e4(dtype: Any) -> None:
    labels = np.arange(len(ROWS)) % 3
    x = cast(ROWS, dtype)
    value, grad, hess = run(
        losskit.SparseCategoricalCrossEntropy(from_logits=True, reduction="none"), labels, x
    )
    for i, row in enumerate(x.astype(np.float64)):
        a = [1.0 if c == labels[i] else 0.0 for c in range(3)]
        v, g, h = oracle(lambda t, a=a: _row_ce(a, t), list(row))
        assert_allclose_dtype(value[i], v, dtype, scale=max(1.0, abs(v)))
        assert_allclose_dtype(grad[i], g, dtype, scale=1.0)
        assert_allclose_dtype(hess[i], h, dtype, scale=1.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_from_logits_at_infinity(dtype: Any) -> None:
    """x = ±inf gives the limits, not NaN (pytorch#102894, every peer returns NaN):
    y = 1, x = +inf: 0 with gradient 0; y = 0, x = +inf: +inf with gradient 1."""
    inf = np.inf
    y = np.array([1.0, 0.0, 1.0, 0.0, 0.5, 0.5], dtype=dtype)
    x = np.array([inf, inf, -inf, -inf, inf, -inf], dtype=dtype)
    value, grad, hess = run(losskit.BinaryCrossEntropy(from_logits=True, reduction="none"), y, x)
    np.testing.assert_array_equal(value, np.array([0.0, inf, inf, 0.0, inf, inf], dtype))
    np.testing.assert_array_equal(grad, np.array([0.0, 1.0, -1.0, 0.0, 0.5, -0.5], dtype))
    np.testing.assert_array_equal(hess, 0.0)
    assert value.dtype == grad.dtype == hess.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_pos_weight_issue_13773(dtype: Any) -> None:
    """pytorch#13773: logits [0, -120] with pos_weight gave NaN; the loss is (log 2 + 120·w) / 2."""
    x = np.array([0.0, -120.0], dtype=dtype)
    y = np.array([0.0, 1.0], dtype=dtype)
    for pos_weight in (None, 1.0, (1.0, 1.0), 3.0):
        w = 1.0 if pos_weight is None else 3.0 if pos_weight == 3.0 else 1.0
        loss = losskit.BinaryCrossEntropy(from_logits=True, pos_weight=pos_weight)
        value, grad = loss.value_and_derivative(y, x)
        assert value.dtype == dtype
        assert_allclose_dtype(value, (math.log(2) + 120 * w) / 2, dtype)
        assert_allclose_dtype(grad, [0.25, -w / 2], dtype)


# sklearn#28046 (fixed by scikit-learn PR#28048): HalfBinomialLoss table in
# sklearn/_loss/tests/test_loss.py::test_loss_on_specific_values (y, raw -> loss, grad, hess),
# extended by the switch points ±36.9, 37.5 and 1e20.
BINOMIAL_TABLE = [
    (1.0, -1e20),
    (0.0, -37.0),
    (1.0, -37.0),
    (0.0, 232.8),
    (1.0, 232.9),
    (0.0, 1000.0),
    (1.0, 36.9),
    (0.0, -36.9),
    (1.0, 37.5),
    (0.0, 18.0),
    (1.0, -1e3),
]


def test_binomial_extremes_issue_28046() -> None:
    """Loss, gradient and Hessian at 1e-15 relative of the mpmath value (sklearn's tolerance)."""
    y = np.array([r[0] for r in BINOMIAL_TABLE])
    x = np.array([r[1] for r in BINOMIAL_TABLE])
    loss = losskit.BinaryCrossEntropy(from_logits=True, reduction="none")
    value, grad, hess = run(loss, y, x)
    with mp.workprec(200):
        for i, (yi, xi) in enumerate(BINOMIAL_TABLE):
            m = mpmath.mpf(xi)
            s, s_neg = mp_sigmoid(m), mp_sigmoid(-m)  # σ(-x), not 1 - σ(x): no cancellation
            want = (float(_bce(yi, m)), float((1 - yi) * s - yi * s_neg), float(s * s_neg))
            for got, w in zip((value[i], grad[i], hess[i]), want, strict=True):
                np.testing.assert_allclose(got, w, rtol=1e-15, atol=1e-300)


# --------------------------------------------------------------------------
# log-cosh, focal with γ < 1, overlap losses on empty masks
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "residuals"),
    [
        (np.float64, [1e300, -1e300, 1e10, 710.0, -800.0, 30.0, 1.0, 0.999, 1e-5, -3e-9, 0.0]),
        (np.float32, [1e30, -3e38, 100.0, -100.0, 89.0, 9.0, 1.0, 0.999, 1e-3, -1e-6, 0.0]),
    ],
)
def test_log_cosh_large_residuals(dtype: Any, residuals: list[float]) -> None:
    """log cosh r is finite for |r| up to 1e300 (float64) and at |r| = 100 in float32
    (torchmetrics#3488: cosh overflows past 89), and accurate on both sides of the switch
    |r| = 1 and near 0."""
    r = np.array(residuals, dtype=dtype)
    value, grad, hess = run(losskit.LogCoshLoss(reduction="none"), np.zeros_like(r), r)
    for i, ri in enumerate(r.astype(np.float64)):
        with mp.workprec(300):  # cosh(3e-9) - 1 needs more than 100 bits
            m = mpmath.mpf(ri)
            want = (mpmath.log(mpmath.cosh(m)), mpmath.tanh(m), mpmath.sech(m) ** 2)
        for got, w in zip((value[i], grad[i], hess[i]), want, strict=True):
            assert np.isfinite(got)
            assert_allclose_dtype(got, float(w), dtype, k=4.0, scale=max(float(abs(w)), 1e-30))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gamma", [0.25, 0.5, 0.75])
def test_focal_gamma_below_one_at_saturation(gamma: float, dtype: Any) -> None:
    """optax#1267: 0 < γ < 1 at p_t → 1 (logits ±100, ±75, ±50, ±1e4, soft labels too):
    value, gradient and Hessian finite; on logits the gradient tends to 0."""
    x = np.array([100.0, -100.0, 75.0, -75.0, 50.0, -50.0, 1e4, -1e4], dtype=dtype)
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0], dtype=dtype)
    for labels in (y, np.where(y == 1, 0.9, 0.1).astype(dtype)):
        for loss in (
            losskit.FocalLoss(gamma=gamma, from_logits=True, reduction="none"),
            losskit.FocalLoss(gamma=gamma, alpha=0.25, from_logits=True, reduction="none"),
        ):
            for result in run(loss, labels, x):
                assert np.all(np.isfinite(result))
    hard = losskit.FocalLoss(gamma=gamma, from_logits=True, reduction="none")
    _, grad, _ = run(hard, y, x)
    np.testing.assert_array_less(np.abs(grad), 1e-10)
    # on probabilities, p_t = 1 exactly: the derivative is 0, finite
    p = np.array([1.0, 0.0], dtype=dtype)
    grad_p = losskit.FocalLoss(gamma=gamma, reduction="none").derivative(p, p)
    np.testing.assert_array_equal(grad_p, 0.0)
    rows = np.array([[100.0, -100.0, 0.0], [1e4, 0.0, -1e4]], dtype=dtype)
    onehot = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], dtype=dtype)
    cat = losskit.CategoricalFocalLoss(gamma=gamma, from_logits=True, reduction="none")
    for result in run(cat, onehot, rows):
        assert np.all(np.isfinite(result))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smooth", [0.0, 1e-6, 1.0])
@pytest.mark.parametrize(
    "make",
    [
        losskit.DiceLoss,
        losskit.JaccardLoss,
        lambda **kw: losskit.TverskyLoss(alpha=0.3, beta=0.7, **kw),
    ],
    ids=["dice", "jaccard", "tversky"],
)
def test_overlap_losses_on_empty_mask_and_prediction(
    make: Callable, smooth: float, dtype: Any
) -> None:
    """An empty mask predicted empty is a perfect match: loss 0 (Keras returns 1, the worst),
    never NaN, with a finite gradient; the same per sample and per class."""
    zeros = np.zeros((2, 3, 2), dtype=dtype)
    for per_sample in (False, True):
        for per_class in (False, True):
            loss = make(smooth=smooth, per_sample=per_sample, per_class=per_class, reduction="none")
            value, grad, hess = run(loss, zeros, zeros)
            np.testing.assert_array_equal(value, 0.0)
            assert np.all(np.isfinite(grad))
            assert np.all(np.isfinite(hess))
            if smooth == 0.0:
                np.testing.assert_array_equal(grad, 0.0)
    # one empty class next to a non-empty one, per class: the empty class scores 0
    y = np.zeros((4, 2), dtype=dtype)
    y[:2, 1] = 1.0
    p = y.copy()
    loss = make(smooth=smooth, per_class=True)
    assert_allclose_dtype(loss(y, p), 0.0, dtype)


# --------------------------------------------------------------------------
# masked classes, shared offsets, half precisions
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_minus_inf_logits_contribute_nothing(dtype: Any) -> None:
    """A class with logit -inf and target 0 adds 0 to value and gradient (optax's
    ``safe_softmax_cross_entropy``): the row equals the row without that class."""
    x = np.array([[2.0, -np.inf, 1.0, -0.5], [-np.inf, 0.3, -np.inf, 3.0]], dtype=dtype)
    y = np.array([[0.7, 0.0, 0.3, 0.0], [0.0, 1.0, 0.0, 0.0]], dtype=dtype)
    kept = [np.array([0, 2, 3]), np.array([1, 3])]
    for loss in (
        losskit.CategoricalCrossEntropy(from_logits=True, reduction="none"),
        losskit.KLDivergence(from_logits=True, reduction="none"),
        losskit.CategoricalFocalLoss(from_logits=True, reduction="none"),
    ):
        value, grad, hess = run(loss, y, x)
        for i, cols in enumerate(kept):
            v, g, h = run(loss, y[i, cols], x[i, cols])
            assert_allclose_dtype(value[i], v, dtype)
            assert_allclose_dtype(grad[i, cols], g, dtype)
            assert_allclose_dtype(hess[i, cols], h, dtype)
            masked = np.setdiff1d(np.arange(4), cols)
            np.testing.assert_array_equal(grad[i, masked], 0.0)
            np.testing.assert_array_equal(hess[i, masked], 0.0)
    sparse = losskit.SparseCategoricalCrossEntropy(from_logits=True, reduction="none")
    value, grad = sparse.value_and_derivative(np.array([0, 3]), x)
    assert np.all(np.isfinite(value))
    assert np.all(np.isfinite(grad))
    np.testing.assert_array_equal(grad[np.isinf(x)], 0.0)


@pytest.mark.parametrize("n_classes", [2, 3, 10])
def test_softmax_ce_under_a_1e8_offset_in_float32(n_classes: int) -> None:
    """optax PR#1792: uniform float32 logits of 1e8 give log C within 2 eps; logits that
    differ by multiples of 8 (float32's spacing at 1e8) give the unshifted result."""
    eps = np.finfo(np.float32).eps
    x = np.full((3, n_classes), 1e8, dtype=np.float32)
    y = np.eye(n_classes, dtype=np.float32)[np.arange(3) % n_classes]
    loss = losskit.CategoricalCrossEntropy(from_logits=True, reduction="none")
    value, grad = loss.value_and_derivative(y, x)
    assert value.dtype == np.float32
    np.testing.assert_allclose(value, math.log(n_classes), rtol=2 * eps)
    np.testing.assert_allclose(grad, 1.0 / n_classes - y, rtol=2 * eps, atol=2 * eps)
    steps = (np.arange(n_classes, dtype=np.float32) - 1) * 8
    shifted = (np.float32(1e8) + steps)[None, :].repeat(3, 0)
    for a, b in zip(
        run(loss, y, shifted), run(loss, y, np.broadcast_to(steps, (3, n_classes))), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=2 * eps, atol=2 * eps)
    labels = np.arange(3) % n_classes
    sparse = losskit.SparseCategoricalCrossEntropy(from_logits=True, reduction="none")
    np.testing.assert_allclose(sparse(labels, x), math.log(n_classes), rtol=2 * eps)


@pytest.mark.parametrize("variant", variant_params())
def test_float16_is_computed_in_float32(variant: Variant, rng: np.random.Generator) -> None:
    """float16 in, float16 out, with float32 inside: the result is the float64 result on the
    same inputs rounded once to float16."""
    inputs16 = tuple(cast(x, np.float16) for x in variant.inputs(rng))
    inputs64 = tuple(cast(x, np.float64) for x in inputs16)
    for method in METHODS:
        got = getattr(variant.loss, method)(*inputs16)
        want = getattr(variant.loss, method)(*inputs64)
        for g, w in zip(*(x if isinstance(x, tuple) else (x,) for x in (got, want)), strict=True):
            assert g.dtype == np.float16
            assert_allclose_dtype(g, w, np.float16, k=1.0)


def test_float16_mean_does_not_overflow() -> None:
    """4096 squared errors of 100 sum to 409600 > float16's 65504; the mean is 100 exactly."""
    y = np.zeros(4096, dtype=np.float16)
    p = np.full(4096, 10.0, dtype=np.float16)
    value, grad = losskit.MeanSquaredError().value_and_derivative(y, p)
    assert value.dtype == grad.dtype == np.float16
    assert value == 100.0
    np.testing.assert_array_equal(grad, np.float16(20.0 / 4096))
    assert losskit.MeanSquaredError(reduction="sum")(y, p) == np.inf  # the sum itself overflows


def test_bfloat16_accumulates_in_float32() -> None:
    """bfloat16 (PyTorch): result in bfloat16; the sum of 4096 values of 100 is exact, which
    bfloat16 accumulation (8-bit mantissa) cannot do."""
    torch = pytest.importorskip("torch")
    y = torch.zeros(4096, dtype=torch.bfloat16)
    p = torch.full((4096,), 10.0, dtype=torch.bfloat16)
    value = losskit.MeanSquaredError()(y, p)
    assert value.dtype == torch.bfloat16
    assert float(value) == 100.0
    x = torch.tensor([[1e4, 0.0, -1e4], [3.0, 3.0, 3.0]], dtype=torch.bfloat16)
    labels = torch.tensor([1, 2])
    ce = losskit.SparseCategoricalCrossEntropy(from_logits=True, reduction="none")
    value, grad = ce.value_and_derivative(labels, x)
    assert value.dtype == grad.dtype == torch.bfloat16
    np.testing.assert_allclose(value.float().numpy(), [1e4, math.log(3)], rtol=2**-8)
    assert bool(torch.all(torch.isfinite(grad)))


# --------------------------------------------------------------------------
# degenerate reductions and shapes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("from_logits", [False, True])
def test_all_ignored_batch_gives_zero(from_logits: bool, rng: np.random.Generator) -> None:
    """Every label equal to ignore_index: loss 0, gradient 0, Hessian 0 (PyTorch gives NaN)."""
    p = rng.dirichlet([1.0] * 3, size=4)
    pred = np.log(p) if from_logits else p
    labels = np.full(4, -100)
    for class_weight in (None, (1.0, 2.0, 3.0)):
        loss = losskit.SparseCategoricalCrossEntropy(
            from_logits=from_logits,
            ignore_index=-100,
            class_weight=class_weight,
            label_smoothing=0.1,
        )
        value, grad, hess = run(loss, labels, pred)
        assert value == 0.0
        np.testing.assert_array_equal(grad, 0.0)
        np.testing.assert_array_equal(hess, 0.0)


@pytest.mark.parametrize("variant", variant_params())
def test_all_zero_weights_give_zero(variant: Variant, rng: np.random.Generator) -> None:
    """sample_weight all 0 with "mean" (0/0): loss 0 and zero gradient and Hessian."""
    inputs = variant.inputs(rng)
    w = np.zeros(per_sample_shape(variant.loss, inputs))
    for result in (getattr(variant.loss, m)(*inputs, sample_weight=w) for m in METHODS):
        for r in result if isinstance(result, tuple) else (result,):
            np.testing.assert_array_equal(r, 0.0)


@pytest.mark.parametrize("variant", variant_params())
def test_shapes_are_never_broadcast(variant: Variant, rng: np.random.Generator) -> None:
    """(n, 1) against (n,) (or any extra unit axis) raises instead of broadcasting."""
    inputs = list(variant.inputs(rng))
    first = np.asarray(inputs[0])
    inputs[0] = first[..., None]
    with pytest.raises(ValueError, match="shape"):
        variant.loss.compute(*inputs)


# --------------------------------------------------------------------------
# no floating-point error on ordinary inputs
# --------------------------------------------------------------------------


@pytest.mark.parametrize("variant", variant_params())
def test_ordinary_inputs_raise_no_floating_point_error(
    variant: Variant, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With NumPy FP errors turned into exceptions and losskit's silencing off, no loss
    produces an overflow, division by zero or invalid operation on its own domain's inputs
    (a hidden inf in an untaken ``where`` branch would show up here)."""
    monkeypatch.setattr(losskit._compat, "SILENCE_FP_WARNINGS", False)
    inputs = variant.inputs(rng)
    w = rng.uniform(0.5, 2.0, size=per_sample_shape(variant.loss, inputs))
    with np.errstate(all="raise"):
        for reduction in ("mean", "sum", "none"):
            loss = variant.loss.replace(reduction=reduction)
            for m in METHODS:
                getattr(loss, m)(*inputs)
                getattr(loss, m)(*inputs, sample_weight=w)
