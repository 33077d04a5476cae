"""A user's own loss (SPEC §6): implement the per-sample value and derivative, get the rest."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import losskit
from conftest import assert_allclose_dtype


class CubicLoss(losskit.ElementwiseLoss):
    """``|r|^3`` with derivative ``3 r |r|`` and Hessian ``6 |r|`` (r = y_pred - y_true)."""

    def per_sample(self, y_true: Any, y_pred: Any) -> Any:
        return abs(y_pred - y_true) ** 3

    def per_sample_derivative(self, y_true: Any, y_pred: Any) -> Any:
        r = y_pred - y_true
        return 3 * r * abs(r)

    def per_sample_hessian(self, y_true: Any, y_pred: Any) -> Any:
        return 6 * abs(y_pred - y_true)


class NoHessianLoss(losskit.ElementwiseLoss):
    """``r^4``: value and derivative only."""

    def per_sample(self, y_true: Any, y_pred: Any) -> Any:
        return (y_pred - y_true) ** 4

    def per_sample_derivative(self, y_true: Any, y_pred: Any) -> Any:
        return 4 * (y_pred - y_true) ** 3


class WrongDerivativeLoss(NoHessianLoss):
    """The seed's kind of mistake: the derivative with the wrong sign."""

    def per_sample_derivative(self, y_true: Any, y_pred: Any) -> Any:
        return -4 * (y_pred - y_true) ** 3


class SquaredDistanceToTarget(losskit.RowwiseLoss):
    """Per row ``Σ_c (x_c - t_c)^2 / 2`` over the class axis (last), with a parameter ``scale``."""

    def __init__(self, *, scale: float = 1.0, reduction: losskit._base.Reduction = "mean") -> None:
        self.scale = losskit._base.check_real("scale", scale, low=0.0, low_open=True)
        super().__init__(reduction=reduction)

    def per_sample(self, y_true: Any, y_pred: Any) -> Any:
        return self.scale * 0.5 * ((y_pred - y_true) ** 2).sum(-1)

    def per_sample_derivative(self, y_true: Any, y_pred: Any) -> Any:
        return self.scale * (y_pred - y_true)

    def per_sample_hessian(self, y_true: Any, y_pred: Any) -> Any:
        return self.scale * np.ones_like(y_pred)


class NonNegativeTargets(CubicLoss):
    """A user's domain check: targets must be non-negative (runs under validation only)."""

    def _check_values(self, xp: Any, y_true: Any, y_pred: Any) -> None:
        losskit._base.check_nonnegative(xp, y_true, "targets")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_elementwise_subclass_gets_reductions_and_weights(
    reduction: str, rng: np.random.Generator
) -> None:
    y, p = rng.normal(size=6), rng.normal(size=6)
    w = rng.uniform(0.5, 2.0, size=6)
    loss = CubicLoss(reduction=reduction)
    per = np.abs(p - y) ** 3
    want = {"mean": np.sum(w * per) / np.sum(w), "sum": np.sum(w * per), "none": w * per}
    assert_allclose_dtype(loss(y, p, sample_weight=w), want[reduction], np.float64)
    scale = w / np.sum(w) if reduction == "mean" else w
    assert_allclose_dtype(
        loss.derivative(y, p, sample_weight=w), scale * 3 * (p - y) * np.abs(p - y), np.float64
    )
    assert_allclose_dtype(
        loss.hessian(y, p, sample_weight=w), scale * 6 * np.abs(p - y), np.float64
    )
    assert losskit.check_gradients(loss, y, p, sample_weight=w)
    assert losskit.check_gradients(loss)  # standard-normal draws when no inputs are given


def test_elementwise_subclass_is_a_full_loss(rng: np.random.Generator) -> None:
    """Validation, dtypes, immutability and loss algebra come with the base class."""
    loss = CubicLoss()
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        loss(np.zeros(3), np.zeros(4))
    with pytest.raises(TypeError, match="floating-point"):
        loss(np.zeros(3), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="reduction must be"):
        CubicLoss(reduction="avg")  # type: ignore[arg-type]
    with pytest.raises(AttributeError, match="immutable"):
        loss.reduction = "sum"  # type: ignore[misc]
    y32 = rng.normal(size=4).astype(np.float32)
    assert loss(y32, y32 + 1).dtype == np.float32
    assert float(loss([0.0, 0.0], [1.0, 2.0])) == 4.5  # the docstring example, lists accepted
    assert loss.replace(reduction="sum") == CubicLoss(reduction="sum")
    mixed = 0.5 * loss + losskit.MeanSquaredError()
    y, p = rng.normal(size=5), rng.normal(size=5)
    assert_allclose_dtype(
        mixed(y, p), 0.5 * loss(y, p) + losskit.MeanSquaredError()(y, p), np.float64
    )
    assert losskit.check_gradients(mixed, y, p)


