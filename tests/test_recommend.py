"""losskit.recommend: the data profile and the reasoned ranking."""

from __future__ import annotations

import numpy as np
import pytest

import losskit
from losskit.compare import DataError, Dataset
from losskit.recommend import OUTLIER_Z, TASKS, profile, recommend, robust_z


def _regression(y: np.ndarray) -> Dataset:
    return Dataset("r", np.zeros((len(y), 1)), y.astype(np.float64), "regression", ("x",), "y")


def _classes(counts: list[int]) -> Dataset:
    y = np.repeat(np.arange(len(counts)), counts)
    task = "binary" if len(counts) == 2 else "multiclass"
    names = tuple(f"c{i}" for i in range(len(counts)))
    return Dataset("c", np.zeros((len(y), 2)), y, task, ("a", "b"), "y", names)


def test_robust_z_is_the_modified_z_score():
    y = np.array([1.0, 2.0, 3.0, 4.0, 100.0])  # median 3, MAD 1
    np.testing.assert_allclose(robust_z(y), 0.6745 * (y - 3.0))
    many_equal = np.array([5.0, 5.0, 5.0, 5.0, 9.0])  # MAD 0: mean absolute deviation 0.8
    np.testing.assert_allclose(robust_z(many_equal), (many_equal - 5.0) / (1.2533 * 0.8))
    np.testing.assert_array_equal(robust_z(np.full(4, 2.0)), np.zeros(4))


def test_profile_finds_outliers_and_counts():
    rng = np.random.default_rng(0)
    clean = rng.normal(size=1000)
    p = profile(_regression(clean))
    assert p.task == "regression"
    assert p.outlier_share is not None
    assert p.outlier_share < 0.005
    assert not p.outliers
    assert not p.counts
    dirty = clean.copy()
    dirty[:50] += 20.0
    p = profile(_regression(dirty))
    assert p.outlier_share == pytest.approx(0.05, abs=0.002)
    assert p.outliers
    assert any(f"|z| > {OUTLIER_Z}" in line and "→ outliers" in line for line in p.describe())
    counts = profile(_regression(rng.poisson(3.0, size=200)))
    assert counts.counts


def test_profile_of_classes():
    p = profile(_classes([90, 10]))
    assert p.class_counts == (90, 10)
    assert p.minority_share == pytest.approx(0.1)
    assert p.imbalanced
    assert p.outlier_share is None
    assert not profile(_classes([40, 30, 30])).imbalanced
    assert p.as_dict()["imbalanced"] is True


def test_every_task_ranks_only_its_losses_with_reasons():
    for task in TASKS:
        ranked = recommend(task)
        assert ranked, task
        registry_tasks = {losskit.info(r.name).task for r in ranked}
        assert registry_tasks <= set(TASKS[task])
        scores = [r.score for r in ranked]
        assert scores == sorted(scores, reverse=True)
        for r in ranked:
            assert r.reasons
            assert r.score == r.as_dict()["score"]
    binary = {r.name for r in recommend("binary")}
    assert "categorical_focal" not in binary
    assert "focal" in binary
    assert "focal" not in {r.name for r in recommend("multiclass")}


def test_outliers_put_robust_losses_first():
    ranked = [r.name for r in recommend("regression", outliers=True)]
    robust = [n for n in ranked if losskit.info(n).robust]
    assert ranked[: len(robust)] == robust
    assert ranked.index("mse") > ranked.index("huber")
    mse = next(r for r in recommend("regression", outliers=True) if r.name == "mse")
    assert "sensitive to outliers" in mse.reason
    assert recommend("regression")[0].name == "mse"  # no outliers: the seed's first choice


def test_imbalance_promotes_losses_built_for_it():
    ranked = recommend("binary", imbalanced=True)
    assert ranked[0].name == "weighted_cross_entropy"
    names = [r.name for r in ranked]
    assert names.index("focal") < names.index("hinge")
    balanced = [r.name for r in recommend("binary")]
    assert balanced[0] == "binary_cross_entropy"
    assert balanced.index("focal") > balanced.index("hinge")
    focal = next(r for r in recommend("binary") if r.name == "focal")
    assert "built for imbalance, which these classes do not have" in focal.reason


def test_counts_and_segmentation():
    assert recommend("regression", counts=True)[0].name == "poisson"
    assert recommend("regression")[-1].name == "poisson"
    seg = [r.name for r in recommend("segmentation", imbalanced=True)]
    assert seg.index("medical_imaging") == len(seg) - 1


def test_unknown_task():
    with pytest.raises(DataError, match="unknown task"):
        recommend("clustering")
