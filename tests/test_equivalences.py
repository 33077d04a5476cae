"""Named identities between losses: each pair must agree in value, gradient and Hessian.

A loss that is a special case of another (focal with γ = 0 is cross-entropy, Tversky with
α = β = ½ is Dice, ...) is computed by different code; agreement to a few float64 eps
checks both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy.special import expit

import losskit
from conftest import assert_allclose_dtype
from losskit import LossFunction

REDUCTIONS = ("mean", "sum", "none")


def results(loss: LossFunction, *inputs: Any, **kw: Any) -> list[np.ndarray]:
    """Value, derivative and Hessian diagonal of ``loss`` on ``inputs``."""
    return [
        np.asarray(getattr(loss, m)(*inputs, **kw)) for m in ("compute", "derivative", "hessian")
    ]


def assert_same_loss(
    a: LossFunction, b: LossFunction, inputs_a: tuple, inputs_b: tuple | None = None, **kw: Any
) -> None:
    for x, y in zip(
        results(a, *inputs_a, **kw), results(b, *(inputs_b or inputs_a), **kw), strict=True
    ):
        assert_allclose_dtype(x, y, np.float64)


def binary(rng: np.random.Generator, n: int = 8, soft: bool = True) -> tuple:
    """Labels (soft or hard), probabilities and logits of one draw."""
    y = rng.uniform(size=n) if soft else (rng.uniform(size=n) < 0.5).astype(float)
    x = rng.normal(size=n) * 3.0
    return y, expit(x), x


def rows(rng: np.random.Generator, n: int = 5, c: int = 4) -> tuple:
    """Integer labels, their one-hot rows, soft target rows, logits and probability rows."""
    labels = rng.integers(0, c, size=n)
    onehot = (labels[:, None] == np.arange(c)).astype(float)
    soft = rng.dirichlet([1.0] * c, size=n)
    x = rng.normal(size=(n, c)) * 2.0
    p = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
    return labels, onehot, soft, x, p


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("from_logits", [False, True])
def test_focal_gamma_zero_is_alpha_weighted_bce(
    from_logits: bool, reduction: str, rng: np.random.Generator
) -> None:
    y, p, x = binary(rng)
    pred = x if from_logits else p
    focal = losskit.FocalLoss(gamma=0.0, from_logits=from_logits, reduction=reduction)
    bce = losskit.BinaryCrossEntropy(from_logits=from_logits, reduction=reduction)
    assert_same_loss(focal, bce, (y, pred))
    weighted = losskit.WeightedCrossEntropy(
        class_weights=(0.75, 0.25), from_logits=from_logits, reduction=reduction
    )
    assert_same_loss(focal.replace(alpha=0.25), weighted, (y, pred))


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_focal_over_bce_is_the_focal_factor(gamma: float, rng: np.random.Generator) -> None:
    """l_focal / l_bce = (1 - p_t)^γ element by element, with p_t = y p + (1 - y)(1 - p)."""
    y, p, x = binary(rng, soft=False)
    p_t = y * p + (1 - y) * (1 - p)
    for pred, logits in ((p, False), (x, True)):
        focal = losskit.FocalLoss(gamma=gamma, from_logits=logits, reduction="none")(y, pred)
        bce = losskit.BinaryCrossEntropy(from_logits=logits, reduction="none")(y, pred)
        assert_allclose_dtype(focal, (1 - p_t) ** gamma * bce, np.float64)


def test_focal_alpha_zero_and_one_drop_a_class(rng: np.random.Generator) -> None:
    y, _, x = binary(rng, soft=False)
    focal = losskit.FocalLoss(from_logits=True, reduction="none")
    assert_allclose_dtype(focal.replace(alpha=1.0)(y, x), y * focal(y, x), np.float64)
    assert_allclose_dtype(focal.replace(alpha=0.0)(y, x), (1 - y) * focal(y, x), np.float64)


@pytest.mark.parametrize("smooth", [0.0, 1e-6, 0.5])
@pytest.mark.parametrize(("per_sample", "per_class"), [(False, False), (True, False), (True, True)])
def test_overlap_identities(
    smooth: float, per_sample: bool, per_class: bool, rng: np.random.Generator
) -> None:
    """Tversky(½, ½, s) = Dice(2s); Jaccard(s) = Tversky(1, 1, s)."""
    y = (rng.uniform(size=(3, 4, 2)) < 0.4).astype(float)
    p = rng.uniform(0.02, 0.98, size=(3, 4, 2))
    opts = {"per_sample": per_sample, "per_class": per_class, "reduction": "sum"}
    tversky = losskit.TverskyLoss(alpha=0.5, beta=0.5, smooth=smooth, **opts)
    assert_same_loss(tversky, losskit.DiceLoss(smooth=2 * smooth, **opts), (y, p))
    jaccard = losskit.JaccardLoss(smooth=smooth, **opts)
    assert_same_loss(
        jaccard, losskit.TverskyLoss(alpha=1.0, beta=1.0, smooth=smooth, **opts), (y, p)
    )


def test_dice_is_its_formula(rng: np.random.Generator) -> None:
    y = (rng.uniform(size=20) < 0.4).astype(float)
    p = rng.uniform(size=20)
    s = 0.3
    dice = 1 - (2 * np.sum(y * p) + s) / (np.sum(y) + np.sum(p) + s)
    iou = 1 - (np.sum(y * p) + s) / (np.sum(y) + np.sum(p) - np.sum(y * p) + s)
    assert_allclose_dtype(losskit.DiceLoss(smooth=s)(y, p), dice, np.float64)
    assert_allclose_dtype(losskit.JaccardLoss(smooth=s)(y, p), iou, np.float64)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_is_two_class_softmax(reduction: str, rng: np.random.Generator) -> None:
    """BCE(x, y) = CCE(logits [0, x], [1 - y, y]) = SCCE([0, x], y) for hard y (sklearn)."""
    y, _, x = binary(rng, soft=False)
    bce = results(losskit.BinaryCrossEntropy(from_logits=True, reduction=reduction), y, x)
    logits = np.stack([np.zeros_like(x), x], axis=-1)
    onehot = np.stack([1 - y, y], axis=-1)
    for loss, target in (
        (losskit.CategoricalCrossEntropy(from_logits=True, reduction=reduction), onehot),
        (
            losskit.SparseCategoricalCrossEntropy(from_logits=True, reduction=reduction),
            y.astype(int),
        ),
    ):
        value, grad, hess = results(loss, target, logits)
        assert_allclose_dtype(value, bce[0], np.float64)
        assert_allclose_dtype(grad[..., 1], bce[1], np.float64)
        assert_allclose_dtype(grad[..., 0], -bce[1], np.float64)  # rows of the gradient sum to 0
        assert_allclose_dtype(hess[..., 1], bce[2], np.float64)
        assert_allclose_dtype(hess[..., 0], bce[2], np.float64)  # p (1 - p) is symmetric


@pytest.mark.parametrize("delta", [0.3, 1.0, 2.5])
def test_huber_over_delta_is_smooth_l1(delta: float, rng: np.random.Generator) -> None:
    y, p = rng.normal(size=12), rng.normal(size=12) * 3.0
    assert_same_loss(
        losskit.HuberLoss(delta=delta) / delta, losskit.SmoothL1Loss(beta=delta), (y, p)
    )


def test_median_quantile_is_half_mae(rng: np.random.Generator) -> None:
    y, p = rng.normal(size=12), rng.normal(size=12)
    assert_same_loss(losskit.QuantileLoss(quantile=0.5), 0.5 * losskit.MeanAbsoluteError(), (y, p))


@pytest.mark.parametrize(
    "make",
    [
        lambda logits: losskit.BinaryCrossEntropy(from_logits=logits, reduction="none"),
        lambda logits: losskit.BinaryCrossEntropy(
            from_logits=logits, pos_weight=3.0, reduction="none"
        ),
        lambda logits: losskit.FocalLoss(
            gamma=2.0, alpha=0.3, from_logits=logits, reduction="none"
        ),
        lambda logits: losskit.FocalLoss(gamma=0.5, from_logits=logits, reduction="none"),
        lambda logits: losskit.WeightedCrossEntropy(
            class_weights=(1.0, 5.0), from_logits=logits, reduction="none"
        ),
    ],
    ids=["bce", "bce-pos_weight", "focal", "focal-gamma<1", "weighted_ce"],
)
def test_logit_losses_are_the_probability_losses_of_sigmoid(
    make: Callable[[bool], LossFunction], rng: np.random.Generator
) -> None:
    """On logits x: l(σ(x)), l'(σ) σ' and l''(σ) σ'² + l'(σ) σ'' (chain rule), σ' = σ(1 - σ)."""
    y, p, x = binary(rng, n=12)
    on_probs, on_logits = make(False), make(True)
    value, grad_p, hess_p = results(on_probs, y, p)
    ds = p * (1 - p)
    d2s = ds * (1 - 2 * p)
    assert_same_loss_arrays(
        results(on_logits, y, x), [value, grad_p * ds, hess_p * ds**2 + grad_p * d2s], k=64
    )