def test_user_domain_checks_run_under_validation(rng: np.random.Generator) -> None:
    loss = NonNegativeTargets()
    with pytest.raises(ValueError, match="targets must be non-negative; found -1"):
        loss(np.array([1.0, -1.0]), np.zeros(2))
    with losskit.validation("never"):
        assert loss(np.array([1.0, -1.0]), np.zeros(2)) == 1.0


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_rowwise_subclass_gets_reductions_and_weights(
    reduction: str, rng: np.random.Generator
) -> None:
    t, x = rng.uniform(size=(4, 3)), rng.normal(size=(4, 3))
    w = rng.uniform(0.5, 2.0, size=4)
    loss = SquaredDistanceToTarget(scale=2.0, reduction=reduction)
    per_row = ((x - t) ** 2).sum(-1)
    want = {"mean": np.sum(w * per_row) / w.sum(), "sum": np.sum(w * per_row), "none": w * per_row}
    assert_allclose_dtype(loss(t, x, sample_weight=w), want[reduction], np.float64)
    assert np.shape(loss.derivative(t, x)) == (4, 3)
    assert losskit.check_gradients(loss, t, x, sample_weight=w)
    assert np.shape(SquaredDistanceToTarget(reduction="none")(t[0], x[0])) == ()  # 1-d: one row
    with pytest.raises(ValueError, match="at least one axis"):
        loss(np.float64(1.0), np.float64(1.0))
    with pytest.raises(ValueError, match="scale must be a real number in"):
        SquaredDistanceToTarget(scale=0.0)
    assert SquaredDistanceToTarget(scale=2.0).params == {"scale": 2.0, "reduction": "mean"}


def test_check_gradients_can_fail(rng: np.random.Generator) -> None:
    """A wrong derivative is caught: the check is not vacuous."""
    y, p = rng.normal(size=5), rng.normal(size=5)
    check = losskit.check_gradients(WrongDerivativeLoss(), y, p)
    assert not check
    assert check.grad_error > 1e3
    assert check.hess_error is None
    assert losskit.check_gradients(NoHessianLoss(), y, p)


def test_check_gradients_catches_a_wrong_hessian(rng: np.random.Generator) -> None:
    class WrongHessian(CubicLoss):
        def per_sample_hessian(self, y_true: Any, y_pred: Any) -> Any:
            return 3 * abs(y_pred - y_true)  # half the right value

    check = losskit.check_gradients(WrongHessian(), rng.normal(size=5), rng.normal(size=5))
    assert check.grad_error <= 1.0
    assert check.hess_error is not None
    assert check.hess_error > 1e3
    assert not check


def test_missing_hessian_raises_naming_the_loss(rng: np.random.Generator) -> None:
    y, p = rng.normal(size=3), rng.normal(size=3)
    loss = NoHessianLoss()
    with pytest.raises(
        NotImplementedError, match="the Hessian of NoHessianLoss is not implemented"
    ):
        loss.hessian(y, p)
    with pytest.raises(NotImplementedError, match="NoHessianLoss"):
        loss.derivative_and_hessian(y, p)
    _, grad = loss.value_and_derivative(y, p)  # the rest works
    assert_allclose_dtype(grad, 4 * (p - y) ** 3 / 3, np.float64)


def test_subclass_without_per_sample_raises() -> None:
    class Empty(losskit.ElementwiseLoss):
        pass

    class ValueOnly(losskit.ElementwiseLoss):
        def per_sample(self, y_true: Any, y_pred: Any) -> Any:
            return y_pred - y_true

    with pytest.raises(NotImplementedError, match="Empty does not implement per_sample"):
        Empty()(np.zeros(2), np.zeros(2))
    assert ValueOnly(reduction="sum")(np.zeros(2), np.ones(2)) == 2.0
    with pytest.raises(NotImplementedError, match="ValueOnly does not implement per_sample_deriv"):
        ValueOnly().derivative(np.zeros(2), np.zeros(2))
