"""losskit losses as LightGBM objectives and metrics, checked against LightGBM's own objectives.

Every comparison trains both boosters on the same data, rounds and parameters,
one thread. LightGBM starts its built-in objectives at the best constant
(``boost_from_average``) and a custom one at 0: the custom one gets
``init_score=initial_score(loss, y)``, which is the same constant.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from scipy.special import softmax

import losskit
from conftest import assert_allclose_dtype
from losskit.integrations import GBDTModel, initial_score

lgb = pytest.importorskip("lightgbm")
lkl = pytest.importorskip("losskit.integrations.lightgbm")
needs_sklearn = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None, reason="the scikit-learn API needs scikit-learn"
)

PARAMS = {"num_leaves": 8, "learning_rate": 0.3, "num_threads": 1, "verbose": -1}
ROUNDS = 8


def binary_data(rng: np.random.Generator, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] - X[:, 1] + rng.normal(size=n) > 0).astype(float)


def class_data(rng: np.random.Generator, n: int = 300, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, 4))
    return X, np.argmax(X[:, :k] + rng.normal(size=(n, k)), axis=1)


def train_both(
    builtin: str, obj: object, X: np.ndarray, y: np.ndarray, w: np.ndarray, init: object
) -> tuple[np.ndarray, np.ndarray]:
    """Raw scores of LightGBM's ``builtin`` objective and of ``obj`` started at ``init``."""
    extra = {"num_class": 3} if builtin == "multiclass" else {}
    ref = lgb.train({**PARAMS, **extra, "objective": builtin}, lgb.Dataset(X, y, weight=w), ROUNDS)
    shape = (len(y), 3) if extra else (len(y),)
    init_score = np.ascontiguousarray(np.broadcast_to(init, shape))
    data = lgb.Dataset(X, y, weight=w, init_score=init_score)
    mine = lgb.train({**PARAMS, **extra, "objective": obj}, data, ROUNDS)
    return ref.predict(X, raw_score=True), mine.predict(X, raw_score=True) + init_score


# ---- the objective is the loss's derivative ---------------------------------------


@pytest.mark.parametrize("hessian", ["exact", "clip", "constant"])
def test_objective_is_the_weighted_derivative(hessian: str, rng: np.random.Generator) -> None:
    n = 20
    X = rng.normal(size=(n, 2))
    labels = rng.integers(0, 3, n)
    w = rng.uniform(0.5, 2.0, n).astype(np.float32)  # as the Dataset stores them
    f = rng.normal(size=(n, 3))
    loss = losskit.CategoricalFocalLoss(gamma=2.0)  # probabilities: switched to logits
    obj = lkl.objective(loss, hessian=hessian)
    data = lgb.Dataset(X, labels, weight=w).construct()
    grad, hess = obj(f, data)
    on_logits = losskit.CategoricalFocalLoss(gamma=2.0, from_logits=True, reduction="none")
    y = np.eye(3)[labels]
    ww = w.astype(np.float64)[:, None]
    h = np.asarray(on_logits.hessian(y, f))
    expected = {"exact": h, "clip": np.maximum(h, 1e-6), "constant": np.ones_like(h)}[hessian]
    assert grad.shape == hess.shape == (n, 3)
    assert_allclose_dtype(grad, on_logits.derivative(y, f) * ww, np.float64)
    assert_allclose_dtype(hess, expected * ww, np.float64)
    # the scikit-learn calling convention (y_true, y_pred, weight) gives the same arrays
    grad_sk, hess_sk = obj(labels, f, w)
    np.testing.assert_array_equal(grad_sk, grad)
    np.testing.assert_array_equal(hess_sk, hess)


def test_unweighted_dataset(rng: np.random.Generator) -> None:
    X, y = binary_data(rng, 10)
    grad, hess = lkl.objective(losskit.BinaryCrossEntropy())(
        np.zeros(10), lgb.Dataset(X, y).construct()
    )
    np.testing.assert_array_equal(grad, 0.5 - y)
    np.testing.assert_array_equal(hess, np.full(10, 0.25))


# ---- LightGBM's own objectives reproduced ------------------------------------------


def test_bce_reproduces_binary(rng: np.random.Generator) -> None:
    X, y = binary_data(rng)
    w = rng.uniform(0.5, 2.0, len(y))
    bce = losskit.BinaryCrossEntropy()
    ref, mine = train_both("binary", lkl.objective(bce), X, y, w, initial_score(bce, y, w))
    # the init scores agree to L-BFGS's tolerance, the trees exactly
    np.testing.assert_allclose(mine, ref, rtol=0, atol=1e-8)


