"""losskit.compare: data loading, candidates, cross-validation, metrics, results, reports."""

from __future__ import annotations

import dataclasses
import json
import math
import sys

import numpy as np
import pytest
from sklearn import metrics as skm

import losskit
from losskit.compare import (
    SCENARIOS,
    Candidate,
    Comparison,
    DataError,
    Dataset,
    LossResult,
    _corrupt,
    _regression_metrics,
    _targets,
    builtin_scenarios,
    candidates,
    compare,
    default_candidates,
    expected_calibration_error,
    load_dataset,
    parse_spec,
    ranking_table,
    report_json,
    time_losses,
    write_report,
)

FAST = {"max_iter": 30}


def _regression(n: int = 80, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ [1.0, -2.0, 0.5] + 10 + 0.3 * rng.normal(size=n)
    return Dataset("toy", X, y, "regression", ("a", "b", "c"), "y")


def _classification(n: int = 90, k: int = 3, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    X = rng.normal(size=(n, 4)) + np.eye(k, 4)[y]
    task = "binary" if k == 2 else "multiclass"
    names = tuple(f"c{i}" for i in range(k))
    return Dataset("toy", X, y.astype(np.int64), task, ("a", "b", "c", "d"), "y", names)


# --------------------------------------------------------------------------- scenarios


def test_builtin_scenarios_are_the_documented_ones():
    diabetes, cancer, digits = builtin_scenarios()
    assert (diabetes.name, cancer.name, digits.name) == SCENARIOS
    assert diabetes.X.shape == (442, 10)
    assert diabetes.task == "regression"
    assert diabetes.train_outliers == 0.10
    assert cancer.task == "binary"
    assert cancer.class_names == ("benign", "malignant")
    assert cancer.class_counts == (357, 40)  # 10 % malignant, the positive class 1
    assert cancer.imbalanced
    assert cancer.primary_metric == "pr_auc"
    assert digits.X.shape == (1797, 64)
    assert digits.n_classes == 10
    assert digits.primary_metric == "balanced_accuracy"
    again = builtin_scenarios()[1]
    np.testing.assert_array_equal(again.X, cancer.X)  # the subsample is seeded
    assert not np.array_equal(builtin_scenarios(seed=1)[1].X, cancer.X)


def test_corruption_moves_the_stated_share_by_3_to_6_std():
    y = np.random.default_rng(0).normal(size=200)
    out = _corrupt(y, 0.1, np.random.default_rng(1))
    moved = np.flatnonzero(out != y)
    assert len(moved) == 20
    shift = np.abs(out[moved] - y[moved]) / np.std(y)
    assert np.all((shift >= 3) & (shift <= 6))
    assert np.any(out[moved] > y[moved])
    assert np.any(out[moved] < y[moved])


# --------------------------------------------------------------------------- candidates


def test_default_candidates_follow_the_registry():
    names = lambda task: [c.name for c in default_candidates(task)]  # noqa: E731
    assert names("regression") == ["mse", "mae", "huber", "smooth_l1", "log_cosh", "quantile"]
    assert set(names("binary")) == {
        "binary_cross_entropy",
        "hinge",
        "squared_hinge",
        "focal",
        "weighted_cross_entropy",
    }
    assert set(names("multiclass")) == {
        "categorical_cross_entropy",
        "sparse_categorical_cross_entropy",
        "multiclass_hinge",
        "categorical_focal",
    }
    for c in default_candidates("binary") + default_candidates("multiclass"):
        assert c.params.get("from_logits", True) is True  # logits wherever the loss allows


def test_candidate_specs():
    assert parse_spec("huber:delta=2") == ("huber", {"delta": 2})
    assert parse_spec("Bce:label_smoothing=0.1") == (
        "binary_cross_entropy",
        {"label_smoothing": 0.1},
    )
    (c,) = candidates("focal:gamma=1:alpha=0.25", "binary")
    assert c.params == {"from_logits": True, "gamma": 1, "alpha": 0.25}
    assert c.label == "focal(gamma=1, alpha=0.25)"
    (p,) = candidates(["binary_cross_entropy:from_logits=False"], "binary")
    assert p.params == {"from_logits": False}


@pytest.mark.parametrize(
    ("specs", "task", "match"),
    [
        ("mse,hubr", "regression", "did you mean 'huber'"),
        ("dice", "binary", "does not fit binary data"),
        ("huber:delta=-1", "regression", "delta"),
        ("huber:nope=1", "regression", "nope"),
        ("huber:delta", "regression", "key=value"),
        ("", "regression", "no loss names"),
    ],
)
def test_bad_candidates(specs, task, match):
    with pytest.raises(DataError, match=match):
        candidates(specs, task)


def test_weighted_cross_entropy_takes_the_training_folds_balance():
    y = np.array([0, 0, 0, 1])
    loss = Candidate("weighted_cross_entropy", {"from_logits": True}).build(y)
    assert loss.class_weights == pytest.approx((4 / 6, 4 / 2))
    fixed = Candidate("weighted_cross_entropy", {"class_weights": (1.0, 5.0)}).build(y)
    assert fixed.class_weights == (1.0, 5.0)


def test_targets_take_the_form_each_loss_expects():
    y = np.array([0, 1, 2, 1])
    np.testing.assert_array_equal(_targets(losskit.HingeLoss(), y[:2], "binary", 2), [-1, 1])
    np.testing.assert_array_equal(_targets(losskit.SquaredHingeLoss(), y[:2], "binary", 2), [-1, 1])
    bce = _targets(losskit.BinaryCrossEntropy(), y[:2], "binary", 2)
    assert bce.dtype == np.float64
    np.testing.assert_array_equal(bce, [0, 1])
    sparse = _targets(losskit.SparseCategoricalCrossEntropy(), y, "multiclass", 3)
    np.testing.assert_array_equal(sparse, y)
    onehot = _targets(losskit.CategoricalCrossEntropy(), y, "multiclass", 3)
    np.testing.assert_array_equal(onehot, np.eye(3)[y])


# --------------------------------------------------------------------------- metrics


def test_regression_metrics_match_scikit_learn():
    rng = np.random.default_rng(0)
    y, pred = rng.normal(size=50), rng.normal(size=50)
    got = _regression_metrics(y, pred)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, pred), rel=1e-14)
    assert got["rmse"] == pytest.approx(math.sqrt(skm.mean_squared_error(y, pred)), rel=1e-14)
    assert got["r2"] == pytest.approx(skm.r2_score(y, pred), rel=1e-14)


