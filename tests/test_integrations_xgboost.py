"""losskit losses as XGBoost objectives and metrics, checked against XGBoost's own objectives.

Every comparison trains both boosters on the same data, rounds and parameters,
one thread, from the same margin (``base_margin`` 0 or an equal ``base_score``).
XGBoost keeps margins in float32, so predictions agree to float32 rounding.
"""

from __future__ import annotations

import importlib.util
import pickle

import numpy as np
import pytest

import losskit
from conftest import assert_allclose_dtype
from losskit.integrations import GBDTModel

xgb = pytest.importorskip("xgboost")
lkx = pytest.importorskip("losskit.integrations.xgboost")
needs_sklearn = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None, reason="the scikit-learn API needs scikit-learn"
)

PARAMS = {"max_depth": 3, "eta": 0.3, "nthread": 1}
ROUNDS = 8


def binary_data(rng: np.random.Generator, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] - X[:, 1] + rng.normal(size=n) > 0).astype(float)
    return X, y


def class_data(rng: np.random.Generator, n: int = 300, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, 4))
    return X, np.argmax(X[:, :k] + rng.normal(size=(n, k)), axis=1)


def margins(booster: object, X: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return booster.predict(xgb.DMatrix(X, base_margin=np.zeros(shape)), output_margin=True)  # type: ignore[attr-defined]


def train_both(
    builtin: dict, ours: dict, obj: object, X: np.ndarray, y: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Margins of XGBoost with parameters ``builtin`` and with ``ours`` and objective ``obj``.

    Both start from the margin 0 (``base_margin``).
    """
    shape = (len(y), builtin["num_class"]) if "num_class" in builtin else (len(y),)

    def dtrain() -> object:
        return xgb.DMatrix(X, label=y, weight=w, base_margin=np.zeros(shape))

    ref = xgb.train({**PARAMS, **builtin}, dtrain(), ROUNDS)
    mine = xgb.train({**PARAMS, **ours}, dtrain(), ROUNDS, obj=obj)
    return margins(ref, X, shape), margins(mine, X, shape)


# ---- the objective is the loss's derivative -------------------------------------


@pytest.mark.parametrize(
    ("loss", "kind"),
    [
        (losskit.BinaryCrossEntropy(), "binary"),
        (losskit.FocalLoss(gamma=2.0, alpha=0.25), "binary"),
        (losskit.HuberLoss(delta=0.5), "regression"),
        (losskit.SparseCategoricalCrossEntropy(), "classes"),
        (losskit.CategoricalFocalLoss(gamma=1.0), "classes"),
    ],
    ids=lambda v: v if isinstance(v, str) else v.name,
)
@pytest.mark.parametrize("hessian", ["exact", "clip", "constant"])
def test_objective_is_the_weighted_derivative(
    loss: losskit.LossFunction, kind: str, hessian: str, rng: np.random.Generator
) -> None:
    n = 20
    X = rng.normal(size=(n, 2))
    w = rng.uniform(0.5, 2.0, n).astype(np.float32)  # as the DMatrix stores them
    if kind == "classes":
        labels = rng.integers(0, 3, n)
        f = rng.normal(size=(n, 3)).astype(np.float32)
    else:
        labels = rng.integers(0, 2, n) if kind == "binary" else rng.normal(size=n)
        labels = labels.astype(np.float32)  # as the DMatrix stores them
        f = rng.normal(size=n).astype(np.float32)
    obj = lkx.objective(loss, hessian=hessian)
    grad, hess = obj(f, xgb.DMatrix(X, label=labels, weight=w))
    # the loss on margins, "none": the derivatives of sum_i w_i l_i
    on_margins = loss.replace(
        reduction="none", **({"from_logits": True} if kind != "regression" else {})
    )
    y = labels if kind != "classes" or loss._labels else np.eye(3)[labels]
    f64 = f.astype(np.float64)
    expected_grad = on_margins.derivative(y, f64, w)
    h = np.asarray(on_margins.hessian(y, f64))
    ww = w.astype(np.float64) if f.ndim == 1 else w[:, None].astype(np.float64)
    expected_hess = {"exact": h, "clip": np.maximum(h, 1e-6), "constant": np.ones_like(h)}[
        hessian
    ] * ww
    assert grad.shape == hess.shape == f.shape
    assert_allclose_dtype(grad, expected_grad, np.float64)
    assert_allclose_dtype(hess, expected_hess, np.float64)
    # the scikit-learn calling convention gives the same arrays
    grad_sk, hess_sk = obj(labels.astype(np.float32), f, sample_weight=w)
    np.testing.assert_array_equal(grad_sk, grad)
    np.testing.assert_array_equal(hess_sk, hess)


def test_no_weights_in_either_api(rng: np.random.Generator) -> None:
    X, y = binary_data(rng, 10)
    obj = lkx.objective(losskit.BinaryCrossEntropy())
    f = np.zeros(10, dtype=np.float32)
    native = obj(f, xgb.DMatrix(X, label=y))
    sklearn = obj(y, f)
    np.testing.assert_array_equal(native[0], y * -0.5 + (1 - y) * 0.5)
    np.testing.assert_array_equal(native[1], np.full(10, 0.25))
    np.testing.assert_array_equal(sklearn[0], native[0])


# ---- XGBoost's own objectives reproduced ---------------------------------------


def test_bce_reproduces_binary_logistic(rng: np.random.Generator) -> None:
    X, y = binary_data(rng)
    w = rng.uniform(0.5, 2.0, len(y))
    obj = lkx.objective(losskit.BinaryCrossEntropy())  # from_logits is switched on
    ref, mine = train_both({"objective": "binary:logistic"}, {}, obj, X, y, w)
    assert_allclose_dtype(mine, ref, np.float32, k=16)


def test_half_mse_reproduces_squarederror(rng: np.random.Generator) -> None:
    """reg:squarederror's gradient is f - y: the derivative of (f - y)²/2, i.e. 0.5 * MSE."""
    X, _ = binary_data(rng)
    y = 3.0 * X[:, 0] + rng.normal(size=len(X))
    w = rng.uniform(0.5, 2.0, len(y))
    obj = lkx.objective(0.5 * losskit.MeanSquaredError())
    ref, mine = train_both({"objective": "reg:squarederror"}, {}, obj, X, y, w)
    assert_allclose_dtype(mine, ref, np.float32, k=16)
    # The plain MSE doubles gradient and Hessian: the Newton step -G/(H + lambda) changes
    # through lambda = 1 (and min_child_weight), which do not scale with the loss.
    plain = lkx.objective(losskit.MeanSquaredError())
    _, other = train_both({"objective": "reg:squarederror"}, {}, plain, X, y, w)
    assert np.abs(other - ref).max() > 0.1


@pytest.mark.parametrize(
    "loss",
    [losskit.SparseCategoricalCrossEntropy(), losskit.CategoricalCrossEntropy()],
    ids=["sparse", "one-hot"],
)
def test_softmax_ce_reproduces_softprob_at_half_step(
    loss: losskit.LossFunction, rng: np.random.Generator
) -> None:
    """multi:softprob's Hessian is 2p(1-p): the exact one, at half eta, lambda, min_child_weight."""
    X, y = class_data(rng)
    w = rng.uniform(0.5, 2.0, len(y))
    builtin = {"objective": "multi:softprob", "num_class": 3, "lambda": 1.0, "min_child_weight": 1}
    half = {"num_class": 3, "eta": PARAMS["eta"] / 2, "lambda": 0.5, "min_child_weight": 0.5}
    ref, mine = train_both(builtin, half, lkx.objective(loss), X, y, w)
    assert_allclose_dtype(mine, ref, np.float32, k=16)


@needs_sklearn
def test_sklearn_classifier_matches_builtin(rng: np.random.Generator) -> None:
    X, y = binary_data(rng)
    w = rng.uniform(0.5, 2.0, len(y))
    kw = {
        "n_estimators": ROUNDS,
        "max_depth": 3,
        "learning_rate": 0.3,
        "n_jobs": 1,
        "base_score": 0.5,
    }
    ref = xgb.XGBClassifier(**kw).fit(X, y, sample_weight=w)
    bce = losskit.BinaryCrossEntropy(from_logits=True)
    mine = xgb.XGBClassifier(objective=lkx.objective(bce), eval_metric=lkx.metric(bce), **kw)
    mine.fit(X, y, sample_weight=w, eval_set=[(X, y)], sample_weight_eval_set=[w], verbose=False)
    assert_allclose_dtype(mine.predict_proba(X), ref.predict_proba(X), np.float32, k=16)
    # the metric log holds the weighted mean loss on the margins, to XGBoost's 6 printed decimals
    logged = mine.evals_result()["validation_0"]["binary_cross_entropy"][-1]
    f = mine.predict(X, output_margin=True).astype(np.float64)
    assert logged == pytest.approx(float(bce(y, f, w)), abs=1e-6)


@needs_sklearn
def test_sklearn_multiclass_probabilities(rng: np.random.Generator) -> None:
    X, y = class_data(rng)
    model = xgb.XGBClassifier(
        objective=lkx.objective(losskit.SparseCategoricalCrossEntropy()),
        n_estimators=ROUNDS,
        max_depth=3,
        n_jobs=1,
    ).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (len(y), 3)
    f = model.predict(X, output_margin=True).astype(np.float64)
    assert_allclose_dtype(proba, np.exp(f) / np.exp(f).sum(1, keepdims=True), np.float32, k=16)
    assert (model.predict(X) == y).mean() > 0.6


def test_native_metric(rng: np.random.Generator) -> None:
    X, y = binary_data(rng, 50)
    w = rng.uniform(0.5, 2.0, 50)
    f = rng.normal(size=50).astype(np.float32)
    d = xgb.DMatrix(X, label=y, weight=w)
    name, value = lkx.metric(losskit.FocalLoss())(f, d)
    assert name == "focal"
    assert value == pytest.approx(
        float(losskit.FocalLoss(from_logits=True)(y, f.astype(np.float64), w))
    )
    # margin=False: the predictions are probabilities (a built-in objective's output)
    p = 1.0 / (1.0 + np.exp(-f.astype(np.float64)))
    name, value = lkx.metric(losskit.BinaryCrossEntropy(), margin=False, name="logloss")(p, d)
    assert name == "logloss"
    assert value == pytest.approx(float(losskit.BinaryCrossEntropy()(y, p, w)))
    with pytest.raises(ValueError, match="must lie in"):
        lkx.metric(losskit.BinaryCrossEntropy(), margin=False)(f * 10, d)


# ---- what the built-in objectives cannot do -------------------------------------


def test_focal_objective_minimises_focal_loss(rng: np.random.Generator) -> None:
    """On imbalanced data the focal objective reaches a focal loss that BCE training does not."""
    X = rng.normal(size=(2000, 4))
    logits = 2.0 * X[:, 0] - 1.5 * X[:, 1] * X[:, 2] - 4.0
    y = (rng.random(2000) < 1.0 / (1.0 + np.exp(-logits))).astype(float)
    train, test = slice(0, 1000), slice(1000, None)
    params = {"max_depth": 3, "eta": 0.1, "nthread": 1, "base_score": 0.0}
    focal = losskit.FocalLoss(gamma=2.0, from_logits=True)
    ref = xgb.train(
        {**params, "objective": "binary:logitraw"}, xgb.DMatrix(X[train], label=y[train]), 50
    )
    mine = xgb.train(params, xgb.DMatrix(X[train], label=y[train]), 50, obj=lkx.objective(focal))
    d = xgb.DMatrix(X[test])
    f_ref = ref.predict(d, output_margin=True).astype(np.float64)
    f_mine = mine.predict(d, output_margin=True).astype(np.float64)
    assert float(focal(y[test], f_mine)) < 0.7 * float(focal(y[test], f_ref))


def test_huber_objective_resists_outliers(rng: np.random.Generator) -> None:
    X = rng.uniform(-2.0, 2.0, size=(1200, 2))
    clean = np.sin(2.0 * X[:, 0]) + X[:, 1] ** 2
    y = clean + 0.1 * rng.normal(size=1200)
    outliers = rng.random(1200) < 0.15
    y[outliers] += rng.uniform(10.0, 30.0, outliers.sum())
    train, test = slice(0, 600), slice(600, None)
    params = {"max_depth": 4, "eta": 0.1, "nthread": 1}
    d = xgb.DMatrix(X[train], label=y[train])
    ref = xgb.train({**params, "objective": "reg:squarederror"}, d, 100)
    mine = xgb.train(params, d, 100, obj=lkx.objective(losskit.HuberLoss()))
    dt = xgb.DMatrix(X[test])
    err_ref = np.abs(ref.predict(dt) - clean[test]).mean()
    err_mine = np.abs(mine.predict(dt) - clean[test]).mean()
    assert err_mine < 0.25 * err_ref


# ---- GBDTModel on XGBoost -------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "target"),
    [
        (losskit.BinaryCrossEntropy(), "binary"),
        (losskit.MeanAbsoluteError(), "regression"),
        (losskit.SparseCategoricalCrossEntropy(from_logits=True), "labels"),
        (losskit.CategoricalCrossEntropy(), "rows"),
        (losskit.CategoricalFocalLoss(from_logits=True), "rows"),
    ],
    ids=lambda v: v if isinstance(v, str) else v.name,
)
def test_gbdt_model_protocol(
    loss: losskit.LossFunction, target: str, rng: np.random.Generator
) -> None:
    X, labels = class_data(rng, 200)
    y = {
        "binary": (labels == 0).astype(float),
        "regression": X[:, 0] + 0.1 * rng.normal(size=200),
        "labels": labels,
        "rows": np.eye(3)[labels],
    }[target]
    model = GBDTModel(loss, library="xgboost", n_estimators=10, n_jobs=1)
    assert model.fit(X, y) is model
    out = model.decision_function(X)
    assert out.shape == ((200,) if target in ("binary", "regression") else (200, 3))
    assert len(model.history) == 11
    assert model.history[-1] < model.history[0]
    # the history is the loss of the outputs, in the loss's own space
    assert model.history[-1] == pytest.approx(
        float(loss.replace(reduction="mean")(y, out)), rel=1e-6
    )
    if not loss.params.get("from_logits", True):  # losses on probabilities get probabilities
        assert np.all((out > 0) & (out < 1))


def test_gbdt_model_sample_weight(rng: np.random.Generator) -> None:
    """An integer weight is a repeated sample: the same model, the same history.

    (LightGBM bins repeated rows differently, so the check is XGBoost's.)
    """
    X, _ = binary_data(rng, 120)
    y = X[:, 0] + 0.1 * rng.normal(size=120)
    w = rng.integers(1, 3, 120)
    kw = {"library": "xgboost", "n_estimators": 5, "n_jobs": 1, "params": {"min_child_weight": 0}}
    loss = losskit.LogCoshLoss()
    weighted = GBDTModel(loss, **kw).fit(X, y, sample_weight=w)
    repeated = GBDTModel(loss, **kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.history, repeated.history, rtol=1e-12)
    np.testing.assert_allclose(
        weighted.decision_function(X), repeated.decision_function(X), rtol=0, atol=1e-12
    )


@needs_sklearn
def test_objective_and_metric_pickle(rng: np.random.Generator) -> None:
    """scikit-learn clones and pickles estimators, with their objective and metric."""
    huber = losskit.HuberLoss()
    model = xgb.XGBRegressor(
        objective=lkx.objective(huber), eval_metric=lkx.metric(huber), n_estimators=3, n_jobs=1
    )
    X, _ = binary_data(rng, 50)
    y = X[:, 0]
    model.fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    from sklearn.base import clone

    copy = clone(model).fit(X, y)
    np.testing.assert_array_equal(copy.predict(X), model.predict(X))
    assert repr(copy.objective) == "XGBoostObjective(HuberLoss(), hessian='constant')"
