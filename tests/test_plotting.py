"""losskit.plotting: curves are the losses' own values and slopes; files are written."""

from __future__ import annotations

import numpy as np
import pytest

import losskit
from losskit.compare import Dataset, compare
from losskit.plotting import loss_curves, plot_losses, plot_metrics, plot_training_curves

MAGIC = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}


@pytest.mark.parametrize("name", losskit.names())
def test_curve_slopes_are_the_derivatives_of_the_curves(name):
    for curve in loss_curves(name, n=2001):
        assert np.isfinite(curve.value).all()
        assert np.isfinite(curve.slope).all()
        # central differences of the drawn values against the drawn slope; kinks touch
        # a few points at most
        fd = np.gradient(curve.value, curve.x)[1:-1]
        slope = curve.slope[1:-1]
        close = np.abs(fd - slope) <= 1e-3 * (1.0 + np.abs(slope))
        assert close.mean() > 0.98, (curve.label, curve.axis)


def test_axes_follow_the_loss():
    axis = lambda loss: [c.axis for c in loss_curves(loss, n=5)]  # noqa: E731
    assert axis("mse") == ["residual ŷ − y"]
    assert axis("hinge") == ["margin"]
    assert axis("binary_cross_entropy") == ["probability"]
    assert axis(losskit.BinaryCrossEntropy(from_logits=True)) == ["margin"]
    assert axis("sparse_categorical_cross_entropy") == ["probability"]
    assert axis(losskit.SparseCategoricalCrossEntropy(from_logits=True)) == ["margin"]
    assert axis("contrastive") == ["distance", "distance"]
    assert axis("poisson") == ["log-rate"]


def test_known_values():
    (mse,) = loss_curves("mse", n=5)  # residuals -4, -2, 0, 2, 4
    np.testing.assert_allclose(mse.value, [16, 4, 0, 4, 16])
    np.testing.assert_allclose(mse.slope, [-8, -4, 0, 4, 8])
    (bce,) = loss_curves("binary_cross_entropy", n=3)  # p = 0.01, 0.5, 0.99 with y = 1
    np.testing.assert_allclose(bce.value, -np.log(bce.x), rtol=1e-12)
    np.testing.assert_allclose(bce.slope, -1.0 / bce.x, rtol=1e-12)
    (huber,) = loss_curves(losskit.HuberLoss(delta=2.0), n=5)
    assert huber.label == "HuberLoss(delta=2.0)"
    np.testing.assert_allclose(huber.slope, [-2, -2, 0, 2, 2])


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_plot_losses_writes_the_format_of_the_suffix(tmp_path, suffix):
    path = plot_losses(["mse", "hinge", "binary_cross_entropy"], tmp_path / f"c{suffix}", n=51)
    assert path.read_bytes().startswith(MAGIC[suffix])


def test_plot_losses_rejects_other_formats(tmp_path):
    with pytest.raises(ValueError, match=r"\.png"):
        plot_losses(["mse"], tmp_path / "c.jpg")


def test_report_plots(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    ds = Dataset("toy", X, X[:, 0] * 3.0, "regression", ("a", "b"), "y")
    c = compare(ds, "mse,mae,huber", folds=2, model_options={"max_iter": 10})
    assert plot_metrics(c, tmp_path / "m.png").read_bytes().startswith(MAGIC[".png"])
    assert plot_training_curves(c, tmp_path / "t.svg").read_bytes().startswith(MAGIC[".svg"])