def test_half_mse_reproduces_regression(rng: np.random.Generator) -> None:
    """LightGBM's L2 gradient is f - y: the derivative of (f - y)²/2, i.e. 0.5 * MSE."""
    X, _ = binary_data(rng)
    y = 3.0 * X[:, 0] + rng.normal(size=len(X))
    w = rng.uniform(0.5, 2.0, len(y))
    half_mse = 0.5 * losskit.MeanSquaredError()
    ref, mine = train_both(
        "regression", lkl.objective(half_mse), X, y, w, initial_score(half_mse, y, w)
    )
    # LightGBM keeps gradients in float32; its own are rounded from other float64 operations
    assert_allclose_dtype(mine, ref, np.float32, k=2)


def test_huber_with_unit_hessian_reproduces_huber(rng: np.random.Generator) -> None:
    """LightGBM's huber objective uses the Hessian 1: losskit's default policy for Huber."""
    X, _ = binary_data(rng)
    y = X[:, 0] + rng.standard_cauchy(len(X))
    huber = losskit.HuberLoss(delta=1.5)
    obj = lkl.objective(huber)
    assert obj.hessian == "constant"
    ref = lgb.train({**PARAMS, "objective": "huber", "alpha": 1.5}, lgb.Dataset(X, y), ROUNDS)
    start = np.full(len(y), y.mean())  # LightGBM's huber starts at the mean, not at Huber's optimum
    mine = lgb.train({**PARAMS, "objective": obj}, lgb.Dataset(X, y, init_score=start), ROUNDS)
    np.testing.assert_allclose(
        mine.predict(X, raw_score=True) + start, ref.predict(X, raw_score=True), rtol=0, atol=1e-8
    )


def test_softmax_ce_reproduces_multiclass_with_its_hessian_factor(rng: np.random.Generator) -> None:
    """LightGBM's multiclass Hessian is C/(C-1) p(1-p): the exact diagonal times that factor."""
    X, y = class_data(rng)
    w = rng.uniform(0.5, 2.0, len(y))
    ce = losskit.SparseCategoricalCrossEntropy(from_logits=True)
    exact = lkl.objective(ce)

    def scaled(preds: np.ndarray, data: object) -> tuple[np.ndarray, np.ndarray]:
        grad, hess = exact(preds, data)
        return grad, hess * 3 / 2

    ref, mine = train_both("multiclass", scaled, X, y, w, initial_score(ce, y, w))
    # LightGBM's init is log(class frequency), losskit's the same up to a shift per row
    np.testing.assert_allclose(softmax(mine, axis=1), softmax(ref, axis=1), rtol=0, atol=1e-8)
    # with the exact Hessian the step is 3/2 times longer: a different model
    _, other = train_both("multiclass", exact, X, y, w, initial_score(ce, y, w))
    assert np.abs(softmax(other, axis=1) - softmax(ref, axis=1)).max() > 1e-3


@needs_sklearn
def test_sklearn_regressor_with_weights(rng: np.random.Generator) -> None:
    X, _ = binary_data(rng)
    y = 3.0 * X[:, 0] + rng.normal(size=len(X))
    w = rng.uniform(0.5, 2.0, len(y))
    kw = {"n_estimators": ROUNDS, "num_leaves": 8, "learning_rate": 0.3, "n_jobs": 1, "verbose": -1}
    ref = lgb.LGBMRegressor(**kw).fit(X, y, sample_weight=w)
    half_mse = 0.5 * losskit.MeanSquaredError()
    mine = lgb.LGBMRegressor(objective=lkl.objective(half_mse), **kw)
    start = np.full(len(y), initial_score(half_mse, y, w))
    mine.fit(
        X,
        y,
        sample_weight=w,
        init_score=start,
        eval_X=(X,),
        eval_y=(y,),
        eval_sample_weight=[w],
        eval_init_score=[start],
        eval_metric=lkl.metric(losskit.MeanSquaredError()),
    )
    assert_allclose_dtype(mine.predict(X) + start, ref.predict(X), np.float32, k=2)
    # the metric: the weighted mean squared error of the scores (init included)
    logged = mine.evals_result_["training"]["mse"][
        -1
    ]  # LightGBM's name for an eval set that is X, y
    f = mine.predict(X) + start
    y32, w32 = (
        v.astype(np.float32).astype(np.float64) for v in (y, w)
    )  # as the Dataset stores them
    assert logged == pytest.approx(float(losskit.MeanSquaredError()(y32, f, w32)), rel=1e-12)