def assert_same_loss_arrays(got: list[np.ndarray], want: list[np.ndarray], k: float = 8.0) -> None:
    for g, w in zip(got, want, strict=True):
        assert_allclose_dtype(g, w, np.float64, k=k)


@pytest.mark.parametrize("from_logits", [False, True])
def test_weighted_ce_with_unit_weights_is_bce(from_logits: bool, rng: np.random.Generator) -> None:
    y, p, x = binary(rng)
    pred = x if from_logits else p
    assert_same_loss(
        losskit.WeightedCrossEntropy(class_weights=(1.0, 1.0), from_logits=from_logits),
        losskit.BinaryCrossEntropy(from_logits=from_logits),
        (y, pred),
    )
    assert_same_loss(
        losskit.WeightedCrossEntropy(class_weights=(1.0, 4.0), from_logits=from_logits),
        losskit.BinaryCrossEntropy(pos_weight=4.0, from_logits=from_logits),
        (y, pred),
    )


def test_weighted_ce_on_hard_labels_is_bce_with_sample_weights(rng: np.random.Generator) -> None:
    y, p, _ = binary(rng, soft=False)
    w = np.where(y == 1, 5.0, 1.0)
    wce = losskit.WeightedCrossEntropy(class_weights=(1.0, 5.0), reduction="sum")
    for a, b in zip(
        results(wce, y, p),
        results(losskit.BinaryCrossEntropy(reduction="sum"), y, p, sample_weight=w),
        strict=True,
    ):
        assert_allclose_dtype(a, b, np.float64)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
