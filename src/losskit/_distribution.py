"""Divergences between probability distributions over the last axis."""

from __future__ import annotations

from ._base import Reduction, Terms, check_bool
from ._classification import ClassRowsLoss, row_xent
from ._compat import Array, Namespace
from ._numerics import xlogy

__all__ = ["KLDivergence"]


class KLDivergence(ClassRowsLoss):
    r"""Kullback-Leibler divergence ``KL(y ‖ q)`` of each row, averaged over rows.

    .. math::
        l = \sum_c y_c \log \frac{y_c}{q_c}
          = \sum_c y_c \log y_c - \sum_c y_c \log q_c, \qquad 0 \log 0 = 0,

    with ``q = softmax(x)`` when ``from_logits=True``. The first sum does not
    depend on the prediction, so the derivatives are those of the
    cross-entropy: ``-y/q`` and ``y/q²`` for probabilities (each ``log q``
    clamped at -100 and the divisions floored at 1e-12), ``S q - y`` and
    ``S q (1 - q)`` for logits (``S = Σ_c y_c``). For 2-d input, "mean" equals
    ``torch.nn.functional.kl_div(log q, y, reduction="batchmean")``; for more
    axes losskit averages over every row (PyTorch divides by the first axis
    only). The seed's formula sums over samples instead of averaging.

    Parameters
    ----------
    from_logits : bool, default False
    reduction : {"mean", "sum", "none"}, default "mean"

    References
    ----------
    .. [1] Kullback, S., Leibler, R. A. (1951). On information and sufficiency.
       *Annals of Mathematical Statistics* 22(1), 79-86.
    """

    name = "kl_divergence"

    def __init__(self, *, from_logits: bool = False, reduction: Reduction = "mean") -> None:
        self.from_logits = check_bool("from_logits", from_logits)
        super().__init__(reduction=reduction)

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y, y_pred = arrays
        terms = row_xent(xp, y, y_pred, self.from_logits, order)
        return terms._replace(value=terms.value + xp.sum(xlogy(y, y), axis=-1))
