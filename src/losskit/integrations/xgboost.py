"""losskit losses as XGBoost custom objectives and evaluation metrics.

One callable serves both of XGBoost's interfaces::

    import xgboost as xgb
    from losskit import FocalLoss
    from losskit.integrations import xgboost as lkx

    loss = FocalLoss(gamma=2.0)
    booster = xgb.train(params, dtrain, 100, obj=lkx.objective(loss),
                        custom_metric=lkx.metric(loss), evals=[(dvalid, "valid")])
    model = xgb.XGBClassifier(objective=lkx.objective(loss), eval_metric=lkx.metric(loss))

What XGBoost (3.x) passes, and what the adapter does with it:

* Predictions are raw margins, float32, of shape ``(n,)``, or ``(n, C)`` when
  ``num_class`` is set or the label is a matrix. Losses are evaluated on them
  with ``from_logits=True`` (see :func:`losskit.integrations.margin_loss`)
  in float64, and the gradient and Hessian have the predictions' shape.
* Labels come from the ``DMatrix`` (``get_label``); for a row-wise loss
  integer labels become class indices or one-hot rows as the loss needs.
* Sample weights multiply the gradient and the Hessian, as in XGBoost's own
  objectives. ``xgb.train`` leaves them in the ``DMatrix`` (``get_weight()``,
  empty without weights); the scikit-learn wrapper passes
  ``sample_weight=`` only when ``fit`` has weights (and refuses an
  objective without that parameter). The objective is the derivative of the
  weighted *sum*, never divided by ``n``.
* A custom metric receives raw margins whenever the objective is custom
  (``metric(loss)``); with a built-in objective it receives transformed
  predictions (probabilities): use ``metric(loss, margin=False)`` with a loss
  that takes probabilities.
* With a custom objective XGBoost does not estimate the intercept: margins
  start at ``base_score``, 0.5 unless set (a margin for ``xgb.train`` and
  ``XGBRegressor``; a probability, margin 0, for a binary ``XGBClassifier``).
  Pass ``base_margin=`` from :func:`losskit.integrations.initial_score`.

How losskit reproduces XGBoost's built-in objectives (tested):

* ``binary:logistic`` is ``BinaryCrossEntropy(from_logits=True)``: gradient
  ``p - y``, Hessian ``p (1 - p)`` (XGBoost floors it at 1e-16).
* ``reg:squarederror`` has gradient ``f - y`` and Hessian 1, the derivatives
  of ``(f - y)² / 2``: it is ``0.5 * MeanSquaredError()`` (losskit's MSE has
  gradient ``2 (f - y)``, Hessian 2; the Newton step ``-G / (H + lambda)``
  differs from the built-in's only through ``reg_lambda`` and
  ``min_child_weight``, which do not scale with the loss).
* ``multi:softprob`` has gradient ``p - y`` but Hessian ``2 p (1 - p)``, twice
  the exact diagonal (an upper bound of the Hessian). The exact Hessian gives
  the same trees with ``learning_rate``, ``reg_lambda`` and
  ``min_child_weight`` halved.

The Hessian policy (``hessian="exact" | "clip" | "constant"``) and its
default per loss are described in :mod:`losskit.integrations`.
"""

from __future__ import annotations

from typing import Any

from .._base import LossFunction
from ._common import HESSIAN_FLOOR, HessianPolicy, Metric, Objective

try:
    import xgboost as xgb
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        "losskit.integrations.xgboost needs XGBoost: pip install 'losskit[xgboost]'"
    ) from err

__all__ = ["XGBoostMetric", "XGBoostObjective", "metric", "objective"]


class XGBoostObjective(Objective):
    """An XGBoost custom objective (see :func:`objective`)."""

    data_type = xgb.DMatrix


class XGBoostMetric(Metric):
    """An XGBoost custom metric (see :func:`metric`)."""

    data_type = xgb.DMatrix

    def __call__(self, a: Any, b: Any, sample_weight: Any = None) -> Any:
        labels, predictions, weight, native = self._inputs(a, b, sample_weight)
        value = self.value(labels, predictions, weight)
        return (self.__name__, value) if native else value


def objective(
    loss: LossFunction, *, hessian: HessianPolicy | None = None, floor: float = HESSIAN_FLOOR
) -> XGBoostObjective:
    """``loss`` as an XGBoost custom objective.

    Parameters
    ----------
    loss : LossFunction
        Any loss of ``(y_true, y_pred)``; a loss with ``from_logits`` is used
        on margins (``from_logits=True``), its ``reduction`` is ignored.
    hessian : {"exact", "clip", "constant"}, optional
        The Hessian policy; default :func:`losskit.integrations.default_hessian`.
    floor : float, default 1e-6
        The floor of ``hessian="clip"``.

    Returns
    -------
    XGBoostObjective
        Callable as ``obj(predt, dtrain)`` (``xgb.train(obj=...)``) and as
        ``obj(y_true, y_pred, sample_weight=None)`` (``XGBModel(objective=...)``),
        returning ``(grad, hess)`` of the predictions' shape.

    Examples
    --------
    >>> import numpy as np, xgboost as xgb, losskit
    >>> from losskit.integrations import xgboost as lkx
    >>> X = np.arange(20.0).reshape(10, 2); y = np.arange(10.0) % 2
    >>> obj = lkx.objective(losskit.BinaryCrossEntropy())
    >>> grad, hess = obj(np.zeros(10), xgb.DMatrix(X, label=y))
    >>> grad[:2], hess[:2]
    (array([ 0.5, -0.5]), array([0.25, 0.25]))
    """
    return XGBoostObjective(loss, hessian=hessian, floor=floor)


def metric(loss: LossFunction, *, margin: bool = True, name: str | None = None) -> XGBoostMetric:
    """``loss`` as an XGBoost evaluation metric: its weighted mean, lower is better.

    Parameters
    ----------
    loss : LossFunction
    margin : bool, default True
        The predictions are raw margins (what XGBoost passes when the
        objective is custom) and ``from_logits=True`` is used; with False
        they are passed to ``loss`` as they are (a built-in objective's
        transformed predictions).
    name : str, optional
        The metric's name in the evaluation log (default: the registry name).

    Returns
    -------
    XGBoostMetric
        Callable as ``metric(predt, dmatrix) -> (name, value)``
        (``xgb.train(custom_metric=...)``) and as
        ``metric(y_true, y_score, sample_weight=None) -> value``
        (``XGBModel(eval_metric=...)``).
    """
    return XGBoostMetric(loss, margin=margin, name=name)