@pytest.mark.parametrize("class_weight", [None, (1.0, 3.0, 0.5, 2.0)])
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_ce_is_ce_with_one_hot_targets(
    from_logits: bool, class_weight: Any, label_smoothing: float, rng: np.random.Generator
) -> None:
    """Same per-sample values and derivatives; "mean" divides by Σ w_y vs the row count."""
    labels, onehot, _, x, p = rows(rng)
    pred = x if from_logits else p
    opts = {
        "from_logits": from_logits,
        "class_weight": class_weight,
        "label_smoothing": label_smoothing,
    }
    for reduction in ("none", "sum"):
        assert_same_loss(
            losskit.SparseCategoricalCrossEntropy(reduction=reduction, **opts),
            losskit.CategoricalCrossEntropy(reduction=reduction, **opts),
            (labels, pred),
            (onehot, pred),
        )
    total = losskit.CategoricalCrossEntropy(reduction="sum", **opts)(onehot, pred)
    w_y = np.ones(len(labels)) if class_weight is None else np.asarray(class_weight)[labels]
    mean_sparse = losskit.SparseCategoricalCrossEntropy(**opts)(labels, pred)
    mean_dense = losskit.CategoricalCrossEntropy(**opts)(onehot, pred)
    assert_allclose_dtype(mean_sparse, total / w_y.sum(), np.float64)
    assert_allclose_dtype(mean_dense, total / len(labels), np.float64)


