"""Which loss should I use? The seed's selection guide as a ranked, reasoned decision.

:func:`profile` measures what the guide asks about a data set: the task,
the class balance, and the share of outlying targets. :func:`recommend` ranks
the registry's losses for a task from that profile (or from flags) and gives
each its reasons. Scores are a sum of explicit points, every point a reason:

======================================================================  =======
the seed's guide lists the loss for this task (or for imbalanced data)  +1
convex (one optimum for a linear model)                                 +1
smooth (suits gradient methods and L-BFGS)                              +1
a probability model (classification: calibrated outputs)                +1
regression with outliers: robust / not robust                           +2 / −2
imbalanced classes: built for imbalance                                 +2
imbalanced classes: takes class weights                                 +1
imbalanced masks: an overlap score (Dice, Jaccard, Tversky)             +2
imbalanced masks: Tversky (its beta weighs recall)                      +1
balanced classes: built for imbalance                                   −1
Poisson: count targets / other targets                                  +2 / −3
======================================================================  =======

Ties keep the guide's order, then the registry's. The properties come from
the registry (``losskit.info(name)``: ``convex``, ``robust``, ``smooth``);
"probability model" means cross-entropy losses (a proper scoring rule), not
focal loss or hinge losses. This ranking is a prior, not a measurement:
``losskit recommend DATA --verify`` runs :func:`losskit.compare.compare` on
the top candidates.

The seed's guide (its "Loss Function Selection" table): regression → MSE,
MAE, Huber; binary → binary cross-entropy, hinge; multi-class → categorical
cross-entropy; imbalanced data → focal, weighted cross-entropy; segmentation
→ Dice, IoU; similarity learning → contrastive, triplet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._base import RowwiseLoss
from ._registry import REGISTRY, LossInfo
from .compare import IMBALANCE_SHARE, DataError, Dataset

__all__ = [
    "OUTLIER_SHARE",
    "OUTLIER_Z",
    "TASKS",
    "DataProfile",
    "Recommendation",
    "profile",
    "recommend",
    "robust_z",
]

#: The tasks :func:`recommend` takes, and the registry tasks each draws from.
TASKS: dict[str, tuple[str, ...]] = {
    "regression": ("regression",),
    "binary": ("binary classification", "imbalanced classification"),
    "multiclass": ("multi-class classification", "imbalanced classification"),
    "segmentation": ("segmentation",),
    "similarity": ("similarity learning",),
    "distribution": ("distribution matching",),
}

#: A target counts as an outlier beyond this modified z-score (Iglewicz & Hoaglin, 1993).
OUTLIER_Z = 3.5
#: Targets "have outliers" when more than this share lies beyond ``OUTLIER_Z``
#: (a normal sample has 0.05 % there).
OUTLIER_SHARE = 0.01

#: The seed's selection guide, in its order.
_GUIDE: dict[str, tuple[str, ...]] = {
    "regression": ("mse", "mae", "huber"),
    "binary": ("binary_cross_entropy", "hinge"),
    "multiclass": ("categorical_cross_entropy", "sparse_categorical_cross_entropy"),
    "imbalanced": ("focal", "weighted_cross_entropy", "categorical_focal"),
    "segmentation": ("dice", "jaccard"),
    "similarity": ("contrastive", "triplet"),
}
#: Cross-entropy losses: proper scoring rules, their outputs are calibrated probabilities.
_PROBABILISTIC = frozenset(
    {
        "binary_cross_entropy",
        "weighted_cross_entropy",
        "categorical_cross_entropy",
        "sparse_categorical_cross_entropy",
        "kl_divergence",
    }
)
_TASK_WORDS = {"binary": "binary classification", "multiclass": "multi-class classification"}
#: Parameters that weight classes.
_WEIGHT_PARAMS = frozenset({"class_weight", "class_weights", "pos_weight"})
#: Overlap (segmentation) losses, insensitive to the foreground share.
_OVERLAP = frozenset({"dice", "jaccard", "tversky"})


def robust_z(y: np.ndarray) -> np.ndarray:
    """The modified z-score ``0.6745 (y - median) / MAD`` (Iglewicz & Hoaglin, 1993).

    When more than half the values are equal (MAD = 0) the mean absolute
    deviation stands in: ``(y - median) / (1.2533 · mean|y - median|)``; a
    constant ``y`` gives zeros.
    """
    y = np.asarray(y, dtype=np.float64)
    dev = y - np.median(y)
    mad = float(np.median(np.abs(dev)))
    if mad > 0:
        return 0.6745 * dev / mad
    mean_ad = float(np.mean(np.abs(dev)))
    return dev / (1.2533 * mean_ad) if mean_ad > 0 else np.zeros_like(y)


@dataclass(frozen=True)
class DataProfile:
    """What the selection guide asks about a data set (see :func:`profile`)."""

    task: str
    n_samples: int
    n_features: int
    class_counts: tuple[int, ...] = ()
    class_names: tuple[str, ...] = ()
    minority_share: float | None = None
    imbalanced: bool = False
    outlier_share: float | None = None
    counts: bool = False

    @property
    def outliers(self) -> bool:
        return self.outlier_share is not None and self.outlier_share > OUTLIER_SHARE

    def describe(self) -> list[str]:
        """The profile as short lines, each with the threshold it was judged by."""
        lines = [f"task: {self.task} ({self.n_samples} rows, {self.n_features} features)"]
        if self.class_counts:
            counts = ", ".join(
                f"{n}: {c}" for n, c in zip(self.class_names, self.class_counts, strict=True)
            )
            share = self.minority_share or 0.0
            verdict = "imbalanced" if self.imbalanced else "balanced"
            lines.append(
                f"classes: {counts}; smallest share {share:.1%} → {verdict} "
                f"(threshold {IMBALANCE_SHARE:.0%})"
            )
        if self.outlier_share is not None:
            verdict = "outliers" if self.outliers else "no notable outliers"
            lines.append(
                f"targets beyond robust |z| > {OUTLIER_Z}: {self.outlier_share:.1%} → {verdict} "
                f"(threshold {OUTLIER_SHARE:.0%})"
            )
        if self.counts:
            lines.append("targets are non-negative integers (counts)")
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "n_samples": self.n_samples,
            "n_features": self.n_features,
            "class_names": list(self.class_names),
            "class_counts": list(self.class_counts),
            "minority_share": self.minority_share,
            "imbalanced": self.imbalanced,
            "outlier_share": self.outlier_share,
            "outliers": self.outliers,
            "counts": self.counts,
        }


def profile(dataset: Dataset) -> DataProfile:
    """Task, class balance, share of outlying targets (robust z-score) and size of ``dataset``."""
    n, d = dataset.X.shape
    if dataset.task != "regression":
        return DataProfile(
            dataset.task,
            n,
            d,
            dataset.class_counts,
            dataset.class_names,
            dataset.minority_share,
            dataset.imbalanced,
        )
    y = dataset.y
    outlying = float(np.mean(np.abs(robust_z(y)) > OUTLIER_Z))
    counts = bool(np.all(y >= 0) and np.all(y == np.round(y)))
    return DataProfile("regression", n, d, outlier_share=outlying, counts=counts)


@dataclass(frozen=True)
class Recommendation:
    """One ranked loss: its score and the reasons that make it up."""

    name: str
    score: int
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def as_dict(self) -> dict[str, Any]:
        return {"loss": self.name, "score": self.score, "reasons": list(self.reasons)}


def _fits(entry: LossInfo, task: str) -> bool:
    if entry.task not in TASKS[task]:
        return False
    if entry.task == "imbalanced classification":  # binary or multi-class by its input
        return issubclass(entry.cls, RowwiseLoss) == (task == "multiclass")
    return True


def _points(
    entry: LossInfo, task: str, *, imbalanced: bool, outliers: bool, counts: bool
) -> list[tuple[int, str]]:
    name = entry.name
    points: list[tuple[int, str]] = []
    if name in _GUIDE.get(task, ()):
        points.append((1, f"the seed's guide lists it for {_TASK_WORDS.get(task, task)}"))
    if imbalanced and name in _GUIDE["imbalanced"]:
        points.append((1, "the seed's guide lists it for imbalanced data"))
    if entry.convex:
        points.append((1, "convex: one optimum for a linear model"))
    else:
        points.append((0, "not convex"))
    if entry.smooth:
        points.append((1, "smooth: suits gradient methods and L-BFGS"))
    else:
        points.append((0, f"not smooth ({entry.kinks})"))
    if task in ("binary", "multiclass"):
        if name in _PROBABILISTIC:
            points.append((1, "a probability model: its outputs are calibrated probabilities"))
        elif "hinge" in name:
            points.append((0, "gives scores, not probabilities"))
    if imbalanced and _WEIGHT_PARAMS & set(entry.params):
        points.append((1, "takes class weights: set them from the class frequencies"))
    if imbalanced and name in _OVERLAP:
        points.append((2, "an overlap score: insensitive to foreground/background imbalance"))
    if entry.task == "imbalanced classification":
        if imbalanced:
            points.append((2, "built for class imbalance"))
        else:
            points.append((-1, "built for imbalance, which these classes do not have"))
    if task == "regression" and outliers:
        if entry.robust:
            points.append((2, "robust to outliers: its gradient is bounded"))
        else:
            points.append((-2, "sensitive to outliers: they dominate its gradient"))
    if name == "poisson":
        if counts:
            points.append((2, "the targets are non-negative counts"))
        else:
            points.append((-3, "only for non-negative count targets"))
    if imbalanced and name == "tversky":
        points.append((1, "beta > alpha weighs false negatives: recall on small structures"))
    return points


def recommend(
    task: str, *, imbalanced: bool = False, outliers: bool = False, counts: bool = False
) -> list[Recommendation]:
    """The registry's losses for ``task``, best first, each with its reasons.

    Parameters
    ----------
    task : {"regression", "binary", "multiclass", "segmentation", "similarity", "distribution"}
    imbalanced : bool
        The classes (or, for segmentation, foreground and background) are imbalanced.
    outliers : bool
        The regression targets have outliers.
    counts : bool
        The regression targets are non-negative counts.

    Examples
    --------
    >>> from losskit.recommend import recommend
    >>> [r.name for r in recommend("binary", imbalanced=True)][:2]
    ['weighted_cross_entropy', 'binary_cross_entropy']
    """
    if task not in TASKS:
        raise DataError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    guide = [*_GUIDE.get(task, ()), *_GUIDE["imbalanced"]]
    ranked = []
    for order, entry in enumerate(REGISTRY.values()):
        if not _fits(entry, task):
            continue
        points = _points(entry, task, imbalanced=imbalanced, outliers=outliers, counts=counts)
        score = sum(p for p, _ in points)
        rank = guide.index(entry.name) if entry.name in guide else len(guide) + order
        ranked.append(
            (-score, rank, Recommendation(entry.name, score, tuple(r for _, r in points)))
        )
    ranked.sort(key=lambda t: (t[0], t[1]))
    return [r for _, _, r in ranked]