def test_expected_calibration_error_by_hand():
    # bins [0.1, 0.2) and [0.9, 1.0]: |0 - 0.15| * 2/4 + |0.5 - 0.95| * 2/4
    y = np.array([0, 0, 1, 0])
    p = np.array([0.1, 0.2 - 1e-9, 0.9, 1.0])
    assert expected_calibration_error(y, p) == pytest.approx(0.5 * 0.15 + 0.5 * 0.45, abs=1e-8)
    # top-label confidence for multi-class: both right at 0.8 and 0.6 -> (0.2 + 0.4) / 2
    proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.6, 0.2]])
    assert expected_calibration_error(np.array([0, 1]), proba) == pytest.approx(0.3)
    assert expected_calibration_error(np.array([1, 0]), np.array([1.0, 0.0])) == 0.0


# --------------------------------------------------------------------------- compare


def test_compare_runs_paired_folds_and_ranks_by_the_primary_metric():
    ds = _regression()
    c = compare(ds, "mse,mae,huber", folds=3, model_options=FAST)
    assert [r.label for r in c.results] == ["mse", "mae", "huber"]
    for r in c.results:
        assert set(r.metrics) == {"mae", "rmse", "r2"}
        assert all(len(v) == 3 for v in r.metrics.values())
        assert len(r.history) == 3
        assert len(r.fit_seconds) == 3
        assert all(np.isfinite(v).all() for v in r.metrics.values())
    ranked = c.ranked()
    assert [r.mean("mae") for r in ranked] == sorted(r.mean("mae") for r in ranked)
    assert c.gap(ranked[0]) == (0.0, 0.0)
    mean, _ = c.gap(ranked[-1])
    assert mean == pytest.approx(ranked[-1].mean("mae") - ranked[0].mean("mae"))
    assert ranked[0].mean("mae") < 0.5  # noise 0.3: the models fit
    again = compare(ds, "mse,mae,huber", folds=3, model_options=FAST)
    assert [r.metrics for r in again.results] == [r.metrics for r in c.results]  # seeded


