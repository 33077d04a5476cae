"""The library-independent part of ``losskit.integrations``: margins, targets, Hessian policy.

The XGBoost and LightGBM adapters are tested against the libraries in
``test_integrations_xgboost.py`` and ``test_integrations_lightgbm.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logit, softmax

import losskit
from conftest import assert_allclose_dtype
from losskit.integrations import HESSIAN_FLOOR, default_hessian, initial_score, margin_loss
from losskit.integrations._common import gradient_hessian, targets

#: The default Hessian policy of every registered loss (the rule of the module docstring).
DEFAULT_POLICY = {
    "mse": "exact",
    "mae": "constant",
    "huber": "constant",
    "smooth_l1": "constant",
    "log_cosh": "exact",
    "quantile": "constant",
    "poisson": "exact",
    "binary_cross_entropy": "exact",
    "categorical_cross_entropy": "exact",
    "sparse_categorical_cross_entropy": "exact",
    "hinge": "constant",
    "squared_hinge": "constant",
    "multiclass_hinge": "constant",
    "focal": "clip",
    "categorical_focal": "clip",
    "weighted_cross_entropy": "exact",
    "dice": "clip",
    "jaccard": "clip",
    "tversky": "clip",
    "medical_imaging": "exact",
    "kl_divergence": "exact",
    "contrastive": "constant",
    "triplet": "constant",
}


def test_the_policy_table_covers_the_registry() -> None:
    assert set(DEFAULT_POLICY) == set(losskit.names())


@pytest.mark.parametrize("name", sorted(DEFAULT_POLICY))
def test_default_hessian_follows_the_registry(name: str) -> None:
    assert default_hessian(losskit.get(name)) == DEFAULT_POLICY[name]


#: Losses with an "exact" default that take margins (segmentation losses take probabilities).
EXACT_DEFAULT = [
    name
    for name, policy in DEFAULT_POLICY.items()
    if policy == "exact" and losskit.info(name).task != "segmentation"
]


@pytest.mark.parametrize("name", EXACT_DEFAULT)
def test_an_exact_default_has_a_positive_hessian(name: str, rng: np.random.Generator) -> None:
    """Where the default is "exact", the Hessian on margins is positive on sampled inputs."""
    loss = margin_loss(losskit.get(name), "none")
    y, f = loss._sample(rng, (6, 3) if isinstance(loss, losskit.RowwiseLoss) else (12,))
    assert np.all(np.asarray(loss.hessian(y, f)) > 0)


def test_focal_needs_clipping() -> None:
    """Focal loss has a negative Hessian for confidently wrong samples: the reason for "clip"."""
    focal = losskit.FocalLoss(gamma=2.0, from_logits=True, reduction="none")
    x = np.array([-5.0, 5.0])
    assert np.all(focal.hessian(np.array([1.0, 0.0]), x) < 0)
    grad, hess = gradient_hessian(focal, np.array([1.0, 0.0]), x, None, "clip")
    assert_allclose_dtype(grad, focal.derivative(np.array([1.0, 0.0]), x), np.float64)
    np.testing.assert_array_equal(hess, [HESSIAN_FLOOR, HESSIAN_FLOOR])


def test_composites_and_user_losses_default_to_clip() -> None:
    mse, mae = losskit.MeanSquaredError(), losskit.MeanAbsoluteError()
    assert default_hessian(0.5 * mse) == "exact"
    assert default_hessian(mae + losskit.HuberLoss()) == "constant"
    assert default_hessian(0.5 * mse + 0.5 * mae) == "clip"

    class Cubic(losskit.ElementwiseLoss):
        def per_sample(self, y_true, y_pred):
            return abs(y_pred - y_true) ** 3

        def per_sample_derivative(self, y_true, y_pred):
            return 3 * (y_pred - y_true) * abs(y_pred - y_true)

    assert default_hessian(Cubic()) == "clip"
    with pytest.raises(NotImplementedError, match="hessian='constant'"):
        gradient_hessian(Cubic(reduction="none"), np.zeros(3), np.ones(3), None, "clip")
    grad, hess = gradient_hessian(
        Cubic(reduction="none"), np.zeros(3), np.ones(3), None, "constant"
    )
    np.testing.assert_array_equal(grad, [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(hess, [1.0, 1.0, 1.0])


@pytest.mark.parametrize("policy", ["exact", "clip", "constant"])
def test_weights_multiply_gradient_and_hessian(policy: str, rng: np.random.Generator) -> None:
    loss = losskit.SparseCategoricalCrossEntropy(from_logits=True, reduction="none")
    y, f = loss._sample(rng, (5, 3))
    w = rng.uniform(0.5, 2.0, 5)
    g1, h1 = gradient_hessian(loss, y, f, None, policy)
    gw, hw = gradient_hessian(loss, y, f, w, policy)
    assert_allclose_dtype(gw, g1 * w[:, None], np.float64)
    assert_allclose_dtype(hw, h1 * w[:, None], np.float64)
    # the gradient is that of the weighted sum, not divided by n
    assert_allclose_dtype(gw, loss.derivative(y, f, w), np.float64)


def test_margin_loss_switches_to_logits() -> None:
    bce = margin_loss(losskit.BinaryCrossEntropy(), "none")
    assert bce == losskit.BinaryCrossEntropy(from_logits=True, reduction="none")
    both = margin_loss(0.5 * losskit.FocalLoss() + losskit.BinaryCrossEntropy(), "mean")
    assert all(term.params["from_logits"] for _, term in both.terms)
    assert margin_loss(losskit.PoissonLoss(log_input=False), "none").params["log_input"] is False
    with pytest.raises(ValueError, match="3 inputs"):
        margin_loss(losskit.TripletLoss(), "none")
    with pytest.raises(TypeError, match="LossFunction"):
        margin_loss("mse", "none")  # type: ignore[arg-type]


def test_targets_follow_the_loss() -> None:
    margins = np.zeros((3, 3))
    labels = np.array([2.0, 0.0, 1.0], dtype=np.float32)
    sparse = losskit.SparseCategoricalCrossEntropy(from_logits=True)
    np.testing.assert_array_equal(targets(sparse, labels, margins), [2, 0, 1])
    assert targets(sparse, labels, margins).dtype.kind == "i"
    onehot = targets(losskit.CategoricalCrossEntropy(), labels, margins)
    np.testing.assert_array_equal(onehot, np.eye(3)[[2, 0, 1]])
    rows = np.full((3, 3), 1 / 3)
    np.testing.assert_array_equal(targets(losskit.KLDivergence(), rows.ravel(), margins), rows)
    with pytest.raises(ValueError, match="whole numbers"):
        targets(sparse, np.array([0.5, 1.0, 2.0]), margins)
    with pytest.raises(ValueError, match=r"lie in \[0, 3\)"):
        targets(losskit.CategoricalCrossEntropy(), np.array([0.0, 3.0, 1.0]), margins)
    with pytest.raises(ValueError, match="do not fit"):
        targets(losskit.MeanSquaredError(), np.zeros(4), np.zeros(3))


def test_initial_score_is_the_best_constant(rng: np.random.Generator) -> None:
    y = (rng.random(50) < 0.3).astype(float)
    w = rng.uniform(0.5, 2.0, 50)
    p = np.average(y, weights=w)
    assert initial_score(losskit.BinaryCrossEntropy(), y, w) == pytest.approx(logit(p), abs=1e-8)
    assert initial_score(losskit.FocalLoss(gamma=0.0), y, w) == pytest.approx(logit(p), abs=1e-8)
    r = rng.normal(3.0, 2.0, 50)
    assert initial_score(losskit.MeanSquaredError(), r, w) == pytest.approx(
        np.average(r, weights=w), abs=1e-8
    )
    counts = rng.integers(0, 20, 50)
    assert initial_score(losskit.PoissonLoss(), counts) == pytest.approx(
        np.log(counts.mean()), abs=1e-8
    )
    labels = rng.integers(0, 4, 60)
    c = initial_score(losskit.SparseCategoricalCrossEntropy(), labels)
    assert isinstance(c, np.ndarray)
    np.testing.assert_allclose(softmax(c), np.bincount(labels, minlength=4) / 60, atol=1e-7)
    c = initial_score(losskit.SparseCategoricalCrossEntropy(), np.zeros(5, dtype=int), n_classes=3)
    assert c.shape == (3,)


def test_initial_score_of_mae_is_a_median(rng: np.random.Generator) -> None:
    y = rng.standard_cauchy(41)
    c = initial_score(losskit.MeanAbsoluteError(), y)
    best = float(losskit.MeanAbsoluteError()(y, np.full(41, np.median(y))))
    assert float(losskit.MeanAbsoluteError()(y, np.full(41, c))) <= best + 1e-6


def test_initial_score_needs_samples() -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        initial_score(losskit.MeanSquaredError(), np.zeros(0))
