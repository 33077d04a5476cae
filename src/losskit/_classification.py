"""Classification losses: binary and softmax cross-entropy, hinge losses.

Derivatives are taken with respect to ``y_pred``: the probabilities when
``from_logits=False`` (the default, as in the seed and Keras), the logits
otherwise. Probability inputs are used as given (rows are not renormalised)
and every ``log(p)`` is clamped at -100, as PyTorch's ``BCELoss`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._base import (
    ElementwiseLoss,
    Reduction,
    RowwiseLoss,
    Terms,
    check_bool,
    check_choice,
    check_real,
    check_unit_interval,
    check_weights,
    first_where,
    require_values,
)
from ._compat import Array, Namespace, device
from ._numerics import (
    clamped_log,
    clamped_log1m,
    propagate_nan,
    shifted_logits,
    sigmoid,
    softplus,
)

__all__ = [
    "BinaryCrossEntropy",
    "CategoricalCrossEntropy",
    "HingeLoss",
    "MulticlassHingeLoss",
    "SparseCategoricalCrossEntropy",
    "SquaredHingeLoss",
]

#: Floor of ``p (1 - p)`` (and of ``p``) in derivatives of probability inputs,
#: PyTorch's ``BCELoss`` backward: the derivative stays finite at p = 0 or 1.
PROB_EPS = 1e-12


# --------------------------------------------------------------------------
# shared kernels
# --------------------------------------------------------------------------


def mul0(xp: Namespace, c: Array, v: Array) -> Array:
    """``c * v`` with ``0 * v = 0`` even for infinite ``v`` (a term with no weight vanishes)."""
    return xp.where(c == 0, xp.zeros_like(v), c * v)


def sigmoid_pair(xp: Namespace, x: Array) -> tuple[Array, Array, Array]:
    """``(σ(x), σ(-x), σ(x) σ(-x))``, each to full relative precision.

    ``σ(-x)`` is not formed as ``1 - σ(x)`` (which is 0 past x ≈ 37) and the
    product is ``e / (1 + e)²`` with ``e = exp(-|x|)``: no overflow, no NaN at ±inf.
    """
    p = sigmoid(x)
    q = sigmoid(-x)
    e = xp.exp(-xp.abs(x))
    return p, q, e / ((1.0 + e) * (1.0 + e))


def binary_xent(
    xp: Namespace, a: Array, b: Array, y_pred: Array, from_logits: bool, order: int
) -> Terms:
    """``-a log p - b log(1 - p)``: binary cross-entropy with term weights ``a``, ``b``.

    ``a = y`` and ``b = 1 - y`` is the plain loss; ``pos_weight`` and the
    seed's class weights scale ``a`` and ``b``. From logits ``x``, with
    ``-log σ(x) = softplus(-x)``:

    * value ``a softplus(-x) + b softplus(x)`` (a weightless term is 0 even at
      ``x = ±inf``, so BCE at ``x = +inf, y = 1`` is 0, not NaN);
    * derivative ``b σ(x) - a σ(-x)``; Hessian ``(a + b) σ(x) σ(-x)``.

    From probabilities: value with clamped logs, derivative
    ``(b p - a (1 - p)) / max(p (1 - p), 1e-12)`` (PyTorch's backward),
    Hessian ``a / max(p, 1e-12)² + b / max(1 - p, 1e-12)²``.
    """
    if from_logits:
        x = y_pred
        value = mul0(xp, a, softplus(-x)) + mul0(xp, b, softplus(x))
        grad = hess = None
        if order >= 1:
            p, q, pq = sigmoid_pair(xp, x)
            grad = b * p - a * q
            if order >= 2:
                hess = (a + b) * pq
        return Terms(value, grad, hess)
    p = y_pred
    value = 0.0 - (a * clamped_log(p) + b * clamped_log1m(p))  # 0.0 - x: no -0.0
    grad = hess = None
    if order >= 1:
        one_m = 1.0 - p
        grad = (b * p - a * one_m) / xp.clip(p * one_m, min=PROB_EPS)
        if order >= 2:
            pe = xp.clip(p, min=PROB_EPS)
            qe = xp.clip(one_m, min=PROB_EPS)
            hess = a / (pe * pe) + b / (qe * qe)
    return Terms(value, grad, hess)


def row_xent(xp: Namespace, a: Array, y_pred: Array, from_logits: bool, order: int) -> Terms:
    """``-sum_c a_c log p_c`` over the last axis, for non-negative target weights ``a``.

    From logits, ``-log softmax(x)_c = lse(z) - z_c`` on the max-shifted
    ``z`` (exact under any shared offset); entries with ``a_c = 0`` add 0 even
    where ``x_c = -inf`` (masked classes). Derivative ``A p - a`` with
    ``A = sum_c a_c``; Hessian diagonal ``A p (1 - p)``. From probabilities:
    value with clamped logs, derivative ``-a / max(p, 1e-12)``, Hessian
    ``a / max(p, 1e-12)²``.
    """
    if from_logits:
        z, lse = shifted_logits(y_pred)
        value = xp.sum(mul0(xp, a, lse - z), axis=-1)
        grad = hess = None
        if order >= 1:
            total = xp.sum(a, axis=-1, keepdims=True)
            p = xp.exp(z - lse)
            grad = total * p - a
            if order >= 2:
                hess = total * p * (1.0 - p)
        return Terms(value, grad, hess)
    p = y_pred
    value = 0.0 - xp.sum(a * clamped_log(p), axis=-1)
    grad = hess = None
    if order >= 1:
        pe = xp.clip(p, min=PROB_EPS)
        grad = -a / pe
        if order >= 2:
            hess = a / (pe * pe)
    return Terms(value, grad, hess)


def check_probabilities(xp: Namespace, y_pred: Array, from_logits: bool) -> None:
    if not from_logits:
        check_unit_interval(
            xp, y_pred, "y_pred", " (probabilities; pass from_logits=True for logits)"
        )


def class_vector(xp: Namespace, values: tuple[float, ...], like: Array, name: str) -> Array:
    """A per-class parameter as an array on ``like``'s device, one entry per class."""
    if len(values) != like.shape[-1]:
        raise ValueError(
            f"{name} has {len(values)} entries but y_pred has {like.shape[-1]} classes "
            f"on its last axis (shape {tuple(like.shape)})"
        )
    return xp.asarray(values, dtype=like.dtype, device=device(like))


def _sample_binary(rng: Any, shape: tuple[int, ...], from_logits: bool) -> tuple[Any, Any]:
    y = rng.integers(0, 2, size=shape).astype(float)
    if from_logits:
        return y, rng.normal(size=shape) * 2.0
    return y, rng.uniform(0.02, 0.98, size=shape)


def _sample_rows(rng: Any, shape: tuple[int, ...], from_logits: bool) -> tuple[Any, Any]:
    """Soft targets (rows summing to 1) and logits or probability rows."""
    t = rng.dirichlet([1.0] * shape[-1], size=shape[:-1])
    if from_logits:
        return t, rng.normal(size=shape) * 2.0
    p = rng.dirichlet([2.0] * shape[-1], size=shape[:-1])
    return t, 0.01 + 0.98 * p


def _sample_labels(rng: Any, shape: tuple[int, ...], from_logits: bool) -> tuple[Any, Any]:
    labels = rng.integers(0, shape[-1], size=shape[:-1])
    return labels, _sample_rows(rng, shape, from_logits)[1]


class BinaryLoss(ElementwiseLoss):
    """Binary labels in [0, 1] (soft allowed) against probabilities, or logits (``from_logits``)."""

    from_logits: bool

    def _check_values(self, xp: Namespace, y_true: Array, y_pred: Array) -> None:
        check_unit_interval(xp, y_true, "binary labels y_true", " (soft labels allowed)")
        check_probabilities(xp, y_pred, self.from_logits)

    def _sample(self, rng: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
        return _sample_binary(rng, shape, self.from_logits)


class ClassRowsLoss(RowwiseLoss):
    """Probability rows over the last axis, or logits (``from_logits``; a softmax needs 2 classes).

    Targets are rows in [0, 1] of ``y_pred``'s shape, or integer labels when ``_labels`` is set.
    """

    from_logits: bool

    @property
    def _min_classes(self) -> int:  # type: ignore[override]
        return 2 if self.from_logits else 1

    def _check_values(self, xp: Namespace, y_true: Array, y_pred: Array) -> None:
        if not self._labels:
            check_unit_interval(xp, y_true, "targets y_true", " (probability or one-hot rows)")
        check_probabilities(xp, y_pred, self.from_logits)

    def _sample(self, rng: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
        sampler = _sample_labels if self._labels else _sample_rows
        return sampler(rng, shape, self.from_logits)


# --------------------------------------------------------------------------
# binary cross-entropy
# --------------------------------------------------------------------------


def _pos_weight(value: Any) -> float | tuple[float, ...] | None:
    if value is None:
        return None
    if isinstance(value, Sequence) or hasattr(value, "__len__"):
        return check_weights("pos_weight", value)
    return check_real("pos_weight", value, low=0.0)


class BinaryCrossEntropy(BinaryLoss):
    r"""Binary cross-entropy (log loss) on probabilities or logits.

    .. math::
        l = -\bigl[w_+\, y \log p + (1 - y) \log(1 - p)\bigr]

    with ``p = σ(x)`` when ``from_logits=True``. Derivatives with respect to
    ``p``: ``(p - y)/(p(1-p))`` and ``y/p² + (1-y)/(1-p)²``; with respect to
    the logit ``x``: ``σ(x) - y`` and ``σ(x)(1 - σ(x))`` (both for ``w_+ = 1``).

    Labels may be soft, in [0, 1]. On probabilities each log is clamped at
    -100 and the derivative divides by ``max(p(1-p), 1e-12)`` (PyTorch
    ``BCELoss``); on logits the softplus form is exact for any ``x`` and gives
    the limits at ``±inf`` (0 with gradient 0 for ``x = +inf, y = 1``). With
    logits and ``pos_weight`` it equals ``torch.nn.BCEWithLogitsLoss``.

    Parameters
    ----------
    from_logits : bool, default False
        Whether ``y_pred`` holds logits instead of probabilities.
    pos_weight : float or sequence of float, optional
        Weight ``w_+`` of the positive term (one per entry of the last axis
        for a sequence), as PyTorch's ``pos_weight``; "mean" still divides by
        the number of elements.
    label_smoothing : float, default 0.0
        ``e`` in [0, 1]: labels become ``y (1 - e) + e / 2`` (Keras).
    reduction : {"mean", "sum", "none"}, default "mean"

    References
    ----------
    .. [1] Bishop, C. M. (2006). *Pattern Recognition and Machine Learning*, §4.3.2.
    """

    name = "binary_cross_entropy"

    def __init__(
        self,
        *,
        from_logits: bool = False,
        pos_weight: float | Sequence[float] | None = None,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
    ) -> None:
        self.from_logits = check_bool("from_logits", from_logits)
        self.pos_weight = _pos_weight(pos_weight)
        self.label_smoothing = check_real("label_smoothing", label_smoothing, low=0.0, high=1.0)
        super().__init__(reduction=reduction)

    def _term_weights(self, xp: Namespace, y: Array, y_pred: Array) -> tuple[Array, Array]:
        e = self.label_smoothing
        if e:
            y = y * (1.0 - e) + 0.5 * e
        a, b = y, 1.0 - y
        pw = self.pos_weight
        if isinstance(pw, tuple):
            if y_pred.ndim == 0:
                raise ValueError("a sequence pos_weight needs y_pred with a last axis")
            a = a * class_vector(xp, pw, y_pred, "pos_weight")
        elif pw is not None:
            a = a * pw
        return a, b

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y, y_pred = arrays
        a, b = self._term_weights(xp, y, y_pred)
        return binary_xent(xp, a, b, y_pred, self.from_logits, order)


# --------------------------------------------------------------------------
# softmax cross-entropy
# --------------------------------------------------------------------------


class CategoricalCrossEntropy(ClassRowsLoss):
    r"""Cross-entropy between target distributions and predicted ones, over the last axis.

    .. math::
        l = -\sum_c w_c\, t_c \log p_c, \qquad t = y (1 - e) + e / C

    with ``p = softmax(x)`` when ``from_logits=True``. Derivatives with
    respect to ``p``: ``-w_c t_c / p_c`` and ``w_c t_c / p_c²``; with respect
    to the logits: ``A p - w t`` and ``A p (1 - p)``, ``A = sum_c w_c t_c``
    (the exact Hessian diagonal).

    Targets may be soft (any row of non-negative weights in [0, 1]);
    probabilities are used as given. With logits this equals
    ``torch.nn.functional.cross_entropy`` with probability targets (class axis
    last instead of 1; "mean" divides by the number of rows, not by the class
    weights, as PyTorch does for probability targets). The seed's derivative
    ``-y/p`` is right for probabilities; the seed clips ``p`` to
    ``[1e-15, 1 - 1e-15]``, which is 1.0 in float32 and so gives ``log(0)``.

    Parameters
    ----------
    from_logits : bool, default False
    class_weight : sequence of float, optional
        One non-negative weight per class.
    label_smoothing : float, default 0.0
        ``e`` in [0, 1].
    reduction : {"mean", "sum", "none"}, default "mean"
    """

    name = "categorical_cross_entropy"

    def __init__(
        self,
        *,
        from_logits: bool = False,
        class_weight: Sequence[float] | None = None,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
    ) -> None:
        self.from_logits = check_bool("from_logits", from_logits)
        self.class_weight = check_weights("class_weight", class_weight)
        self.label_smoothing = check_real("label_smoothing", label_smoothing, low=0.0, high=1.0)
        super().__init__(reduction=reduction)

    def _targets(self, xp: Namespace, y: Array, y_pred: Array) -> Array:
        e = self.label_smoothing
        if e:
            y = y * (1.0 - e) + e / y_pred.shape[-1]
        if self.class_weight is not None:
            y = y * class_vector(xp, self.class_weight, y_pred, "class_weight")
        return y

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y, y_pred = arrays
        return row_xent(xp, self._targets(xp, y, y_pred), y_pred, self.from_logits, order)


class SparseCategoricalCrossEntropy(ClassRowsLoss):
    r"""Cross-entropy with integer class labels, ``torch.nn.functional.cross_entropy`` semantics.

    .. math::
        l_n = (1 - e)\, w_{y_n} (-\log p_{n, y_n})
              + \frac{e}{C} \sum_c w_c (-\log p_{n,c})

    with ``p = softmax(x)`` when ``from_logits=True``. "mean" divides by
    ``sum_n w_{y_n}`` over the samples whose label is not ``ignore_index``
    (PyTorch's weighted mean); ignored samples add nothing to the value, the
    denominator or the gradient, and an all-ignored batch gives 0 with a zero
    gradient (PyTorch gives NaN). Derivatives with respect to the logits:
    ``A p - a`` and ``A p (1 - p)`` with ``a_c`` the coefficient of
    ``-log p_c`` above and ``A = sum_c a_c``; with respect to probabilities,
    ``-a / p`` and ``a / p²``.

    Parameters
    ----------
    from_logits : bool, default False
    class_weight : sequence of float, optional
        One non-negative weight per class (PyTorch's ``weight``).
    ignore_index : int, optional
        A label value that contributes nothing (PyTorch uses -100).
    label_smoothing : float, default 0.0
        ``e`` in [0, 1].
    reduction : {"mean", "sum", "none"}, default "mean"
    """

    name = "sparse_categorical_cross_entropy"
    _labels = True

    def __init__(
        self,
        *,
        from_logits: bool = False,
        class_weight: Sequence[float] | None = None,
        ignore_index: int | None = None,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
    ) -> None:
        self.from_logits = check_bool("from_logits", from_logits)
        self.class_weight = check_weights("class_weight", class_weight)
        if ignore_index is not None and (
            isinstance(ignore_index, bool) or not isinstance(ignore_index, int)
        ):
            raise ValueError(f"ignore_index must be an integer or None; got {ignore_index!r}")
        self.ignore_index = ignore_index
        self.label_smoothing = check_real("label_smoothing", label_smoothing, low=0.0, high=1.0)
        super().__init__(reduction=reduction)

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        labels, y_pred = arrays
        n_classes = y_pred.shape[-1]
        e = self.label_smoothing
        valid = None
        if self.ignore_index is not None:
            valid = labels != self.ignore_index
            labels = xp.where(valid, labels, xp.zeros_like(labels))
        classes = xp.arange(n_classes, device=device(y_pred))
        onehot = xp.astype(labels[..., None] == classes, y_pred.dtype)
        w = (
            None
            if self.class_weight is None
            else class_vector(xp, self.class_weight, y_pred, "class_weight")
        )
        w_y = (
            xp.ones(labels.shape, dtype=y_pred.dtype, device=device(y_pred))
            if w is None
            else xp.sum(onehot * w, axis=-1)
        )
        a = ((1.0 - e) * w_y)[..., None] * onehot
        if e:
            a = a + (e / n_classes) * (xp.ones_like(onehot) if w is None else w)
        norm = None if w is None else w_y
        if valid is not None:
            v = xp.astype(valid, y_pred.dtype)
            a = a * v[..., None]
            norm = v if norm is None else norm * v
        terms = row_xent(xp, a, y_pred, self.from_logits, order)
        return terms._replace(norm=norm)


# --------------------------------------------------------------------------
# hinge losses
# --------------------------------------------------------------------------


def signed_labels(xp: Namespace, y: Array) -> Array:
    """Labels in {-1, 1}; an array whose labels all lie in {0, 1} is mapped by ``2y - 1``.

    The mapping is decided in the array library (no host read), so it also
    works under tracing; other values raise where values can be read. NaN
    labels pass and propagate (SPEC §3).
    """
    in01 = (y == 0) | (y == 1) | xp.isnan(y)
    require_values(
        xp,
        y,
        lambda: ~(in01 | (y == -1)),
        lambda: (
            "hinge labels must lie in {-1, 1} (or all in {0, 1}); found "
            f"{float(first_where(xp, ~(in01 | (y == -1)), y)):g}"
        ),
    )
    require_values(
        xp,
        y,
        lambda: xp.any(y == -1) & xp.any(y == 0),
        lambda: "hinge labels mix -1 and 0; use {-1, 1} or {0, 1}",
    )
    return xp.where(xp.all(in01), 2.0 * y - 1.0, y)


class HingeLoss(ElementwiseLoss):
    r"""Hinge loss for labels in {-1, 1}: ``l = max(0, margin - y ŷ)``.

    .. math::
        l = \max(0, m - y \hat y), \qquad
        \frac{\partial l}{\partial \hat y} = -y\, \mathbb 1[m - y \hat y > 0],
        \qquad \frac{\partial^2 l}{\partial \hat y^2} = 0 .

    Labels all in {0, 1} are mapped to {-1, 1} (Keras). At the margin the
    derivative is 0 (PyTorch's autograd for ``relu(m - y ŷ)``); the Hessian
    is 0 almost everywhere.

    Parameters
    ----------
    margin : float, default 1.0
        Must be >= 0.
    reduction : {"mean", "sum", "none"}, default "mean"

    References
    ----------
    .. [1] Cortes, C., Vapnik, V. (1995). Support-vector networks. *Machine Learning* 20, 273-297.
    """

    name = "hinge"
    _power = 1

    def __init__(self, *, margin: float = 1.0, reduction: Reduction = "mean") -> None:
        self.margin = check_real("margin", margin, low=0.0)
        super().__init__(reduction=reduction)

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y, y_pred = arrays
        y = signed_labels(xp, y)
        z = self.margin - y * y_pred
        active = z > 0
        zp = xp.clip(z, min=0.0)
        if self._power == 1:
            grad = propagate_nan(z, xp.where(active, -y, xp.zeros_like(y))) if order >= 1 else None
            hess = xp.zeros_like(z) if order >= 2 else None
            return Terms(zp, grad, hess)
        grad = -2.0 * y * zp if order >= 1 else None
        hess = 2.0 * xp.astype(active, z.dtype) if order >= 2 else None
        return Terms(zp * zp, grad, hess)

    def _sample(self, rng: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
        y = rng.choice([-1.0, 1.0], size=shape)
        z = rng.normal(size=shape) * 2.0
        z = z + (abs(z) < 0.05) * 0.1  # keep away from the kink z = 0
        return y, (self.margin - z) * y


class SquaredHingeLoss(HingeLoss):
    r"""Squared hinge loss: ``l = max(0, margin - y ŷ)²``.

    .. math::
        l = \max(0, m - y\hat y)^2, \qquad
        \frac{\partial l}{\partial \hat y} = -2y \max(0, m - y\hat y),
        \qquad \frac{\partial^2 l}{\partial \hat y^2} = 2\,\mathbb 1[m - y\hat y > 0].

    Labels as for :class:`HingeLoss`. Continuously differentiable; the
    Hessian at the margin is 0.

    Parameters
    ----------
    margin : float, default 1.0
    reduction : {"mean", "sum", "none"}, default "mean"
    """

    name = "squared_hinge"
    _power = 2


class MulticlassHingeLoss(RowwiseLoss):
    r"""Multi-class hinge loss (Weston-Watkins), PyTorch ``MultiMarginLoss`` semantics.

    .. math::
        l_n = \frac{1}{C} \sum_{i \ne y_n} w_{y_n} \max(0, m - x_{y_n} + x_i)^p

    for integer labels ``y_n`` and scores ``x``, ``p`` in {1, 2}. The
    derivative with respect to ``x_i`` (``i ≠ y``) is
    ``w_y p max(0, z_i)^{p-1} / C`` with ``z_i = m - x_y + x_i`` and minus
    their sum for ``x_y``; at ``z_i = 0`` it is 0 (PyTorch's convention). The
    Hessian diagonal is 0 for ``p = 1`` and ``2 w_y [z_i > 0] / C`` (summed for
    ``x_y``) for ``p = 2``. "mean" divides by the number of samples.

    Parameters
    ----------
    margin : float, default 1.0
    p : {1, 2}, default 1
    class_weight : sequence of float, optional
        One weight per class, applied to the sample's label (PyTorch's ``weight``).
    reduction : {"mean", "sum", "none"}, default "mean"

    References
    ----------
    .. [1] Weston, J., Watkins, C. (1999). Support vector machines for
       multi-class pattern recognition. *ESANN*.
    """

    name = "multiclass_hinge"
    _labels = True

    def __init__(
        self,
        *,
        margin: float = 1.0,
        p: int = 1,
        class_weight: Sequence[float] | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        self.margin = check_real("margin", margin, low=0.0)
        self.p = check_choice("p", p, (1, 2))
        self.class_weight = check_weights("class_weight", class_weight)
        super().__init__(reduction=reduction)

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        labels, x = arrays
        n_classes = x.shape[-1]
        classes = xp.arange(n_classes, device=device(x))
        onehot = labels[..., None] == classes
        x_y = xp.sum(xp.where(onehot, x, xp.zeros_like(x)), axis=-1, keepdims=True)
        scale = xp.full(labels.shape, 1.0 / n_classes, dtype=x.dtype, device=device(x))
        if self.class_weight is not None:
            w = class_vector(xp, self.class_weight, x, "class_weight")
            scale = scale * xp.sum(xp.where(onehot, w, xp.zeros_like(x)), axis=-1)
        scale = scale[..., None]
        z = xp.where(onehot, xp.zeros_like(x), self.margin - x_y + x)
        zp = xp.clip(z, min=0.0)
        active = propagate_nan(z, xp.astype(z > 0, x.dtype))
        value = xp.sum(zp if self.p == 1 else zp * zp, axis=-1) * scale[..., 0]
        grad = hess = None
        if order >= 1:
            d = scale * (active if self.p == 1 else 2.0 * zp)
            grad = d - xp.astype(onehot, x.dtype) * xp.sum(d, axis=-1, keepdims=True)
            if order >= 2:
                h = xp.zeros_like(x) if self.p == 1 else 2.0 * scale * active
                hess = h + xp.astype(onehot, x.dtype) * xp.sum(h, axis=-1, keepdims=True)
        return Terms(value, grad, hess)

    def _sample(self, rng: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
        labels = rng.integers(0, shape[-1], size=shape[:-1])
        x = rng.normal(size=shape) * 2.0
        # keep every z_i = margin - x_y + x_i away from the kink 0
        onehot = labels[..., None] == range(shape[-1])
        x_y = (x * onehot).sum(-1, keepdims=True)
        z = self.margin - x_y + x
        x = x + ((abs(z) < 0.05) & ~onehot) * 0.1
        return labels, x
