"""Gradient boosting with losskit losses: XGBoost and LightGBM objectives, metrics and a model.

* :mod:`losskit.integrations.xgboost` and :mod:`losskit.integrations.lightgbm`:
  ``objective(loss, hessian=...)`` and ``metric(loss)`` for each library's
  native and scikit-learn interfaces (imported on demand: each needs its library);
* :class:`GBDTModel`: boosted trees fitted with a loss, the ``gbdt`` model of
  ``losskit compare``;
* :func:`initial_score`: the best constant margin, where boosting should start;
* :func:`default_hessian`, :func:`margin_loss`: the conventions below.

A boosting objective is the per-sample gradient and Hessian of
``sum_i w_i l(y_i, f_i)`` with respect to the raw margin ``f``: the loss with
``reduction="none"`` and, where it has the option, ``from_logits=True``.
Boosting needs positive Hessians, which MAE, quantile and hinge (zero almost
everywhere), Huber and smooth L1 (zero beyond the kink) and focal loss (not
convex) do not have. The Hessian policy decides:

``"exact"``
    the loss's Hessian diagonal;
``"clip"``
    ``max(h, floor)`` (``floor`` 1e-6 by default, per unit of sample weight);
``"constant"``
    1: a first-order step, the mean negative gradient of each leaf.

:func:`default_hessian` derives the default from the registry
(``losskit.info(name).hessian_kind`` and ``.convex``): ``"constant"`` where
the Hessian vanishes on a region (zero, or exact only almost everywhere),
``"clip"`` for non-convex losses, ``"exact"`` otherwise; ``"clip"`` for a
user's loss and for a composite whose terms disagree.
"""

from ._common import (
    HESSIAN_FLOOR,
    HESSIAN_POLICIES,
    default_hessian,
    initial_score,
    margin_loss,
)
from ._gbdt import GBDTModel

__all__ = [
    "HESSIAN_FLOOR",
    "HESSIAN_POLICIES",
    "GBDTModel",
    "default_hessian",
    "initial_score",
    "margin_loss",
]
