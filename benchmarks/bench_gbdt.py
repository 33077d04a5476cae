"""Gradient boosting with losskit objectives against the libraries' built-in objectives.

Three synthetic problems where the loss matters, each boosted with XGBoost and LightGBM
(same data, rounds, depth and learning rate, one thread):

* regression with 15% gross outliers (targets shifted up by 10 to 30): squared error,
  the library's robust objective (XGBoost ``reg:pseudohubererror``, LightGBM ``huber``),
  and losskit's Huber and MAE; scored by the mean absolute error to the clean function;
* imbalanced binary classification (about 5% positives): log loss, and losskit's
  cross-entropy and focal loss; scored by average precision, ROC AUC, log loss and the
  focal loss of the held-out scores;
* 4-class classification: softmax log loss, and losskit's cross-entropy and categorical
  focal loss; scored by accuracy and log loss.

Fit times include the Python objective (a call per round) and, for losskit, the loss
value of every round (``GBDTModel.history``), after a warm-up fit per library. Timings on
a shared machine are noisy.

    python benchmarks/bench_gbdt.py
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np
import xgboost as xgb
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

import losskit
from losskit.integrations import GBDTModel

ROUNDS, DEPTH, RATE = 200, 4, 0.1
Row = tuple[str, str, str, float]  # problem, objective, held-out score, fit seconds


def regression(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = rng.uniform(-2.0, 2.0, size=(n, 5))
    clean = np.sin(2.0 * X[:, 0]) + X[:, 1] ** 2 - X[:, 2] * X[:, 3]
    y = clean + 0.2 * rng.normal(size=n)
    outliers = rng.random(n) < 0.15
    y[outliers] += rng.uniform(10.0, 30.0, outliers.sum())
    return X, y, clean


def imbalanced(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, 6))
    logits = 2.0 * X[:, 0] - 1.5 * X[:, 1] * X[:, 2] + X[:, 3] - 4.5
    return X, (rng.random(n) < 1.0 / (1.0 + np.exp(-logits))).astype(float)


def multiclass(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, 6))
    scores = np.stack([X[:, 0], X[:, 1] * X[:, 2], -X[:, 0] + X[:, 3], 0.5 * X[:, 4]], axis=1)
    return X, np.argmax(scores + rng.gumbel(size=scores.shape), axis=1)


def builtin(library: str, objective: str, X: np.ndarray, y: np.ndarray, **extra: Any) -> Any:
    """A booster with the library's own objective; returns ``predict(X) -> raw margins``."""
    if library == "xgboost":
        params = {"objective": objective, "max_depth": DEPTH, "eta": RATE, "nthread": 1, **extra}
        booster = xgb.train(params, xgb.DMatrix(X, label=y), ROUNDS)
        return lambda Z: booster.predict(xgb.DMatrix(Z), output_margin=True)
    params = {
        "objective": objective,
        "max_depth": DEPTH,
        "learning_rate": RATE,
        "num_threads": 1,
        "verbose": -1,
        **extra,
    }
    booster = lgb.train(params, lgb.Dataset(X, label=y), ROUNDS)
    return lambda Z: booster.predict(Z, raw_score=True)


def ours(library: str, loss: losskit.LossFunction, X: np.ndarray, y: Any, **kw: Any) -> Any:
    model = GBDTModel(
        loss,
        library=library,
        n_estimators=ROUNDS,
        max_depth=DEPTH,
        learning_rate=RATE,
        n_jobs=1,
        **kw,
    ).fit(X, y)
    return model.decision_function  # margins: every loss here takes logits