def test_outliers_go_into_training_folds_only():
    ds = _regression(120)
    dirty = dataclasses.replace(ds, train_outliers=0.2)
    clean = compare(ds, "mse,mae", folds=3)
    corrupted = compare(dirty, "mse,mae", folds=3)
    # training on corrupted targets hurts MSE far more than MAE, measured on clean targets
    mse_loss = corrupted.results[0].mean("mae") - clean.results[0].mean("mae")
    mae_loss = corrupted.results[1].mean("mae") - clean.results[1].mean("mae")
    assert mse_loss > 0.3
    assert mae_loss < mse_loss / 3


def test_sparse_and_categorical_cross_entropy_agree():
    ds = _classification()
    c = compare(ds, "sparse_categorical_cross_entropy,categorical_cross_entropy", folds=3)
    a, b = c.results
    for metric in c.metric_names:
        np.testing.assert_allclose(a.metrics[metric], b.metrics[metric], rtol=1e-6)
    assert c.summary().startswith("sparse_categorical_cross_entropy, categorical_cross_entropy tie")


def test_classification_metrics_and_probability_marks():
    ds = _classification(k=2)
    c = compare(ds, "binary_cross_entropy,hinge", folds=3, model_options=FAST)
    bce, hinge = c.results
    assert bce.probabilistic
    assert not hinge.probabilistic
    for r in c.results:
        assert set(r.metrics) == set(c.metric_names)
        for m in ("accuracy", "balanced_accuracy", "f1", "roc_auc", "pr_auc", "ece"):
            assert all(0.0 <= v <= 1.0 for v in r.metrics[m])
    header, rows = ranking_table(c)
    assert header[:3] == ["#", "loss", "ROC-AUC"]  # balanced binary data: ROC-AUC
    assert any(row[1].startswith("hinge †") for row in rows)


def test_imbalanced_binary_ranks_by_pr_auc_and_weights_the_minority():
    ds = _classification(n=100, k=2)
    y = np.r_[np.zeros(85, np.int64), np.ones(15, np.int64)]
    ds = dataclasses.replace(ds, y=y, X=ds.X + 2.0 * y[:, None])
    assert ds.imbalanced
    assert ds.primary_metric == "pr_auc"
    c = compare(ds, "weighted_cross_entropy,focal", folds=3, model_options=FAST)
    assert c.primary == "pr_auc"
    d = c.to_dict()
    assert d["primary_metric"] == "pr_auc"
    assert d["class_counts"] == [85, 15]


def test_poisson_on_counts_predicts_positive_rates():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    y = rng.poisson(np.exp(1.0 + 0.5 * X[:, 0])).astype(float)
    ds = Dataset("counts", X, y, "regression", ("a", "b"), "n")
    c = compare(ds, "poisson,mse", folds=3)
    assert all(math.isfinite(v) for v in c.results[0].metrics["mae"])
    negative = dataclasses.replace(ds, y=y - 5.0)
    with pytest.raises(DataError, match="non-negative"):
        compare(negative, "poisson", folds=3)


def test_folds_must_fit_the_data():
    ds = _classification(n=9)
    with pytest.raises(DataError, match="fewer than the 5 folds"):
        compare(ds, folds=5)
    with pytest.raises(DataError, match="at least 2"):
        compare(ds, folds=1)
    with pytest.raises(DataError, match="too few"):
        compare(_regression(n=5), folds=3)


def test_unknown_model_and_gbdt():
    with pytest.raises(DataError, match="unknown model"):
        compare(_regression(), "mse", model="forest", folds=2)
    pytest.importorskip("lightgbm")
    pytest.importorskip("losskit.integrations")
    c = compare(  # LightGBM needs more than 40 training rows with its defaults
        _regression(200), "mse,huber", model="gbdt", folds=2, model_options={"n_estimators": 5}
    )
    assert all(len(h) >= 1 for r in c.results for h in r.history)


