"""What the XGBoost and LightGBM adapters share: margins, targets and the Hessian policy.

A gradient-boosting library asks a custom objective for the first and second
derivatives of each sample's loss with respect to the raw margin ``f`` (the
model's output before any link), weighted by the sample weights and not
divided by the number of samples: the derivatives of ``sum_i w_i l(y_i, f_i)``.
That is a losskit loss with ``reduction="none"`` and, where the loss has a
``from_logits`` parameter, ``from_logits=True`` (:func:`margin_loss`).

Hessian policy (``hessian=``):

``"exact"``
    the loss's Hessian diagonal as it is (XGBoost clips negative values at 0
    itself; LightGBM uses them as they come);
``"clip"``
    ``max(h, floor)``, by default ``floor = HESSIAN_FLOOR = 1e-6``: a
    positive Hessian where the loss is not convex or its curvature vanishes;
``"constant"``
    1 for every sample: a first-order step, the mean negative gradient of a
    leaf (what LightGBM's own ``l1``, ``quantile`` and ``huber`` objectives use).

The default (:func:`default_hessian`) comes from the registry: ``"constant"``
for a loss whose Hessian is zero almost everywhere or zero on a region where
its gradient is not (``hessian_kind`` "zero almost everywhere" or "exact
almost everywhere": MAE, quantile, hinge, Huber, smooth L1, squared hinge,
multi-class hinge, contrastive; a Newton step ``-G / H`` there has nothing to
bound it), ``"clip"`` for a non-convex loss (focal, categorical focal,
segmentation losses), ``"exact"`` for the others. A user's loss, and a
composite loss whose terms disagree, gets ``"clip"``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import numpy as np
from scipy.optimize import minimize

from .._base import CompositeLoss, LossFunction, RowwiseLoss, check_choice, check_real
from .._registry import EXACT_AE, REGISTRY, ZERO_AE
from ..models import output_width

__all__ = [
    "HESSIAN_FLOOR",
    "HESSIAN_POLICIES",
    "HessianPolicy",
    "default_hessian",
    "gradient_hessian",
    "initial_score",
    "margin_loss",
    "targets",
]

HessianPolicy = Literal["exact", "clip", "constant"]
HESSIAN_POLICIES: tuple[str, ...] = ("exact", "clip", "constant")
#: The floor of ``hessian="clip"``, per unit of sample weight.
HESSIAN_FLOOR = 1e-6


def _leaves(loss: LossFunction) -> Iterator[LossFunction]:
    """The losses a (possibly composite) loss sums."""
    if isinstance(loss, CompositeLoss):
        for _, term in loss.terms:
            yield from _leaves(term)
    else:
        yield loss


def _policy(loss: LossFunction) -> str:
    entry = REGISTRY.get(loss.name) if loss.name is not None else None
    if entry is None or type(loss) is not entry.cls:
        return "clip"
    if entry.hessian_kind in (ZERO_AE, EXACT_AE):
        return "constant"
    return "exact" if entry.convex else "clip"


def default_hessian(loss: LossFunction) -> str:
    """The Hessian policy a boosting objective uses for ``loss`` (see the module docstring).

    >>> import losskit
    >>> from losskit.integrations import default_hessian
    >>> [default_hessian(losskit.get(n)) for n in ("mse", "mae", "focal")]
    ['exact', 'constant', 'clip']
    """
    policies = {_policy(term) for term in _leaves(loss)}
    return policies.pop() if len(policies) == 1 else "clip"


def check_hessian(hessian: HessianPolicy | None, loss: LossFunction) -> str:
    """``hessian`` validated, or the default policy of ``loss`` for None."""
    if hessian is None:
        return default_hessian(loss)
    return str(check_choice("hessian", hessian, HESSIAN_POLICIES))


def check_floor(floor: float) -> float:
    return check_real("floor", floor, low=0.0, low_open=True)


def margin_loss(loss: LossFunction, reduction: str) -> LossFunction:
    """``loss`` on raw margins: ``from_logits=True`` where it has the option, and ``reduction``.

    Boosted trees output a margin; a loss on probabilities becomes the same
    loss on logits (equal values, except that no ``log`` is clamped at -100).
    """
    if isinstance(loss, CompositeLoss):
        return CompositeLoss(tuple((c, margin_loss(term, reduction)) for c, term in loss.terms))
    if not isinstance(loss, LossFunction):
        raise TypeError(f"loss must be a losskit LossFunction; got {type(loss).__name__}")
    if loss._n_inputs != 2:
        raise ValueError(
            f"{type(loss).__name__} takes {loss._n_inputs} inputs; a boosting objective needs "
            "a loss of (y_true, y_pred)"
        )
    changes: dict[str, Any] = {"reduction": reduction}
    if "from_logits" in loss.params:
        changes["from_logits"] = True
    return loss.replace(**changes)


def takes_probabilities(loss: LossFunction) -> bool:
    """Whether ``loss`` reads probabilities (``from_logits=False``), so margins need a link."""
    return any(term.params.get("from_logits") is False for term in _leaves(loss))


def is_rowwise(loss: LossFunction) -> bool:
    return all(isinstance(term, RowwiseLoss) for term in _leaves(loss))


def _takes_labels(loss: LossFunction) -> bool:
    return all(isinstance(term, RowwiseLoss) and term._labels for term in _leaves(loss))


def targets(loss: LossFunction, labels: Any, margins: np.ndarray) -> np.ndarray:
    """The training set's labels in the form ``loss`` takes as ``y_true`` for ``margins``.

    The libraries store one label per sample (class indices for multi-class
    training) or, in XGBoost, a label matrix. A row-wise loss with labels gets
    them as integers; one with probability targets gets one-hot rows; labels
    with as many entries as the margins take the margins' shape.
    """
    y = np.asarray(labels)
    if margins.ndim == 2 and is_rowwise(loss) and y.shape == margins.shape[:1]:
        classes = y.astype(np.int64)
        if not np.array_equal(classes, y):
            raise ValueError("class labels must be whole numbers for a loss over a class axis")
        if _takes_labels(loss):
            return classes
        n_classes = margins.shape[1]
        if classes.size and (classes.min() < 0 or classes.max() >= n_classes):
            raise ValueError(
                f"class labels must lie in [0, {n_classes}) for {n_classes} outputs; "
                f"found values in [{classes.min()}, {classes.max()}]"
            )
        return np.eye(n_classes)[classes]
    if y.size == margins.size:
        return y.reshape(margins.shape).astype(np.float64, copy=False)
    raise ValueError(
        f"labels of shape {y.shape} do not fit predictions of shape {margins.shape} "
        f"for {type(loss).__name__}"
    )


def _weights(sample_weight: Any, n: int) -> np.ndarray | None:
    """One float64 weight per sample, or None for no weights."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.size == 0:  # XGBoost's get_weight() of a DMatrix without weights
        return None
    if w.shape != (n,):
        raise ValueError(
            f"sample_weight has shape {w.shape}; expected one weight per sample, ({n},)"
        )
    return w