def timed(fit: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    predict = fit()
    return predict, time.perf_counter() - start


def run_regression(rng: np.random.Generator, library: str) -> list[Row]:
    X, y, _ = regression(rng, 5000)
    Xt, _, clean = regression(rng, 5000)
    robust = (
        ("reg:pseudohubererror", {"huber_slope": 1.0})
        if library == "xgboost"
        else ("huber", {"alpha": 1.0})
    )
    fits = {
        "built-in squared error": lambda: builtin(
            library, "reg:squarederror" if library == "xgboost" else "regression", X, y
        ),
        f"built-in {robust[0]}": lambda: builtin(library, robust[0], X, y, **robust[1]),
        "losskit huber (hessian=constant)": lambda: ours(library, losskit.HuberLoss(), X, y),
        "losskit huber (hessian=exact)": lambda: ours(
            library, losskit.HuberLoss(), X, y, hessian="exact"
        ),
        "losskit mae": lambda: ours(library, losskit.MeanAbsoluteError(), X, y),
    }
    rows = []
    for name, fit in fits.items():
        predict, seconds = timed(fit)
        error = np.abs(predict(Xt) - clean).mean()
        rows.append(("regression, 15% outliers", name, f"MAE to clean f: {error:.3f}", seconds))
    return rows


def run_imbalanced(rng: np.random.Generator, library: str) -> list[Row]:
    X, y = imbalanced(rng, 10000)
    Xt, yt = imbalanced(rng, 10000)
    focal = losskit.FocalLoss(gamma=2.0, from_logits=True)
    fits = {
        "built-in log loss": lambda: builtin(
            library, "binary:logistic" if library == "xgboost" else "binary", X, y
        ),
        "losskit binary_cross_entropy": lambda: ours(
            library, losskit.BinaryCrossEntropy(from_logits=True), X, y
        ),
        "losskit focal (gamma=2)": lambda: ours(library, focal, X, y),
    }
    rows = []
    for name, fit in fits.items():
        predict, seconds = timed(fit)
        f = np.asarray(predict(Xt), dtype=np.float64)
        p = 1.0 / (1.0 + np.exp(-f))
        score = (
            f"AP {average_precision_score(yt, f):.3f}, AUC {roc_auc_score(yt, f):.3f}, "
            f"log loss {log_loss(yt, p):.4f}, focal {float(focal(yt, f)):.4f}"
        )
        rows.append((f"imbalanced binary ({y.mean():.1%} positives)", name, score, seconds))
    return rows


def run_multiclass(rng: np.random.Generator, library: str) -> list[Row]:
    X, y = multiclass(rng, 6000)
    Xt, yt = multiclass(rng, 6000)
    fits = {
        "built-in softmax": lambda: builtin(
            library, "multi:softprob" if library == "xgboost" else "multiclass", X, y, num_class=4
        ),
        "losskit sparse_categorical_cross_entropy": lambda: ours(
            library, losskit.SparseCategoricalCrossEntropy(from_logits=True), X, y
        ),
        "losskit categorical_focal (gamma=2)": lambda: ours(
            library, losskit.CategoricalFocalLoss(from_logits=True), X, np.eye(4)[y]
        ),
    }
    rows = []
    for name, fit in fits.items():
        predict, seconds = timed(fit)
        f = np.asarray(predict(Xt), dtype=np.float64).reshape(len(yt), 4)
        p = np.exp(f - f.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        score = f"accuracy {np.mean(f.argmax(1) == yt):.3f}, log loss {log_loss(yt, p):.4f}"
        rows.append(("4 classes", name, score, seconds))
    return rows


def main() -> None:
    versions = (
        f"Python {platform.python_version()}, xgboost {xgb.__version__}, "
        f"lightgbm {lgb.__version__}, losskit {losskit.__version__}"
    )
    setup = f"{ROUNDS} rounds, depth {DEPTH}, learning rate {RATE}, 1 thread"
    print(f"{time.strftime('%Y-%m-%d')}, {versions}; {setup}\n")
    warm = np.random.default_rng(1).normal(size=(200, 3))
    for library in ("xgboost", "lightgbm"):  # first-use costs stay out of the timings
        builtin(
            library, "reg:squarederror" if library == "xgboost" else "regression", warm, warm[:, 0]
        )
        ours(library, losskit.HuberLoss(), warm, warm[:, 0])
    print("| problem | library | objective | held-out score | fit (s) |")
    print("| --- | --- | --- | --- | ---: |")
    for run in (run_regression, run_imbalanced, run_multiclass):
        for library in ("xgboost", "lightgbm"):
            for problem, name, score, seconds in run(np.random.default_rng(0), library):
                print(f"| {problem} | {library} | {name} | {score} | {seconds:.2f} |", flush=True)


if __name__ == "__main__":
    main()
