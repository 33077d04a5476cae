"""losskit losses as LightGBM custom objectives and evaluation metrics.

One callable serves both of LightGBM's interfaces::

    import lightgbm as lgb
    from losskit import HuberLoss
    from losskit.integrations import lightgbm as lkl

    loss = HuberLoss(delta=2.0)
    booster = lgb.train({"objective": lkl.objective(loss), "metric": "None"}, dtrain,
                        valid_sets=[dvalid], feval=lkl.metric(loss))
    model = lgb.LGBMRegressor(objective=lkl.objective(loss))
    model.fit(X, y, eval_set=[(X_valid, y_valid)], eval_metric=lkl.metric(loss))

What LightGBM (4.x) passes, and what the adapter does with it:

* Predictions are raw scores, float64, of shape ``(n,)``, or ``(n, C)`` when
  ``num_class`` is set (a view of LightGBM's class-major buffer, reused
  between rounds). Losses are evaluated on them with ``from_logits=True``
  (see :func:`losskit.integrations.margin_loss`), and the gradient and
  Hessian have the predictions' shape (LightGBM flattens them class-major
  and casts them to float32).
* Labels come from the ``Dataset`` (one per sample, stored as float32); for
  a row-wise loss they become class indices or one-hot rows as it needs.
* Sample weights (``Dataset(weight=...)``, ``fit(sample_weight=...)``) are
  *not* applied by LightGBM to a custom objective's output: ``lgb.train``
  leaves them in the ``Dataset`` (``get_weight()``, None without weights)
  and the scikit-learn wrapper passes them as the third argument to a
  callable of three parameters. The adapter multiplies the gradient and
  Hessian by them, as LightGBM's own objectives do. The objective is the
  derivative of the weighted *sum*, never divided by ``n``.
* A custom metric receives raw scores whenever the objective is custom
  (``metric(loss)``) and transformed predictions with a built-in one
  (``metric(loss, margin=False)`` with a loss on probabilities).
* With a custom objective training starts at 0 (``boost_from_average`` does
  not apply): pass ``init_score=`` from :func:`losskit.integrations.initial_score`.
  Predictions do not include the ``init_score``: add it back.
* ``LGBMClassifier`` with a custom objective returns raw scores from
  ``predict`` and ``predict_proba`` (with a warning): use
  ``predict(X, raw_score=True)`` and the loss's link.

How losskit reproduces LightGBM's built-in objectives (tested):

* ``binary`` is ``BinaryCrossEntropy(from_logits=True)``: gradient ``p - y``,
  Hessian ``p (1 - p)``.
* ``regression`` (L2) has gradient ``f - y`` and Hessian 1: it is
  ``0.5 * MeanSquaredError()``.
* ``multiclass`` has gradient ``p - y`` and Hessian ``C/(C-1) p (1 - p)`` for
  ``C`` classes, the exact diagonal scaled by ``C/(C-1)``. The exact Hessian
  gives the same model with ``learning_rate``, ``lambda_l2`` and
  ``min_sum_hessian_in_leaf`` divided by ``C/(C-1)`` (up to float32 rounding
  of near-tied splits when the factor is not a power of 2).

The Hessian policy (``hessian="exact" | "clip" | "constant"``) and its
default per loss are described in :mod:`losskit.integrations`.
"""

from __future__ import annotations

from typing import Any

from .._base import LossFunction
from ._common import HESSIAN_FLOOR, HessianPolicy, Metric, Objective

try:
    import lightgbm as lgb
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        "losskit.integrations.lightgbm needs LightGBM: pip install 'losskit[lightgbm]'"
    ) from err

__all__ = ["LightGBMMetric", "LightGBMObjective", "metric", "objective"]


class LightGBMObjective(Objective):
    """A LightGBM custom objective (see :func:`objective`)."""

    data_type = lgb.Dataset


class LightGBMMetric(Metric):
    """A LightGBM custom metric (see :func:`metric`)."""

    data_type = lgb.Dataset

    def __call__(self, a: Any, b: Any, sample_weight: Any = None) -> tuple[str, float, bool]:
        labels, predictions, weight, _ = self._inputs(a, b, sample_weight)
        return self.__name__, self.value(labels, predictions, weight), False


def objective(
    loss: LossFunction, *, hessian: HessianPolicy | None = None, floor: float = HESSIAN_FLOOR
) -> LightGBMObjective:
    """``loss`` as a LightGBM custom objective.

    Parameters
    ----------
    loss : LossFunction
        Any loss of ``(y_true, y_pred)``; a loss with ``from_logits`` is used
        on raw scores (``from_logits=True``), its ``reduction`` is ignored.
    hessian : {"exact", "clip", "constant"}, optional
        The Hessian policy; default :func:`losskit.integrations.default_hessian`.
    floor : float, default 1e-6
        The floor of ``hessian="clip"``.

    Returns
    -------
    LightGBMObjective
        Callable as ``obj(preds, train_data)`` (``params["objective"]`` of
        ``lgb.train``) and as ``obj(y_true, y_pred, weight)``
        (``LGBMModel(objective=...)``), returning ``(grad, hess)`` of the
        predictions' shape.

    Examples
    --------
    >>> import numpy as np, lightgbm as lgb, losskit
    >>> from losskit.integrations import lightgbm as lkl
    >>> obj = lkl.objective(0.5 * losskit.MeanSquaredError())
    >>> grad, hess = obj(np.array([1.0, 2.0]), np.array([0.0, 4.0]), np.array([1.0, 3.0]))
    >>> grad, hess
    (array([-1.,  6.]), array([1., 3.]))
    """
    return LightGBMObjective(loss, hessian=hessian, floor=floor)


def metric(loss: LossFunction, *, margin: bool = True, name: str | None = None) -> LightGBMMetric:
    """``loss`` as a LightGBM evaluation metric: its weighted mean, lower is better.

    Parameters
    ----------
    loss : LossFunction
    margin : bool, default True
        The predictions are raw scores (what LightGBM passes when the
        objective is custom) and ``from_logits=True`` is used; with False
        they are passed to ``loss`` as they are (a built-in objective's
        transformed predictions).
    name : str, optional
        The metric's name in the evaluation results (default: the registry name).

    Returns
    -------
    LightGBMMetric
        Callable as ``feval(preds, eval_data)`` (``lgb.train(feval=...)``) and
        as ``metric(y_true, y_pred, weight)`` (``fit(eval_metric=...)``),
        returning ``(name, value, False)``.
    """
    return LightGBMMetric(loss, margin=margin, name=name)
