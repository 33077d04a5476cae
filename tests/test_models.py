"""Models trained through a loss's own derivatives: gradients, optima, protocol, errors."""

from __future__ import annotations

import numpy as np
import pytest

import losskit
from losskit.models import LinearModel, MLPModel, output_width

EPS = np.finfo(np.float64).eps


def _regression(n: int = 60, d: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ np.arange(1.0, d + 1) + 0.5 + 0.1 * rng.normal(size=n)


def _classes(n: int = 90, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    X = rng.normal(size=(n, 4)) + 1.5 * np.eye(k, 4)[y]
    return X, y


def _fd_gradient(model, X, y, w=None, h=1e-6):
    """Central differences of the model's objective at its fitted parameters, per layer."""
    Z = (X - model._mean) / model._scale
    out = []
    for layer in model.layers_:
        grads = []
        for p in layer:
            g = np.zeros_like(p)
            for i in np.ndindex(p.shape):
                old = p[i]
                p[i] = old + h
                up = model._value(model.layers_, Z, y, w)
                p[i] = old - h
                down = model._value(model.layers_, Z, y, w)
                p[i] = old
                g[i] = (up - down) / (2 * h)
            grads.append(g)
        out.append(grads)
    return out


CASES = [
    ("mse", {}, "regression"),
    ("huber", {"delta": 0.5}, "regression"),
    ("binary_cross_entropy", {"from_logits": True}, "binary"),
    ("binary_cross_entropy", {}, "binary"),  # probabilities: through the sigmoid link
    ("focal", {"from_logits": True}, "binary"),
    ("sparse_categorical_cross_entropy", {"from_logits": True}, "labels"),
    ("categorical_cross_entropy", {}, "onehot"),  # probabilities: through the softmax link
    ("categorical_focal", {"from_logits": True}, "onehot"),
]


def _data(kind: str) -> tuple[np.ndarray, np.ndarray]:
    if kind == "regression":
        return _regression(20)
    X, y = _classes(24)
    if kind == "binary":
        return X, (y == 1).astype(float)
    if kind == "onehot":
        return X, np.eye(3)[y]
    return X, y


@pytest.mark.parametrize(("name", "params", "kind"), CASES)
@pytest.mark.parametrize("hidden", [None, "tanh", "relu"])
def test_backpropagated_gradient_matches_finite_differences(name, params, kind, hidden):
    X, y = _data(kind)
    loss = losskit.get(name, **params)
    w = np.random.default_rng(1).uniform(0.5, 2.0, size=len(X))
    if hidden is None:
        model = LinearModel(loss, alpha=0.1, max_iter=3)
    else:
        model = MLPModel(loss, hidden=4, activation=hidden, alpha=0.1, max_iter=2, batch_size=8)
    model.fit(X, y, sample_weight=w)
    Z = (X - model._mean) / model._scale
    _, analytic = model._value_and_grad(model.layers_, Z, y, w)
    numeric = _fd_gradient(model, X, y, w)
    for (gw, gb), (nw, nb) in zip(analytic, numeric, strict=True):
        np.testing.assert_allclose(gw, nw, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(gb, nb, rtol=1e-5, atol=1e-7)


def test_linear_mse_recovers_the_least_squares_solution():
    X, y = _regression()
    model = LinearModel(losskit.MeanSquaredError(), alpha=0.0, tol=1e-10).fit(X, y)
    A = np.column_stack([X, np.ones(len(X))])
    expected = A @ np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(model.decision_function(X), expected, rtol=0, atol=1e-6)
    assert model.converged_


def test_lbfgs_history_starts_at_the_initial_objective_and_decreases():
    X, y = _regression()
    model = LinearModel(losskit.MeanSquaredError(), alpha=0.0).fit(X, y)
    assert model.history[0] == pytest.approx(np.mean(y**2), rel=1e-12)  # zero weights
    assert len(model.history) == model.n_iter_ + 1
    steps = np.diff(model.history)
    assert np.all(steps <= 1e3 * EPS * model.history[0])
    assert model.history[-1] < 0.05 * model.history[0]


def test_sample_weight_equals_repeating_rows():
    X, y = _regression(30)
    loss = losskit.HuberLoss(delta=0.3)
    w = np.ones(len(X))
    w[:10] = 2.0
    options = {"alpha": 1e-2, "tol": 1e-10, "standardize": False}  # standardising sees rows
    weighted = LinearModel(loss, **options).fit(X, y, sample_weight=w)
    repeated = LinearModel(loss, **options).fit(np.vstack([X, X[:10]]), np.concatenate([y, y[:10]]))
    np.testing.assert_allclose(
        weighted.decision_function(X), repeated.decision_function(X), rtol=0, atol=1e-5
    )


def test_robust_losses_resist_outliers_that_move_mse():
    X, y = _regression(200, seed=3)
    clean = y.copy()
    y = y.copy()
    y[:20] += 30.0  # one-sided gross errors on 10 % of the rows
    errors = {}
    for name in ("mse", "mae", "huber"):
        model = LinearModel(losskit.get(name), alpha=0.0).fit(X, y)
        errors[name] = np.mean(np.abs(model.decision_function(X[20:]) - clean[20:]))
    assert errors["mae"] < errors["mse"] / 5
    assert errors["huber"] < errors["mse"] / 5


def test_probability_losses_reach_the_logit_losses_optimum():
    X, y = _classes(60)
    binary = (y == 1).astype(float)
    logits = LinearModel(losskit.BinaryCrossEntropy(from_logits=True), tol=1e-9).fit(X, binary)
    probs = LinearModel(losskit.BinaryCrossEntropy(), tol=1e-9).fit(X, binary)
    p = probs.decision_function(X)
    assert np.all((p > 0) & (p < 1))
    np.testing.assert_allclose(p, losskit.numerics.sigmoid(logits.decision_function(X)), atol=1e-5)
    onehot = np.eye(3)[y]
    rows = LinearModel(losskit.CategoricalCrossEntropy(), tol=1e-9).fit(X, onehot)
    sparse = LinearModel(losskit.SparseCategoricalCrossEntropy(from_logits=True), tol=1e-9).fit(
        X, y
    )
    np.testing.assert_allclose(rows.decision_function(X).sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(
        rows.decision_function(X),
        losskit.numerics.softmax(sparse.decision_function(X)),
        atol=1e-5,
    )


def test_output_shapes_follow_the_loss():
    X, y = _classes(30)
    sparse = losskit.SparseCategoricalCrossEntropy(from_logits=True)
    assert LinearModel(sparse, max_iter=5).fit(X, y).decision_function(X).shape == (30, 3)
    wide = LinearModel(sparse, n_classes=5, max_iter=5).fit(X, y)
    assert wide.decision_function(X[:4]).shape == (4, 5)
    hinge = LinearModel(losskit.HingeLoss(), max_iter=5).fit(X, 2.0 * (y == 0) - 1.0)
    assert hinge.decision_function(X).shape == (30,)
    mix = 0.5 * losskit.MeanSquaredError() + 0.5 * losskit.MeanAbsoluteError()
    assert output_width(mix, np.zeros(3)) is None


def test_separable_classes_are_learned():
    X, y = _classes(90)
    X[:, :3] += 2.0 * np.eye(3)[y]  # well apart
    model = LinearModel(losskit.MulticlassHingeLoss(), max_iter=200).fit(X, y)
    assert np.mean(model.decision_function(X).argmax(axis=1) == y) > 0.9
    mlp = MLPModel(losskit.SparseCategoricalCrossEntropy(from_logits=True), max_iter=50)
    assert np.mean(mlp.fit(X, y).decision_function(X).argmax(axis=1) == y) > 0.9


def test_mlp_is_reproducible_and_seeded():
    X, y = _regression(50)
    loss = losskit.LogCoshLoss()
    a = MLPModel(loss, max_iter=5, seed=1).fit(X, y).decision_function(X)
    b = MLPModel(loss, max_iter=5, seed=1).fit(X, y).decision_function(X)
    c = MLPModel(loss, max_iter=5, seed=2).fit(X, y).decision_function(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_mlp_early_stopping_keeps_the_best_epoch():
    X, y = _regression(80)
    model = MLPModel(losskit.MeanSquaredError(), max_iter=400, learning_rate=0.05).fit(X, y)
    assert model.converged_
    assert model.n_iter_ < 400
    assert len(model.history) == model.n_iter_ + 1
    lbfgs = MLPModel(losskit.MeanSquaredError(), solver="lbfgs", max_iter=100).fit(X, y)
    assert lbfgs.history[-1] < 0.05 * lbfgs.history[0]


def test_without_standardisation():
    X, y = _regression()
    model = LinearModel(losskit.MeanSquaredError(), alpha=0.0, standardize=False).fit(X, y)
    assert np.mean(np.abs(model.decision_function(X) - y)) < 0.2


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"alpha": -1.0}, "alpha"),
        ({"max_iter": 0}, "max_iter"),
        ({"link": "tanh"}, "link"),
        ({"n_classes": 0}, "n_classes"),
    ],
)
def test_bad_options_name_the_parameter(options, match):
    with pytest.raises(ValueError, match=match):
        LinearModel(losskit.MeanSquaredError(), **options)


def test_bad_inputs():
    mse = losskit.MeanSquaredError()
    with pytest.raises(TypeError, match="LossFunction"):
        LinearModel("mse")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2-d"):
        LinearModel(mse).fit(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="rows"):
        LinearModel(mse).fit(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="1-d targets"):
        LinearModel(mse).fit(np.zeros((5, 2)), np.zeros((5, 2)))
    with pytest.raises(RuntimeError, match="not fitted"):
        LinearModel(mse).decision_function(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="integer class labels"):
        LinearModel(losskit.SparseCategoricalCrossEntropy()).fit(np.zeros((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match="activation"):
        MLPModel(mse, activation="sigmoid")  # type: ignore[arg-type]
