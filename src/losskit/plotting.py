"""Plots: loss and derivative curves, and the figures of a ``losskit compare`` report.

The curves are data first (:func:`loss_curves`), then drawn
(:func:`plot_losses`). Each loss is probed along the axis that describes it:

* **residual** ``ŷ - y`` (``y = 0``) for regression losses;
* **margin** (the score or logit of the true class, the others at 0, label 1)
  for hinge losses and for every loss with ``from_logits=True``;
* **probability** of the true class (label 1; rows ``[1 - p, p]`` for losses
  over a class axis) for losses that take probabilities, segmentation losses
  included (one pixel per sample);
* **log-rate** (count 1) for Poisson, **distance** for contrastive (a similar
  and a dissimilar pair) and for triplet (the negative's distance to the
  anchor, with the positive at 0.5, in one dimension).

The derivative drawn is the slope of the drawn loss along that axis (for rows
``[1 - p, p]``, ``∂L/∂p₁ - ∂L/∂p₀``), computed by the loss's own
``derivative``, never by differences.

matplotlib is imported when a plot is drawn; figures are drawn with
``matplotlib.figure.Figure`` (the Agg canvas), so no GUI backend and no
``pyplot`` state are involved. The output format follows the file's suffix
(``.png``, ``.svg`` or ``.pdf``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._base import ElementwiseLoss, LossFunction, RowwiseLoss
from ._classification import HingeLoss
from ._registry import get
from ._regression import PoissonLoss
from ._segmentation import MedicalImagingLoss
from ._similarity import ContrastiveLoss, TripletLoss

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .compare import Comparison

__all__ = [
    "FORMATS",
    "Curve",
    "loss_curves",
    "plot_losses",
    "plot_metrics",
    "plot_training_curves",
]

#: File suffixes the plots can be written as.
FORMATS = (".png", ".svg", ".pdf")


@dataclass(frozen=True)
class Curve:
    """A loss and its slope along one axis, for one case (e.g. a similar pair)."""

    label: str
    axis: str
    x: np.ndarray
    value: np.ndarray
    slope: np.ndarray


Probe = tuple[str, str, np.ndarray, Callable[[np.ndarray], tuple[Any, ...]], Callable[[Any], Any]]


def _probes(loss: LossFunction, n: int) -> list[Probe]:
    """(axis, case, x, inputs(x), slope(derivative)) for each curve of ``loss``."""
    ones = np.ones(n)
    prob = np.linspace(0.01, 0.99, n)
    margin = np.linspace(-4.0, 4.0, n)
    first: Callable[[Any], Any] = lambda g: g  # noqa: E731
    if isinstance(loss, TripletLoss):
        d = np.linspace(0.05, 3.0, n)  # from 0.05: |a - n| has a kink at n = a
        col = d[:, None]
        return [
            (
                "distance anchor–negative",
                "positive at 0.5",
                d,
                lambda x: (0 * col, 0 * col + 0.5, x[:, None]),
                lambda g: g[2][:, 0],
            )
        ]
    if isinstance(loss, ContrastiveLoss):
        d = np.linspace(0.0, 2.5, n)
        return [
            ("distance", "similar pair", d, lambda x: (ones, x), first),
            ("distance", "dissimilar pair", d, lambda x: (0 * ones, x), first),
        ]
    if isinstance(loss, PoissonLoss):
        if loss.log_input:
            return [("log-rate", "count 1", margin / 2, lambda x: (ones, x), first)]
        return [("rate", "count 1", prob * 4, lambda x: (ones, x), first)]
    logits = getattr(loss, "from_logits", None)
    if isinstance(loss, RowwiseLoss):
        labels = ones.astype(np.int64) if loss._labels else np.column_stack([0 * ones, ones])
        if logits is False:
            rows = lambda x: np.column_stack([1.0 - x, x])  # noqa: E731
            return [
                ("probability", "true class", prob, lambda x: (labels, rows(x)), _row_slope(True))
            ]
        scores = lambda x: np.column_stack([0 * x, x])  # noqa: E731
        return [("margin", "true class", margin, lambda x: (labels, scores(x)), _row_slope(False))]
    if isinstance(loss, HingeLoss) or logits is True:
        return [("margin", "y = 1", margin, lambda x: (ones, x), first)]
    if logits is False or "per_sample" in loss.params or isinstance(loss, MedicalImagingLoss):
        col = ones[:, None]
        if isinstance(loss, ElementwiseLoss):
            return [("probability", "y = 1", prob, lambda x: (ones, x), first)]
        return [("probability", "y = 1", prob, lambda x: (col, x[:, None]), lambda g: g[:, 0])]
    return [("residual ŷ − y", "", margin, lambda x: (0 * ones, x), first)]


def _row_slope(path: bool) -> Callable[[Any], Any]:
    """Slope along rows ``[1 - p, p]`` (``path``) or ``[0, x]``."""
    if path:
        return lambda g: g[:, 1] - g[:, 0]
    return lambda g: g[:, 1]


def _as_loss(loss: str | LossFunction) -> tuple[str, LossFunction]:
    if isinstance(loss, LossFunction):
        return repr(loss), loss
    return loss, get(loss)


def loss_curves(loss: str | LossFunction, n: int = 401) -> list[Curve]:
    """The curves of one loss (a registry name or a loss object); see the module docstring."""
    label, built = _as_loss(loss)
    params = built.params
    changes: dict[str, Any] = {"reduction": "none"} if "reduction" in params else {}
    if "per_sample" in params:
        changes["per_sample"] = True
    per_point = built.replace(**changes) if changes else built
    curves = []
    for axis, case, x, inputs, slope in _probes(per_point, n):
        args = inputs(x)
        value = np.asarray(per_point.compute(*args), dtype=np.float64).reshape(n)
        grad = per_point.derivative(*args)
        curves.append(
            Curve(
                label=f"{label} ({case})" if case else label,
                axis=axis,
                x=x,
                value=value,
                slope=np.asarray(slope(grad), dtype=np.float64).reshape(n),
            )
        )
    return curves


def _check_format(path: Path) -> None:
    if path.suffix.lower() not in FORMATS:
        raise ValueError(
            f"cannot write {path.name}: the file name must end in {', '.join(FORMATS)}"
        )


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def plot_losses(losses: Sequence[str | LossFunction], path: str | Path, *, n: int = 401) -> Path:
    """Draw the loss (top) and its derivative (bottom) of ``losses``, one column per axis kind."""
    path = Path(path)
    _check_format(path)
    curves = [c for loss in losses for c in loss_curves(loss, n)]
    axes_kinds = list(dict.fromkeys(c.axis for c in curves))
    fig = _figure(4.5 * len(axes_kinds), 6.5)
    grid = fig.subplots(2, len(axes_kinds), squeeze=False)
    for j, kind in enumerate(axes_kinds):
        top, bottom = grid[0][j], grid[1][j]
        for c in (c for c in curves if c.axis == kind):
            top.plot(c.x, c.value, label=c.label)
            bottom.plot(c.x, c.slope, label=c.label)
        top.set_ylabel("loss")
        bottom.set_ylabel("derivative")
        bottom.set_xlabel(kind)
        if kind == "probability":  # derivatives grow like 1/p: show -1 and -100 alike
            bottom.set_yscale("symlog", linthresh=1.0)
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
            ax.axhline(0.0, color="black", linewidth=0.6)
        top.legend(fontsize="small")
    fig.savefig(path)
    return path


def plot_metrics(comparison: Comparison, path: str | Path) -> Path:
    """Every metric's mean ± std per loss (ranked order), the primary metric first (orange)."""
    from .compare import METRICS

    path = Path(path)
    _check_format(path)
    ranked = comparison.ranked()
    names = [comparison.primary, *(m for m in comparison.metric_names if m != comparison.primary)]
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig = _figure(3.6 * cols, 0.6 + rows * (0.9 + 0.28 * len(ranked)))
    grid = fig.subplots(rows, cols, squeeze=False)
    pos = np.arange(len(ranked))
    for k, ax in enumerate(ax for row in grid for ax in row):
        if k >= len(names):
            ax.set_visible(False)
            continue
        m = names[k]
        ax.errorbar(  # points, not bars: the axis zooms in on the differences
            [r.mean(m) for r in ranked],
            pos,
            xerr=[r.std(m) for r in ranked],
            fmt="o",
            color="tab:blue" if k else "tab:orange",
            capsize=3,
        )
        ax.set_yticks(pos, [r.label for r in ranked] if k % cols == 0 else [])
        ax.set_ylim(len(ranked) - 0.5, -0.5)
        better = "higher" if METRICS[m].higher_is_better else "lower"
        ax.set_title(f"{METRICS[m].label} ({better} is better)", fontsize="medium")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{comparison.dataset.name}: mean ± std over {comparison.folds} folds")
    fig.savefig(path)
    return path


def plot_training_curves(comparison: Comparison, path: str | Path) -> Path:
    """The training objective per iteration of every loss, one panel per loss, every fold."""
    path = Path(path)
    _check_format(path)
    results = comparison.results
    cols = min(3, len(results))
    rows = -(-len(results) // cols)
    fig = _figure(3.8 * cols, 2.6 * rows + 0.5)
    grid = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(ax for row in grid for ax in row):
        if k >= len(results):
            ax.set_visible(False)
            continue
        r = results[k]
        for fold, history in enumerate(r.history):
            ax.plot(np.arange(len(history)), history, linewidth=1, label=f"fold {fold + 1}")
        if all(v > 0 for h in r.history for v in h):
            ax.set_yscale("log")
        ax.set_title(r.label, fontsize="medium")
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    grid[0][0].set_ylabel("training objective")
    fig.suptitle(f"{comparison.dataset.name}: training curves ({comparison.model} model)")
    fig.savefig(path)
    return path