@pytest.mark.parametrize(
    "opts",
    [
        {},
        {"label_smoothing": 0.2},
        {"class_weight": (1.0, 3.0, 0.5, 2.0)},
        {"class_weight": (1.0, 3.0, 0.5, 2.0), "label_smoothing": 0.2},
        {"from_logits": False, "class_weight": (1.0, 3.0, 0.5, 2.0), "label_smoothing": 0.2},
    ],
    ids=repr,
)
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_ignore_index_is_the_batch_without_those_samples(
    opts: dict[str, Any], ignore_index: int, rng: np.random.Generator
) -> None:
    """Ignored samples add nothing to value, denominator or gradient (pytorch#73205)."""
    labels, _, _, x, p = rows(rng, n=8)
    labels[[1, 4, 5]] = ignore_index
    keep = labels != ignore_index
    opts = {"from_logits": True, **opts}
    pred = x if opts["from_logits"] else p
    for reduction in REDUCTIONS:
        loss = losskit.SparseCategoricalCrossEntropy(reduction=reduction, **opts)
        masked = results(loss.replace(ignore_index=ignore_index), labels, pred)
        kept = results(loss, labels[keep], pred[keep])
        assert_allclose_dtype(
            masked[0][keep] if reduction == "none" else masked[0], kept[0], np.float64
        )
        for full, part in zip(masked[1:], kept[1:], strict=True):
            assert_allclose_dtype(full[keep], part, np.float64)
            np.testing.assert_array_equal(full[~keep], 0.0)
        if reduction == "none":
            np.testing.assert_array_equal(masked[0][~keep], 0.0)


@pytest.mark.parametrize("from_logits", [False, True])
def test_kl_is_cross_entropy_minus_entropy(from_logits: bool, rng: np.random.Generator) -> None:
    _, _, soft, x, p = rows(rng)
    soft[0, 1] = 0.0  # 0 log 0 = 0
    soft[0] /= soft[0].sum()
    pred = x if from_logits else p
    kl = results(losskit.KLDivergence(from_logits=from_logits, reduction="none"), soft, pred)
    ce = results(
        losskit.CategoricalCrossEntropy(from_logits=from_logits, reduction="none"), soft, pred
    )
    entropy = -np.sum(np.where(soft > 0, soft * np.log(np.where(soft > 0, soft, 1.0)), 0.0), -1)
    assert_allclose_dtype(kl[0], ce[0] - entropy, np.float64)
    assert_allclose_dtype(kl[1], ce[1], np.float64)
    assert_allclose_dtype(kl[2], ce[2], np.float64)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("from_logits", [False, True])
def test_categorical_focal_gamma_zero_is_ce(
    from_logits: bool, label_smoothing: float, rng: np.random.Generator
) -> None:
    _, _, soft, x, p = rows(rng)
    pred = x if from_logits else p
    opts = {"from_logits": from_logits, "label_smoothing": label_smoothing}
    weights = (0.5, 2.0, 1.0, 3.0)
    assert_same_loss(
        losskit.CategoricalFocalLoss(gamma=0.0, alpha=weights, **opts),
        losskit.CategoricalCrossEntropy(class_weight=weights, **opts),
        (soft, pred),
    )
    assert_same_loss(
        losskit.CategoricalFocalLoss(gamma=0.0, alpha=0.25, **opts),
        0.25 * losskit.CategoricalCrossEntropy(**opts),
        (soft, pred),
    )


@pytest.mark.parametrize("from_logits", [False, True])
def test_label_smoothing_is_smoothing_the_targets(
    from_logits: bool, rng: np.random.Generator
) -> None:
    """BCE: y(1 - e) + e/2 (Keras); CCE: y(1 - e) + e/C."""
    e = 0.2
    y, p, x = binary(rng)
    pred = x if from_logits else p
    bce = losskit.BinaryCrossEntropy(from_logits=from_logits)
    assert_same_loss(bce.replace(label_smoothing=e), bce, (y, pred), (y * (1 - e) + e / 2, pred))
    _, _, soft, x2, p2 = rows(rng)
    pred2 = x2 if from_logits else p2
    cce = losskit.CategoricalCrossEntropy(from_logits=from_logits)
    c = soft.shape[-1]
    assert_same_loss(
        cce.replace(label_smoothing=e), cce, (soft, pred2), (soft * (1 - e) + e / c, pred2)
    )


