"""The seed tutorial (shared/seeds/000_0ceb54d88e8c42f3.txt): its examples, and its errors.

Each ``test_erratum_*`` (cited by docs/seed-errata.md) writes the seed's formula or code
inline, shows with finite differences (or the loss's definition) that it is wrong, and
that losskit is right. The seed's example numbers reproduce to the printed 4 decimals.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import losskit
from conftest import assert_allclose_dtype

# the seed's example arrays
Y_REG = np.array([1, 2, 3, 4])
P_REG = np.array([1.1, 1.9, 3.2, 3.8])
Y_CLS = np.array([1, 0, 1, 0])
P_CLS = np.array([0.9, 0.1, 0.8, 0.2])
Y_IMB = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
P_IMB = np.array([0.9, 0.1, 0.8, 0.2, 0.3, 0.1, 0.2, 0.1, 0.1, 0.2])


def fd_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central finite differences of a scalar function, the judge of every derivative below."""
    grad = np.zeros_like(x, dtype=float)
    for i in range(x.size):
        e = np.zeros_like(x, dtype=float)
        e.flat[i] = h
        grad.flat[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


def assert_matches_fd(derivative: np.ndarray, fd: np.ndarray) -> None:
    np.testing.assert_allclose(derivative, fd, rtol=1e-6, atol=1e-9)


def assert_not_fd(derivative: np.ndarray, fd: np.ndarray) -> None:
    assert not np.allclose(derivative, fd, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize(
    ("loss", "y", "p", "printed"),
    [
        (losskit.MeanSquaredError(), Y_REG, P_REG, "0.0250"),
        (losskit.MeanAbsoluteError(), Y_REG, P_REG, "0.1500"),
        (losskit.HuberLoss(delta=1.0), Y_REG, P_REG, "0.0125"),
        (losskit.BinaryCrossEntropy(), Y_CLS, P_CLS, "0.1643"),
        (losskit.FocalLoss(gamma=2.0), Y_IMB, P_IMB, "0.0073"),
        (losskit.DiceLoss(), Y_IMB, P_IMB, "0.3200"),
        (losskit.WeightedCrossEntropy(class_weights=(1.0, 5.0)), Y_IMB, P_IMB, "0.3090"),
    ],
    ids=["MSE", "MAE", "Huber", "BCE", "Focal", "Dice", "WeightedCE"],
)
def test_seed_example_values(
    loss: losskit.LossFunction, y: np.ndarray, p: np.ndarray, printed: str
) -> None:
    """SPEC §5: the seed's printed numbers, from the seed's own (integer) label arrays."""
    assert f"{float(loss(y, p)):.4f}" == printed


# --------------------------------------------------------------------------
# the errata
# --------------------------------------------------------------------------


def test_erratum_mse_derivative_sign() -> None:
    """Seed formula: ∂L/∂ŷᵢ = 2(yᵢ - ŷᵢ). The gradient of the mean is 2(ŷ - y)/n."""
    n = Y_REG.size
    seed_formula = 2 * (Y_REG - P_REG) / n  # the formula, with the mean's 1/n
    fd = fd_gradient(lambda p: np.mean((Y_REG - p) ** 2), P_REG)
    assert_not_fd(seed_formula, fd)
    np.testing.assert_allclose(seed_formula, -fd, rtol=1e-6)  # exactly the wrong sign
    assert_matches_fd(losskit.MeanSquaredError().derivative(Y_REG, P_REG), fd)


def test_erratum_huber_derivative_sign() -> None:
    """Seed code: ``error = y_true - y_pred``, derivative ``where(|e| <= δ, e, δ sign(e)) / n``."""
    y = np.array([0.0, 0.0, 1.0, 2.0])
    p = np.array([0.5, -3.0, 1.2, -1.0])  # both branches
    delta = 1.0

    def seed_compute(p: np.ndarray) -> float:
        error = y - p
        abs_error = np.abs(error)
        quadratic = np.minimum(abs_error, delta)
        linear = abs_error - quadratic
        return float(np.mean(0.5 * quadratic**2 + delta * linear))

    error = y - p
    seed_derivative = np.where(np.abs(error) <= delta, error, delta * np.sign(error)) / y.size
    fd = fd_gradient(seed_compute, p)
    assert_not_fd(seed_derivative, fd)
    np.testing.assert_allclose(seed_derivative, -fd, rtol=1e-6)
    loss = losskit.HuberLoss(delta=delta)
    assert_allclose_dtype(loss(y, p), seed_compute(p), np.float64)  # same loss...
    assert_matches_fd(loss.derivative(y, p), fd)  # ...with the right gradient


def test_erratum_log_cosh_derivative_sign() -> None:
    """Seed formula: ∂L/∂ŷ = tanh(y - ŷ); the right one is tanh(ŷ - y). Also, log(cosh(r))
    written literally overflows past |r| ≈ 710."""
    y = np.array([0.0, 1.0, -2.0])
    p = np.array([0.7, -1.5, 3.0])
    seed_formula = np.tanh(y - p) / y.size
    fd = fd_gradient(lambda q: float(np.mean(np.log(np.cosh(y - q)))), p)
    assert_not_fd(seed_formula, fd)
    assert_matches_fd(losskit.LogCoshLoss().derivative(y, p), fd)
    with np.errstate(over="ignore"):
        assert np.isinf(np.log(np.cosh(800.0)))
    np.testing.assert_allclose(
        losskit.LogCoshLoss()(np.zeros(1), np.full(1, 800.0)), 800 - np.log(2)
    )


def test_erratum_float32_clip_gives_log_zero() -> None:
    """Seed code: ``np.clip(y_pred, 1e-15, 1 - 1e-15)`` before each log. In float32,
    1 - 1e-15 rounds to 1.0, so a confident wrong prediction still reaches log(1 - 1) = -inf
    in the BCE, weighted CE and focal code, and the BCE derivative divides by p (1 - p) = 0.
    (The seed's CCE only takes log(p), whose lower clip 1e-15 float32 can hold.)"""
    assert np.float32(1 - 1e-15) == np.float32(1.0)
    y = np.array([0.0, 1.0], dtype=np.float32)
    p = np.array([1.0, 1.0], dtype=np.float32)

    def seed_bce(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        return -np.mean(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred))

    def seed_bce_derivative(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        return (y_pred - y_true) / (y_pred * (1 - y_pred)) / y_true.size

    def seed_wce(y_true: np.ndarray, y_pred: np.ndarray, w: tuple[float, float]) -> np.ndarray:
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        weights = np.where(y_true == 1, w[1], w[0])
        terms = y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred)
        return np.mean(-weights * terms)

    seed_focal_compute, _ = seed_focal(alpha=1.0, gamma=2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        assert not np.isfinite(seed_bce(y, p))  # inf for the negative, 0 · -inf = NaN beside it
        assert not np.isfinite(seed_bce(y[:1], p[:1]))
        assert not np.all(np.isfinite(seed_bce_derivative(y, p)))
        assert not np.isfinite(seed_wce(y, p, (1.0, 5.0)))
        assert not np.isfinite(seed_focal_compute(y[:1], p[:1]))
    assert np.isfinite(seed_bce(y.astype(np.float64), p.astype(np.float64)))  # float64 is fine
    bce = losskit.BinaryCrossEntropy()
    assert bce(y, p) == np.float32(50.0)  # (100 + 0) / 2: the clamp at -100
    grad = bce.derivative(y, p)
    assert np.all(np.isfinite(grad))
    assert grad[0] > 0  # pushes the wrong prediction down
    assert losskit.WeightedCrossEntropy(class_weights=(1.0, 5.0))(y, p) == np.float32(50.0)
    assert losskit.FocalLoss(gamma=2.0)(y, p) == np.float32(50.0)


def seed_focal(alpha: float, gamma: float) -> tuple[Callable, Callable]:
    """The seed's ``FocalLoss.compute`` and ``FocalLoss.derivative``, verbatim."""

    def compute(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        p_t = np.where(y_true == 1, y_pred, 1 - y_pred)
        focal_weight = (1 - p_t) ** gamma
        loss = -alpha * focal_weight * np.log(p_t)
        return float(np.mean(loss))

    def derivative(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        p_t = np.where(y_true == 1, y_pred, 1 - y_pred)
        focal_weight = (1 - p_t) ** gamma
        derivative = (
            -alpha * focal_weight * (gamma * p_t * np.log(p_t) + p_t - 1) / (p_t * (1 - p_t))
        )
        return derivative / y_true.size

    return compute, derivative


def test_erratum_focal_derivative() -> None:
    """The seed's derivative is -∂l/∂p_t: right for negatives, wrong sign for positives."""
    compute, derivative = seed_focal(alpha=1.0, gamma=2.0)
    fd = fd_gradient(lambda p: compute(Y_IMB, p), P_IMB.astype(float))
    seed = derivative(Y_IMB, P_IMB)
    positive = Y_IMB == 1
    np.testing.assert_allclose(seed[~positive], fd[~positive], rtol=1e-6)
    np.testing.assert_allclose(seed[positive], -fd[positive], rtol=1e-6)
    loss = losskit.FocalLoss(gamma=2.0)
    assert_allclose_dtype(loss(Y_IMB, P_IMB), compute(Y_IMB, P_IMB), np.float64)
    assert_matches_fd(loss.derivative(Y_IMB, P_IMB), fd)


def test_erratum_focal_soft_labels() -> None:
    """Found while writing these tests: the seed's ``p_t = np.where(y_true == 1, p, 1 - p)``
    treats a soft label (0.9) as a negative; losskit's ``p_t = y p + (1 - y)(1 - p)``
    (torchvision's) moves continuously from the negative to the positive loss."""
    compute, _ = seed_focal(alpha=1.0, gamma=2.0)
    p = np.array([0.8])
    loss = losskit.FocalLoss(gamma=2.0)
    almost_positive = compute(np.array([0.999]), p)
    assert almost_positive == compute(np.array([0.0]), p)  # the seed: a negative
    assert almost_positive != pytest.approx(compute(np.array([1.0]), p), rel=0.5)
    ours = [float(loss(np.array([t]), p)) for t in (0.0, 0.999, 1.0)]
    assert ours[1] == pytest.approx(ours[2], rel=0.02)  # losskit: almost the positive loss
    assert ours[1] != pytest.approx(ours[0], rel=0.5)


def test_erratum_dice_derivative() -> None:
    """Seed code: ``-2 (U y - I) / (U + s)² / y.size``: the Dice loss is one ratio, not a mean,
    so dividing by the element count makes the derivative n times too small."""
    smooth = 1e-6
    y, p = Y_IMB.astype(float), P_IMB

    def seed_compute(q: np.ndarray) -> float:
        intersection = np.sum(y * q)
        union = np.sum(y) + np.sum(q)
        return float(1 - (2 * intersection + smooth) / (union + smooth))

    intersection, union = np.sum(y * p), np.sum(y) + np.sum(p)
    seed_derivative = -2 * (union * y - intersection) / (union + smooth) ** 2 / y.size
    fd = fd_gradient(seed_compute, p)
    assert_not_fd(seed_derivative, fd)
    np.testing.assert_allclose(seed_derivative * y.size, fd, rtol=1e-5)  # n times too small
    loss = losskit.DiceLoss(smooth=smooth)
    assert_allclose_dtype(loss(y, p), seed_compute(p), np.float64)
    assert_matches_fd(loss.derivative(y, p), fd)


def test_erratum_medical_boundary_term_negative() -> None:
    """Seed code: ``boundary = mean(|∇p| - |∇y|)``: a blurred edge makes it negative, so the
    loss rewards blurring; its CE ``-mean(y log(p + 1e-15))`` ignores the background.
    losskit's boundary term mean((Δ(p - y))²) is ≥ 0 and 0 where the edges agree."""
    y = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])  # a 1-d step
    blurred = np.array([0.05, 0.1, 0.3, 0.7, 0.9, 0.95])

    def seed_boundary(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(np.mean(np.abs(np.gradient(y_pred)) - np.abs(np.gradient(y_true))))

    def seed_ce(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(-np.mean(y_true * np.log(y_pred + 1e-15)))

    assert seed_boundary(y, blurred) < 0
    assert seed_ce(y, np.ones_like(y)) == pytest.approx(0.0, abs=1e-15)  # background costs 0

    def boundary(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        full = losskit.MedicalImagingLoss(boundary_weight=1.0)(y_true, y_pred)
        return float(full - losskit.MedicalImagingLoss(boundary_weight=0.0)(y_true, y_pred))

    assert boundary(y, blurred) > 0
    r = blurred - y
    np.testing.assert_allclose(boundary(y, blurred), np.mean(np.diff(r) ** 2), rtol=1e-14)
    assert boundary(np.ones(6), np.full(6, 0.8)) == 0.0  # no edge in either: no boundary cost
    rng = np.random.default_rng(0)
    for _ in range(20):
        q = rng.uniform(0.01, 0.99, size=(2, 5, 5))
        mask = (rng.uniform(size=(2, 5, 5)) < 0.5).astype(float)
        assert boundary(mask, q) >= 0
    assert losskit.MedicalImagingLoss()(y, np.ones_like(y)) > 10  # background errors cost


def test_erratum_contrastive_half() -> None:
    """Seed formula: ½ Σ yᵢdᵢ² + (1 - yᵢ) max(0, m - dᵢ)², the ½ on the similar term only.
    Hadsell et al. (2006): ½ (y d² + (1 - y) max(0, m - d)²) per pair."""
    y = np.array([1.0, 0.0, 0.0, 1.0])
    d = np.array([0.5, 0.2, 1.5, 2.0])
    m = 1.0
    seed_per_pair = 0.5 * y * d**2 + (1 - y) * np.maximum(0, m - d) ** 2
    hadsell = 0.5 * (y * d**2 + (1 - y) * np.maximum(0, m - d) ** 2)
    loss = losskit.ContrastiveLoss(margin=m, reduction="none")
    assert_allclose_dtype(loss(y, d), hadsell, np.float64)
    assert not np.allclose(loss(y, d), seed_per_pair)  # the dissimilar pair at d = 0.2
    fd = fd_gradient(
        lambda q: float(np.sum(0.5 * (y * q**2 + (1 - y) * np.maximum(0, m - q) ** 2))), d
    )
    assert_matches_fd(loss.derivative(y, d), fd)


def test_erratum_weighted_ce_soft_labels() -> None:
    """Seed code: ``weights = np.where(y_true == 1, w1, w0)`` gives a soft label (0.7) the
    negative weight on both terms. losskit weights each term by its class, so the loss is
    linear in the label, and equals the seed's for hard labels."""
    w = (1.0, 5.0)

    def seed_compute(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        weights = np.where(y_true == 1, w[1], w[0])
        return float(
            np.mean(-weights * (y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred)))
        )

    loss = losskit.WeightedCrossEntropy(class_weights=w)
    assert_allclose_dtype(loss(Y_IMB, P_IMB), seed_compute(Y_IMB, P_IMB), np.float64)
    p = np.array([0.6])
    hard = [seed_compute(np.array([t]), p) for t in (0.0, 1.0)]
    soft = 0.7
    mixture = (1 - soft) * hard[0] + soft * hard[1]  # the expected loss over the label
    assert_allclose_dtype(loss(np.array([soft]), p), mixture, np.float64)
    assert seed_compute(np.array([soft]), p) != pytest.approx(mixture, rel=0.1)