def gradient_hessian(
    loss: LossFunction,
    y_true: Any,
    margins: np.ndarray,
    sample_weight: Any,
    hessian: str,
    floor: float = HESSIAN_FLOOR,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample gradient and Hessian of ``sum_i w_i l_i`` with respect to ``margins``.

    ``loss`` is a :func:`margin_loss` with ``reduction="none"``; ``hessian`` is
    the policy. Both arrays have the margins' shape and dtype float64.
    """
    if hessian == "constant":
        grad = np.asarray(loss.derivative(y_true, margins), dtype=np.float64)
        hess = np.ones_like(grad)
    else:
        try:
            g, h = loss.derivative_and_hessian(y_true, margins)
        except NotImplementedError as err:
            raise NotImplementedError(
                f"{err}; pass hessian='constant' to boost with a unit Hessian"
            ) from err
        grad = np.asarray(g, dtype=np.float64)
        hess = np.asarray(h, dtype=np.float64)
        if hessian == "clip":
            hess = np.maximum(hess, floor)
    w = _weights(sample_weight, grad.shape[0])
    if w is not None:
        w = w.reshape(w.shape + (1,) * (grad.ndim - 1))  # one weight per row
        grad, hess = grad * w, hess * w
    return grad, hess


def initial_score(
    loss: LossFunction,
    y_true: Any,
    sample_weight: Any = None,
    *,
    n_classes: int | None = None,
) -> float | np.ndarray:
    """The constant margin that minimises ``loss`` on ``y_true``: where boosting should start.

    ``argmin_c sum_i w_i l(y_i, c)`` over margins (``from_logits=True``),
    found by L-BFGS-B with the loss's exact derivative: ``logit(mean y)`` for
    binary cross-entropy, the mean for squared error, ``log`` of the class
    frequencies (up to a shift) for softmax cross-entropy, a median for MAE.
    XGBoost starts a custom objective at ``base_score`` (0.5 unless set, not
    estimated) and LightGBM at 0; give them this instead::

        dtrain = xgb.DMatrix(X, y, base_margin=np.full(len(y), initial_score(loss, y)))
        dtrain = lgb.Dataset(X, y, init_score=np.full(len(y), initial_score(loss, y)))

    Parameters
    ----------
    loss : LossFunction
    y_true : array_like
        Targets in the form the loss takes: ``(n,)``, or ``(n, C)`` rows for a
        row-wise loss with probability targets.
    sample_weight : array_like, optional
        One weight per sample.
    n_classes : int, optional
        The number of outputs of a row-wise loss with integer labels
        (default ``max(y) + 1``).

    Returns
    -------
    float or ndarray
        A float for one output per sample, ``(C,)`` for a row-wise loss.
    """
    y = np.asarray(y_true)
    if y.dtype.kind == "f":
        y = y.astype(np.float64, copy=False)
    width = output_width(loss, y, n_classes)
    n = y.shape[0] if y.ndim else 0
    if n == 0:
        raise ValueError("initial_score needs at least one sample")
    mean_loss = margin_loss(loss, "mean")
    shape = (n,) if width is None else (n, width)

    def fun(c: np.ndarray) -> tuple[float, np.ndarray]:
        margins = np.broadcast_to(c if width else c[0], shape)
        value, grad = mean_loss.value_and_derivative(y, margins, sample_weight)
        g = np.asarray(grad, dtype=np.float64)
        return float(value), (g.sum(axis=0) if width else np.array([g.sum()]))

    options = {"gtol": 1e-12, "ftol": 1e-15}
    best = minimize(fun, np.zeros(width or 1), jac=True, method="L-BFGS-B", options=options).x
    return best if width else float(best[0])


class BoostingCallable:
    """Base of the objectives and metrics: one callable for the native and the scikit-learn API.

    Both libraries call a native objective or metric with ``(predictions,
    training set)`` and a scikit-learn one with ``(y_true, predictions[,
    sample_weight])``; ``__call__`` tells them apart by the type of the
    second argument: a subclass names its library's training-set type (XGBoost's
    ``DMatrix``, LightGBM's ``Dataset``; both have ``get_label`` and ``get_weight``).
    """

    #: The library's training-set type, set by each library's subclass.
    data_type: ClassVar[type]

    def __init__(self, loss: LossFunction) -> None:
        self.loss = loss

    def _read(self, data: Any) -> tuple[Any, Any] | None:
        """``(labels, weights)`` of a library's training set, or None if ``data`` is not one."""
        if not isinstance(data, self.data_type):
            return None
        training_set: Any = data
        return training_set.get_label(), training_set.get_weight()

    def _inputs(self, a: Any, b: Any, sample_weight: Any) -> tuple[Any, np.ndarray, Any, bool]:
        """``(labels, margins, weights, native)`` from either calling convention."""
        read = self._read(b)
        if read is not None:
            labels, weight = read
            return labels, np.asarray(a, dtype=np.float64), weight, True
        return a, np.asarray(b, dtype=np.float64), sample_weight, False


class Objective(BoostingCallable):
    """A custom objective: per-sample gradient and Hessian of the weighted sum of ``loss``."""

    def __init__(
        self,
        loss: LossFunction,
        *,
        hessian: HessianPolicy | None = None,
        floor: float = HESSIAN_FLOOR,
    ) -> None:
        super().__init__(loss)
        self.hessian = check_hessian(hessian, loss)
        self.floor = check_floor(floor)
        self._loss = margin_loss(loss, "none")

    def __call__(self, a: Any, b: Any, sample_weight: Any = None) -> tuple[np.ndarray, np.ndarray]:
        labels, margins, weight, _ = self._inputs(a, b, sample_weight)
        y = targets(self._loss, labels, margins)
        return gradient_hessian(self._loss, y, margins, weight, self.hessian, self.floor)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r}, hessian={self.hessian!r})"


class Metric(BoostingCallable):
    """A custom evaluation metric: the weighted mean of ``loss`` (lower is better)."""

    def __init__(self, loss: LossFunction, *, margin: bool = True, name: str | None = None) -> None:
        super().__init__(loss)
        self.margin = margin
        self._loss = margin_loss(loss, "mean") if margin else loss.replace(reduction="mean")
        self.__name__ = name or loss.name or type(loss).__name__

    def value(self, labels: Any, predictions: np.ndarray, sample_weight: Any) -> float:
        y = targets(self._loss, labels, predictions)
        w = _weights(sample_weight, predictions.shape[0])
        return float(self._loss.compute(y, predictions, w))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.loss!r}, margin={self.margin!r})"