def test_mlp_model():
    c = compare(
        _classification(),
        "sparse_categorical_cross_entropy",
        model="mlp",
        folds=2,
        model_options={"max_iter": 5},
    )
    assert c.model == "mlp"
    assert c.results[0].mean("accuracy") > 0.5


def _manual(values: dict[str, list[float]]) -> Comparison:
    results = []
    for name, folds in values.items():
        r = LossResult(Candidate(name))
        r.metrics = {"mae": folds, "rmse": folds, "r2": folds}
        r.converged = [True] * len(folds)
        r.fit_seconds = [0.0] * len(folds)
        results.append(r)
    return Comparison(_regression(), "linear", {}, len(next(iter(values.values()))), 0, results)


def test_summary_states_ties_and_whether_a_gap_is_clear():
    clear = _manual({"mse": [2.0, 2.1, 2.2, 2.0, 2.1], "mae": [1.0, 1.1, 1.2, 1.0, 1.1]})
    assert clear.summary().startswith("mae has the best MAE: 1.080 ± 0.084")
    assert "differs by +1.000 ± 0.000 (a clear difference" in clear.summary()
    noisy = _manual({"mse": [1.0, 2.0, 1.5], "mae": [1.4, 1.6, 1.2]})
    assert "within fold-to-fold noise" in noisy.summary()
    tie = _manual({"huber": [1.0, 2.0], "smooth_l1": [1.0, 2.0]})
    assert tie.summary() == "huber, smooth_l1 tie for the best MAE on every fold: 1.500 ± 0.707"


# --------------------------------------------------------------------------- reports


def test_report_json_is_plain_and_complete():
    c = compare(_regression(), "mse,huber", folds=2, model_options=FAST)
    data = json.loads(json.dumps(report_json([c])))
    (scenario,) = data["scenarios"]
    assert scenario["primary_metric"] == "mae"
    first = scenario["ranking"][0]
    assert first["rank"] == 1
    assert first["gap_to_best"] == {"mean": 0.0, "std": 0.0}
    assert first["metrics"]["mae"]["folds"] == c.ranked()[0].metrics["mae"]
    assert len(first["history"]) == 2
    assert "history" not in report_json([c], history=False)["scenarios"][0]["ranking"][0]


