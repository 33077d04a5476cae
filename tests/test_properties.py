"""Property tests (hypothesis): symmetries and invariances that hold for every input.

Tolerances are a few eps of the dtype times the size of the quantities involved, never a
blanket atol. The example count is set by the "losskit" profile in conftest.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import losskit
from conftest import assert_allclose_dtype

EPS = float(np.finfo(np.float64).eps)


def reals(n: int, bound: float = 1e3) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, n, elements=st.floats(-bound, bound, allow_subnormal=False))


def units(n: int) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, n, elements=st.floats(0.0, 1.0, allow_subnormal=False))


def logit_rows(rows: int = 4, classes: int = 3) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, (rows, classes), elements=st.floats(-50, 50, allow_subnormal=False))


def simplex_rows(draw: Any, rows: int = 4, classes: int = 3) -> np.ndarray:
    raw = draw(arrays(np.float64, (rows, classes), elements=st.floats(0.0, 1.0)))
    raw[:, 0] += 1e-3  # no all-zero row
    return raw / raw.sum(-1, keepdims=True)


NON_NEGATIVE = [
    losskit.MeanSquaredError(reduction="none"),
    losskit.MeanAbsoluteError(reduction="none"),
    losskit.HuberLoss(delta=0.7, reduction="none"),
    losskit.SmoothL1Loss(beta=0.3, reduction="none"),
    losskit.LogCoshLoss(reduction="none"),
    losskit.QuantileLoss(quantile=0.2, reduction="none"),
]
BINARY = [
    losskit.BinaryCrossEntropy(reduction="none"),
    losskit.BinaryCrossEntropy(from_logits=True, pos_weight=2.0, reduction="none"),
    losskit.FocalLoss(gamma=0.5, reduction="none"),
    losskit.FocalLoss(from_logits=True, alpha=0.3, reduction="none"),
    losskit.WeightedCrossEntropy(class_weights=(2.0, 0.5), reduction="none"),
]


@given(y=reals(6), r=reals(6))
def test_regression_losses_are_non_negative_and_zero_at_the_target(
    y: np.ndarray, r: np.ndarray
) -> None:
    for loss in NON_NEGATIVE:
        assert np.all(loss(y, y + r) >= 0)
        np.testing.assert_array_equal(loss(y, y), 0.0)
        np.testing.assert_array_equal(loss.derivative(y, y), 0.0)


@given(y=units(6), p=units(6), x=reals(6, 100.0))
def test_binary_losses_are_non_negative(y: np.ndarray, p: np.ndarray, x: np.ndarray) -> None:
    for loss in BINARY:
        pred = x if loss.from_logits else p
        value = loss(y, pred)
        assert np.all(value >= 0)
    hard = np.round(y)
    for loss in BINARY:
        if not loss.from_logits:  # p = y in {0, 1}: exactly 0 loss and gradient
            np.testing.assert_array_equal(loss(hard, hard), 0.0)
            np.testing.assert_array_equal(loss.derivative(hard, hard), 0.0)


@given(y=reals(6), r=reals(6))
def test_symmetric_regression_losses(y: np.ndarray, r: np.ndarray) -> None:
    """L(r) = L(-r) across branches: swapping the arguments negates the residual exactly."""
    p = y + r
    for loss in [
        losskit.MeanSquaredError(reduction="none"),
        losskit.MeanAbsoluteError(reduction="none"),
        losskit.HuberLoss(delta=0.5, reduction="none"),
        losskit.SmoothL1Loss(beta=2.0, reduction="none"),
        losskit.LogCoshLoss(reduction="none"),
    ]:
        np.testing.assert_array_equal(loss(y, p), loss(p, y))
        np.testing.assert_array_equal(loss.derivative(y, p), -loss.derivative(p, y))
        np.testing.assert_array_equal(loss.hessian(y, p), loss.hessian(p, y))


@given(y=units(8), x=reals(8, 200.0))
def test_bce_from_logits_is_symmetric_under_label_flip(y: np.ndarray, x: np.ndarray) -> None:
    """BCE(x, y) = BCE(-x, 1 - y); the gradient changes sign, the Hessian does not."""
    loss = losskit.BinaryCrossEntropy(from_logits=True, reduction="none")
    value, grad, hess = (f(y, x) for f in (loss.compute, loss.derivative, loss.hessian))
    flipped = [f(1 - y, -x) for f in (loss.compute, loss.derivative, loss.hessian)]
    assert_allclose_dtype(
        flipped[0], value, np.float64, k=4, scale=max(1.0, float(np.max(np.abs(x))))
    )
    assert_allclose_dtype(flipped[1], -grad, np.float64, k=4)
    assert_allclose_dtype(flipped[2], hess, np.float64, k=4)


@st.composite
def ce_case(draw: Any) -> tuple[np.ndarray, np.ndarray, float]:
    return simplex_rows(draw), draw(logit_rows()), draw(st.floats(-1e3, 1e3))


@given(case=ce_case())
def test_softmax_ce_is_translation_invariant(case: tuple[np.ndarray, np.ndarray, float]) -> None:
    """Adding a constant to every logit of a row changes neither value nor gradient."""
    y, x, c = case
    scale = abs(c) + float(np.max(np.abs(x)))  # the rounding of x + c is eps·scale
    for loss in (
        losskit.CategoricalCrossEntropy(from_logits=True, reduction="none"),
        losskit.CategoricalCrossEntropy(
            from_logits=True, class_weight=(1.0, 3.0, 0.5), reduction="none"
        ),
        losskit.KLDivergence(from_logits=True, reduction="none"),
        losskit.CategoricalFocalLoss(from_logits=True, reduction="none"),
    ):
        value, grad = loss.value_and_derivative(y, x)
        shifted_value, shifted_grad = loss.value_and_derivative(y, x + c)
        assert_allclose_dtype(shifted_value, value, np.float64, k=8, scale=scale)
        assert_allclose_dtype(shifted_grad, grad, np.float64, k=8, scale=scale)


@given(case=ce_case())
def test_softmax_ce_gradient_rows_sum_to_zero(case: tuple[np.ndarray, np.ndarray, float]) -> None:
    """Σ_c ∂l/∂x_c = A Σ p - Σ a = 0 for each row (targets summing to 1, any class weights)."""
    y, x, _ = case
    for loss in (
        losskit.CategoricalCrossEntropy(from_logits=True, reduction="none"),
        losskit.CategoricalCrossEntropy(
            from_logits=True, class_weight=(1.0, 3.0, 0.5), label_smoothing=0.1
        ),
        losskit.SparseCategoricalCrossEntropy(from_logits=True, reduction="sum"),
        losskit.KLDivergence(from_logits=True),
        losskit.CategoricalFocalLoss(from_logits=True, gamma=1.5),
    ):
        target = np.argmax(y, -1) if isinstance(loss, losskit.SparseCategoricalCrossEntropy) else y
        grad = loss.derivative(target, x)
        scale = float(np.max(np.abs(grad))) * x.shape[-1]
        assert_allclose_dtype(
            grad.sum(-1), np.zeros(len(x)), np.float64, k=4, scale=max(scale, EPS)
        )


@given(
    y=units(5),
    p=units(5),
    w=arrays(np.float64, 5, elements=st.floats(0.1, 10.0)),
    c=st.floats(1e-3, 1e3),
)
def test_sample_weight_scaling(y: np.ndarray, p: np.ndarray, w: np.ndarray, c: float) -> None:
    """Scaling every weight by c: "mean" is unchanged, "sum" and "none" scale by c."""
    p = np.clip(p, 0.01, 0.99)
    for reduction, factor in (("mean", 1.0), ("sum", c), ("none", c)):
        loss = losskit.BinaryCrossEntropy(reduction=reduction)
        for m in ("compute", "derivative", "hessian"):
            base = getattr(loss, m)(y, p, sample_weight=w)
            scaled = getattr(loss, m)(y, p, sample_weight=c * w)
            assert_allclose_dtype(scaled, factor * base, np.float64, k=8)


@given(y=reals(7, 100.0))
def test_minimisers_are_mean_median_and_quantile(y: np.ndarray) -> None:
    """The summed gradient vanishes at the mean (MSE); at the median and the q-quantile it
    changes sign (MAE, pinball), as their minimisers should (sklearn's intercept-only test)."""
    const = np.full_like(y, y.mean())
    grad = losskit.MeanSquaredError(reduction="sum").derivative(y, const)
    assert abs(grad.sum()) <= 64 * EPS * (np.abs(y).sum() + 1.0)
    for q, loss in ((0.5, losskit.MeanAbsoluteError()), (0.3, losskit.QuantileLoss(quantile=0.3))):
        at = np.quantile(y, q, method="inverted_cdf")
        below = loss.derivative(y, np.full_like(y, np.nextafter(at, -np.inf))).sum()
        above = loss.derivative(y, np.full_like(y, np.nextafter(at, np.inf))).sum()
        assert below <= 0 <= above