# --------------------------------------------------------------------------
# loss algebra (SPEC §6)
# --------------------------------------------------------------------------


def seed_custom_regression_loss(alpha: float, y_true: np.ndarray, y_pred: np.ndarray) -> tuple:
    """The seed's ``CustomRegressionLoss`` (compute and derivative), copied from the tutorial."""
    mse = np.mean((y_true - y_pred) ** 2)
    mae = np.mean(np.abs(y_true - y_pred))
    mse_deriv = 2 * (y_pred - y_true) / y_true.size
    mae_deriv = np.sign(y_pred - y_true) / y_true.size
    return alpha * mse + (1 - alpha) * mae, alpha * mse_deriv + (1 - alpha) * mae_deriv


@pytest.mark.parametrize("alpha", [0.5, 0.2])
def test_loss_algebra_is_the_seeds_custom_regression_loss(
    alpha: float, rng: np.random.Generator
) -> None:
    y, p = rng.normal(size=10), rng.normal(size=10)
    mixed = alpha * losskit.MeanSquaredError() + (1 - alpha) * losskit.MeanAbsoluteError()
    assert isinstance(mixed, losskit.CompositeLoss)
    value, grad = seed_custom_regression_loss(alpha, y, p)
    assert_allclose_dtype(mixed(y, p), value, np.float64)
    assert_allclose_dtype(mixed.derivative(y, p), grad, np.float64)
    assert_allclose_dtype(mixed.hessian(y, p), np.full(10, 2 * alpha / 10), np.float64)


def test_composite_results_are_the_weighted_sums(rng: np.random.Generator) -> None:
    y, p, _ = binary(rng)
    bce, focal = losskit.BinaryCrossEntropy(), losskit.FocalLoss()
    w = rng.uniform(0.5, 2.0, size=y.shape)
    combos = {
        "sum": (bce + focal, [1.0, 1.0]),
        "difference": (bce - focal, [1.0, -1.0]),
        "scaled": (3.0 * bce + focal / 2, [3.0, 0.5]),
        "negated": (-bce, [-1.0, 0.0]),
        "python sum": (sum([bce, focal, bce]), [2.0, 1.0]),
    }
    parts = [results(bce, y, p, sample_weight=w), results(focal, y, p, sample_weight=w)]
    for loss, (c_bce, c_focal) in combos.values():
        want = [c_bce * a + c_focal * b for a, b in zip(*parts, strict=True)]
        assert_same_loss_arrays(results(loss, y, p, sample_weight=w), want)
    nested = 2.0 * (bce + 0.5 * focal)
    assert nested.terms == ((2.0, bce), (1.0, focal))  # flattened, not nested


def test_composite_reduction_and_errors(rng: np.random.Generator) -> None:
    mixed = 0.5 * losskit.MeanSquaredError() + 0.5 * losskit.MeanAbsoluteError()
    y, p = rng.normal(size=6), rng.normal(size=6)
    per_sample = mixed.replace(reduction="none")
    assert per_sample.reduction == "none"
    assert np.shape(per_sample(y, p)) == (6,)
    assert_allclose_dtype(np.mean(per_sample(y, p)), mixed(y, p), np.float64)
    with pytest.raises(ValueError, match="share one reduction"):
        losskit.MeanSquaredError() + losskit.MeanAbsoluteError(reduction="sum")
    with pytest.raises(ValueError, match="same inputs"):
        losskit.MeanSquaredError() + losskit.TripletLoss()
    with pytest.raises(TypeError):
        losskit.MeanSquaredError() * "2"  # type: ignore[operator]
    with pytest.raises(TypeError):
        losskit.MeanSquaredError() / 0
    with pytest.raises(ValueError, match="factor"):
        losskit.MeanSquaredError() * float("nan")