def test_write_report(tmp_path):
    c = compare(_classification(k=2), "binary_cross_entropy,hinge", folds=2, model_options=FAST)
    written = write_report([c], tmp_path / "out", command="losskit compare x")
    names = sorted(p.name for p in written)
    assert names == sorted(
        ["toy-metrics.png", "toy-training.png", "report.md", "report.html", "results.json"]
    )
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| # | loss | ROC-AUC |" in md
    assert "`losskit compare x`" in md
    assert c.summary() in md
    assert "† no probability model" in md
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<table>" in html
    assert 'src="toy-metrics.png"' in html
    for png in ("toy-metrics.png", "toy-training.png"):
        assert (tmp_path / "out" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_time_losses():
    rows = time_losses(["mse", "sparse_categorical_cross_entropy", "triplet"], n=2000, repeat=2)
    assert [(r["loss"], r["dtype"]) for r in rows][:2] == [("mse", "float32"), ("mse", "float64")]
    assert all(r["ms"] > 0 and r["gb_per_s"] > 0 for r in rows)
    assert rows[2]["elements"] == 2000  # 200 rows of 10 classes


# --------------------------------------------------------------------------- files


def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _table(n=30, *, target="y", extra=""):
    rng = np.random.default_rng(0)
    lines = [f"a,b,{target}{',' + extra if extra else ''}"]
    for i in range(n):
        a, b = rng.normal(size=2)
        lines.append(f"{a:.4f},{b:.4f},{a + b:.4f}{',' + str(i % 3) if extra else ''}")
    return "\n".join(lines) + "\n"


def test_load_csv_detects_the_task(tmp_path):
    ds = load_dataset(_write(tmp_path, _table()), "y")
    assert ds.task == "regression"
    assert ds.X.shape == (30, 2)
    assert ds.feature_names == ("a", "b")
    multi = load_dataset(_write(tmp_path, _table(extra="k")), "k")
    assert multi.task == "multiclass"
    assert multi.class_names == ("0", "1", "2")
    assert multi.X.shape == (30, 3)
    forced = load_dataset(_write(tmp_path, _table(extra="k")), "k", task="regression")
    assert forced.task == "regression"


def test_load_csv_binary_text_labels_minority_positive(tmp_path):
    text = "x;label\n" + "".join(f"{i};{'spam' if i % 4 == 0 else 'ham'}\n" for i in range(20))
    ds = load_dataset(_write(tmp_path, text), "label")
    assert ds.task == "binary"
    assert ds.class_names == ("ham", "spam")  # the minority class is the positive class 1
    assert ds.class_counts == (15, 5)
    text = "x,label\n" + "".join(f"{i},{'a' if i % 4 else 'b'}\n" for i in range(20))
    flipped = load_dataset(_write(tmp_path, text), "label")
    assert flipped.class_names == ("a", "b")
    assert flipped.class_counts == (15, 5)


def test_load_csv_cleans_features_and_says_so(tmp_path):
    rows = ["num,color,id,target"]
    for i in range(25):
        num = "" if i == 3 else "NA" if i == 4 else str(i)
        rows.append(f"{num},{['red', 'blue'][i % 2]},row{i},{i * 1.5}")
    rows.append("5,red,row25,")  # missing target: dropped
    ds = load_dataset(_write(tmp_path, "\n".join(rows)), "target")
    assert ds.feature_names == ("num", "color=blue", "color=red")
    assert ds.X.shape == (25, 3)
    assert ds.X[3, 0] == ds.X[4, 0] == np.median([i for i in range(25) if i not in (3, 4)])
    assert "dropped 1 rows with a missing target" in ds.notes
    assert "imputed 2 missing values of 'num'" in ds.notes
    assert any(n.startswith("dropped column 'id'") and "line 2" in n for n in ds.notes)


@pytest.mark.parametrize(
    ("text", "target", "task", "match"),
    [
        ("", "y", None, "is empty"),
        ("a,y\n", "y", None, "no data rows"),
        ("a,y\n1,2\n3\n", "y", None, "line 3: expected 2 fields"),
        ("a,y\n1,2\n", "z", None, "no column 'z'.*columns are a, y"),
        ("a,y\n1,x\n2,3\n", "y", "regression", "not numeric.*line 2.*'x'"),
        ("a,y\n1,p\n2,q\n3,r\n", "y", "binary", "3 classes"),
        ("a,y\n1,2\n2,2\n", "y", None, "single value"),
        ("id,y\n" + "".join(f"r{i},{i % 2}\n" for i in range(30)), "y", None, "no usable"),
        ("a,a,y\n1,2,3\n", "y", None, "appears twice"),
        ('a,y\n"1,2\n', "y", None, None),
    ],
)
def test_bad_files_raise_one_data_error(tmp_path, text, target, task, match):
    path = _write(tmp_path, text)
    with pytest.raises(DataError, match=match) as info:
        load_dataset(path, target, task=task)
    assert "\n" not in str(info.value)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_dataset(tmp_path / "nope.csv", "y")
    with pytest.raises(DataError, match="directory"):
        load_dataset(tmp_path, "y")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00a,b")
    with pytest.raises(DataError, match="UTF-8"):
        load_dataset(binary, "y")
    with pytest.raises(DataError, match="unknown task"):
        load_dataset(_write(tmp_path, _table()), "y", task="ranking")


def test_parquet_without_pyarrow_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    path = tmp_path / "data.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(DataError, match="needs pyarrow"):
        load_dataset(path, "y")


def test_parquet_with_pyarrow(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rng = np.random.default_rng(0)
    a = rng.normal(size=40)
    table = pa.table({"a": a, "kind": ["x", "y"] * 20, "y": a * 2.0 + rng.normal(size=40)})
    pq.write_table(table, tmp_path / "d.parquet")
    ds = load_dataset(tmp_path / "d.parquet", "y")
    assert ds.task == "regression"
    assert ds.feature_names == ("a", "kind=x", "kind=y")
    np.testing.assert_allclose(ds.X[:, 0], a)
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="not a readable Parquet"):
        load_dataset(tmp_path / "bad.parquet", "y")