@needs_sklearn
def test_sklearn_classifier_multiclass_raw_scores(rng: np.random.Generator) -> None:
    X, y = class_data(rng)
    ce = losskit.CategoricalCrossEntropy()  # one-hot targets from the labels LightGBM keeps
    model = lgb.LGBMClassifier(
        objective=lkl.objective(ce), n_estimators=ROUNDS, num_leaves=8, n_jobs=1, verbose=-1
    ).fit(X, y, eval_X=(X,), eval_y=(y,), eval_metric=lkl.metric(ce))
    scores = model.predict(X, raw_score=True)
    assert scores.shape == (len(y), 3)
    assert (np.argmax(scores, axis=1) == y).mean() > 0.6
    history = model.evals_result_["valid_0"]["categorical_cross_entropy"]
    assert history[-1] < history[0]
    assert history[-1] == pytest.approx(
        float(ce.replace(from_logits=True)(np.eye(3)[y], scores)), rel=1e-12
    )


def test_native_metric(rng: np.random.Generator) -> None:
    X, y = binary_data(rng, 50)
    w = rng.uniform(0.5, 2.0, 50).astype(np.float32)
    f = rng.normal(size=50)
    name, value, higher_better = lkl.metric(losskit.HingeLoss())(
        f, lgb.Dataset(X, y, weight=w).construct()
    )
    assert (name, higher_better) == ("hinge", False)
    assert value == pytest.approx(float(losskit.HingeLoss()(y, f, w.astype(np.float64))), rel=1e-12)


# ---- what the built-in objectives cannot do ----------------------------------------


def test_focal_objective_minimises_focal_loss(rng: np.random.Generator) -> None:
    X = rng.normal(size=(2000, 4))
    logits = 2.0 * X[:, 0] - 1.5 * X[:, 1] * X[:, 2] - 4.0
    y = (rng.random(2000) < 1.0 / (1.0 + np.exp(-logits))).astype(float)
    train, test = slice(0, 1000), slice(1000, None)
    params = {"num_leaves": 8, "learning_rate": 0.1, "num_threads": 1, "verbose": -1}
    focal = losskit.FocalLoss(gamma=2.0, from_logits=True)
    ref = lgb.train({**params, "objective": "binary"}, lgb.Dataset(X[train], y[train]), 50)
    start = initial_score(focal, y[train])
    data = lgb.Dataset(X[train], y[train], init_score=np.full(1000, start))
    mine = lgb.train({**params, "objective": lkl.objective(focal)}, data, 50)
    f_ref = ref.predict(X[test], raw_score=True)
    f_mine = mine.predict(X[test], raw_score=True) + start
    assert float(focal(y[test], f_mine)) < 0.7 * float(focal(y[test], f_ref))


# ---- GBDTModel on LightGBM -----------------------------------------------------------


def test_gbdt_model_protocol(rng: np.random.Generator) -> None:
    X, labels = class_data(rng, 200)
    loss = losskit.SparseCategoricalCrossEntropy()  # probabilities: the model returns them
    model = GBDTModel(loss, n_estimators=10, n_jobs=1).fit(X, labels)
    proba = model.decision_function(X)
    assert proba.shape == (200, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert len(model.history) == 11
    assert np.all(np.diff(model.history) < 0)
    # history[0] is the loss at the best constant: the class frequencies
    freq = np.bincount(labels, minlength=3) / 200
    assert model.history[0] == pytest.approx(float(loss(labels, np.tile(freq, (200, 1)))), rel=1e-9)
    assert model.history[-1] == pytest.approx(float(loss(labels, proba)), rel=1e-9)


def test_gbdt_model_errors() -> None:
    with pytest.raises(ValueError, match="library"):
        GBDTModel(losskit.MeanSquaredError(), library="catboost")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hessian"):
        GBDTModel(losskit.MeanSquaredError(), hessian="fisher")
    with pytest.raises(ValueError, match="3 inputs"):
        GBDTModel(losskit.TripletLoss())
    model = GBDTModel(losskit.MeanSquaredError())
    with pytest.raises(RuntimeError, match="not fitted"):
        model.decision_function(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="rows"):
        model.fit(np.zeros((3, 2)), np.zeros(4))


def test_gbdt_model_fits_tiny_data(rng: np.random.Generator) -> None:
    """40 rows: LightGBM's default 20 rows per leaf would leave no splittable feature."""
    X = rng.normal(size=(40, 3))
    y = 2.0 * X[:, 0] + 0.1 * rng.normal(size=40)
    model = GBDTModel(losskit.MeanSquaredError(), n_estimators=20).fit(X, y)
    assert model.history[-1] < 0.5 * model.history[0]  # the trees learn something
    assert model.decision_function(X).shape == (40,)
