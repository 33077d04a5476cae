"""Segmentation losses: soft Dice, Jaccard (IoU) and Tversky, and the seed's medical-imaging loss.

Dice, Jaccard and Tversky are one function, the Tversky index

.. math::
    T = \\frac{TP + s}{TP + \\alpha FP + \\beta FN + s},\\quad
    TP = \\sum y p,\\ FP = \\sum (1 - y) p,\\ FN = \\sum y (1 - p),

with Dice ``= T(½, ½, s/2) = (2 Σyp + s) / (Σy + Σp + s)`` and Jaccard
``= T(1, 1, s) = (Σyp + s) / (Σy + Σp - Σyp + s)``. Inputs are probabilities
(and soft or binary masks) in [0, 1].
"""

from __future__ import annotations

import math
from typing import Any

from ._base import (
    LossFunction,
    Reduction,
    Terms,
    check_bool,
    check_real,
    check_same_shape,
    check_unit_interval,
    to_float,
)
from ._classification import binary_xent
from ._compat import Array, Namespace, device

__all__ = ["DiceLoss", "JaccardLoss", "MedicalImagingLoss", "TverskyLoss"]


class _OverlapLoss(LossFunction):
    """``1 - T`` for the Tversky index ``T`` of ``(alpha, beta, smooth)`` (see the module)."""

    def __init__(
        self, *, smooth: float, per_sample: bool, per_class: bool, reduction: Reduction
    ) -> None:
        self.smooth = check_real("smooth", smooth, low=0.0)
        self.per_sample = check_bool("per_sample", per_sample)
        self.per_class = check_bool("per_class", per_class)
        super().__init__(reduction=reduction)

    def _tversky(self) -> tuple[float, float, float]:
        raise NotImplementedError

    def _prepare(self, xp: Namespace, arrays: tuple[Array, ...], dtype: Any) -> tuple[Array, ...]:
        y_true, y_pred = arrays
        check_same_shape(y_true, y_pred)
        needed = int(self.per_sample) + int(self.per_class)
        if y_pred.ndim < needed:
            raise ValueError(
                f"{type(self).__name__}(per_sample={self.per_sample}, per_class={self.per_class}) "
                f"needs y_pred with at least {needed} axes; got shape {tuple(y_pred.shape)}"
            )
        y_true = to_float(xp, y_true, dtype, "y_true")
        y_pred = to_float(xp, y_pred, dtype, "y_pred")
        check_unit_interval(xp, y_true, "masks y_true")
        check_unit_interval(xp, y_pred, "y_pred", " (probabilities)")
        return y_true, y_pred

    def _sample_shape(self, arrays: tuple[Array, ...]) -> tuple[int, ...]:
        return tuple(arrays[1].shape[:1]) if self.per_sample else ()

    def _axes(self, ndim: int) -> tuple[int, ...]:
        """The axes summed over: all but the batch (per_sample) and the classes (per_class)."""
        first = 1 if self.per_sample else 0
        last = ndim - 1 if self.per_class else ndim
        return tuple(range(first, last))

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y, p = arrays
        alpha, beta, s = self._tversky()
        axes = self._axes(p.ndim)
        tp = xp.sum(y * p, axis=axes, keepdims=True)
        fp = xp.sum((1.0 - y) * p, axis=axes, keepdims=True)
        fn = xp.sum(y * (1.0 - p), axis=axes, keepdims=True)
        num = tp + s
        den = tp + alpha * fp + beta * fn + s
        empty = den == 0  # only with smooth = 0: empty mask and prediction, defined as a match
        den_safe = xp.where(empty, xp.ones_like(den), den)
        score = xp.where(empty, xp.ones_like(den), num / den_safe)
        per_group = 1.0 - score
        n_classes = p.shape[-1] if self.per_class else 1
        kept = (0,) if self.per_sample else ()
        value = xp.sum(per_group, axis=tuple(i for i in range(p.ndim) if i not in kept)) / n_classes
        grad = hess = None
        if order >= 1:
            a = y + alpha * (1.0 - y) - beta * y  # d den / d p_i
            resid = y * den_safe - num * a  # numerator of -d score / d p_i, times den²
            grad = xp.where(empty, xp.zeros_like(p), -resid / (den_safe * den_safe)) / n_classes
            if order >= 2:
                hess = xp.where(empty, xp.zeros_like(p), 2.0 * a * resid / den_safe**3) / n_classes
        return Terms(value, grad, hess)

    def _sample(self, rng: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
        y = (rng.uniform(size=shape) < 0.4).astype(float)
        return y, rng.uniform(0.02, 0.98, size=shape)


_OVERLAP_PARAMS = """
    smooth : float, default 1e-6
        The smoothing term ``s >= 0``, in numerator and denominator, so that an
        empty mask predicted empty scores a perfect match (loss 0). With
        ``smooth=0`` that case is defined as 0 too.
    per_sample : bool, default False
        False: one global score over every element (the seed's). True: one
        score per sample (first axis) over the other axes, then ``reduction``.
    per_class : bool, default False
        True: the last axis holds classes; a score per class, averaged over classes.
    reduction : {"mean", "sum", "none"}, default "mean"
        Over the samples when ``per_sample=True``."""


class TverskyLoss(_OverlapLoss):
    __doc__ = (
        r"""Tversky loss, ``1 - (TP + s) / (TP + α FP + β FN + s)``.

    With ``N = TP + s``, ``D = TP + α FP + β FN + s`` and ``a_i = y_i + α (1 - y_i) - β y_i``:

    .. math::
        \frac{\partial l}{\partial p_i} = \frac{N a_i - y_i D}{D^2}, \qquad
        \frac{\partial^2 l}{\partial p_i^2} = \frac{2 a_i (y_i D - N a_i)}{D^3}

    (the exact Hessian diagonal; divided by C with ``per_class``).
    ``alpha = beta = 0.5`` with smoothing ``s`` is the Dice loss with ``2s``.

    Parameters
    ----------
    alpha : float, default 0.5
        Weight of false positives, >= 0.
    beta : float, default 0.5
        Weight of false negatives, >= 0."""
        + _OVERLAP_PARAMS
        + """

    References
    ----------
    .. [1] Salehi, S. S. M., Erdogmus, D., Gholipour, A. (2017). Tversky loss
       function for image segmentation using 3D fully convolutional deep networks. *MLMI*.
    """
    )

    name = "tversky"

    def __init__(
        self,
        *,
        alpha: float = 0.5,
        beta: float = 0.5,
        smooth: float = 1e-6,
        per_sample: bool = False,
        per_class: bool = False,
        reduction: Reduction = "mean",
    ) -> None:
        self.alpha = check_real("alpha", alpha, low=0.0)
        self.beta = check_real("beta", beta, low=0.0)
        super().__init__(
            smooth=smooth, per_sample=per_sample, per_class=per_class, reduction=reduction
        )

    def _tversky(self) -> tuple[float, float, float]:
        return self.alpha, self.beta, self.smooth


class DiceLoss(_OverlapLoss):
    __doc__ = (
        r"""Soft Dice loss, ``1 - (2 Σ y p + s) / (Σ y + Σ p + s)``.

    With ``I = Σ y p``, ``U = Σ y + Σ p``:

    .. math::
        \frac{\partial l}{\partial p_i} = \frac{2I + s}{(U + s)^2} - \frac{2 y_i}{U + s},
        \qquad
        \frac{\partial^2 l}{\partial p_i^2} = \frac{4 y_i}{(U + s)^2} - \frac{2(2I + s)}{(U + s)^3}.

    The seed's derivative ``-2(U y_i - I)/(U + s)²`` drops the smoothing terms
    and divides by the element count although its loss is one ratio, not a
    mean over elements: it is n times too small (docs/seed-errata.md). The
    seed's example gives 0.3200.

    Parameters
    ----------"""
        + _OVERLAP_PARAMS
        + """

    References
    ----------
    .. [1] Milletari, F., Navab, N., Ahmadi, S.-A. (2016). V-Net: fully
       convolutional neural networks for volumetric medical image segmentation. *3DV*.
    """
    )

    name = "dice"

    def __init__(
        self,
        *,
        smooth: float = 1e-6,
        per_sample: bool = False,
        per_class: bool = False,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(
            smooth=smooth, per_sample=per_sample, per_class=per_class, reduction=reduction
        )

    def _tversky(self) -> tuple[float, float, float]:
        return 0.5, 0.5, 0.5 * self.smooth


class JaccardLoss(_OverlapLoss):
    __doc__ = (
        r"""Soft Jaccard (IoU) loss, ``1 - (Σ y p + s) / (Σ y + Σ p - Σ y p + s)``.

    The Tversky loss with ``α = β = 1``; derivatives as :class:`TverskyLoss`.

    Parameters
    ----------"""
        + _OVERLAP_PARAMS
        + """

    References
    ----------
    .. [1] Rahman, M. A., Wang, Y. (2016). Optimizing intersection-over-union
       in deep neural networks for image segmentation. *ISVC*.
    """
    )

    name = "jaccard"

    def __init__(
        self,
        *,
        smooth: float = 1e-6,
        per_sample: bool = False,
        per_class: bool = False,
        reduction: Reduction = "mean",
    ) -> None:
        super().__init__(
            smooth=smooth, per_sample=per_sample, per_class=per_class, reduction=reduction
        )

    def _tversky(self) -> tuple[float, float, float]:
        return 1.0, 1.0, self.smooth


def _shifted(xp: Namespace, x: Array, axis: int, start: int, stop: int | None) -> Array:
    index = [slice(None)] * x.ndim
    index[axis] = slice(start, stop)
    return x[tuple(index)]


class MedicalImagingLoss(LossFunction):
    r"""Cross-entropy plus a non-negative boundary term: the seed's loss, corrected.

    For a probability map ``p`` and a mask ``y`` with residual ``r = p - y``:

    .. math::
        l = \operatorname{mean}(\mathrm{BCE}(y, p))
            + w\, \frac{1}{K} \sum_{a=1}^{K} \operatorname{mean}\bigl((\Delta_a r)^2\bigr)

    where ``Δ_a`` is the forward difference along spatial axis ``a``. The
    boundary term compares the edges of the prediction with those of the
    mask (``Δp - Δy = Δr``); it is 0 when they agree and never negative. The
    seed's version ``mean(|∇p| - |∇y|)`` can be negative (a blurrier
    prediction lowers the loss) and its cross-entropy keeps only the positive
    term ``y log p``.

    The first axis is the batch (one loss per sample) when ``y_pred`` has two
    or more axes, and the others are spatial; a 1-d input is one signal. The
    derivative of the boundary term is ``(2w / K M_a)(Δ_a r_{i-1} - Δ_a r_i)``
    summed over axes (``M_a`` differences per sample), its Hessian diagonal
    ``(2w / K M_a)`` times the number of differences ``r_i`` enters (1 or 2);
    the cross-entropy part is :class:`BinaryCrossEntropy`'s divided by the
    number of elements per sample.

    Parameters
    ----------
    boundary_weight : float, default 0.3
        ``w >= 0``.
    reduction : {"mean", "sum", "none"}, default "mean"
    """

    name = "medical_imaging"

    def __init__(self, *, boundary_weight: float = 0.3, reduction: Reduction = "mean") -> None:
        self.boundary_weight = check_real("boundary_weight", boundary_weight, low=0.0)
        super().__init__(reduction=reduction)

    def _prepare(self, xp: Namespace, arrays: tuple[Array, ...], dtype: Any) -> tuple[Array, ...]:
        y_true, y_pred = arrays
        check_same_shape(y_true, y_pred)
        if y_pred.ndim < 1:
            raise ValueError("MedicalImagingLoss needs an image or signal, not a 0-d array")
        y_true = to_float(xp, y_true, dtype, "y_true")
        y_pred = to_float(xp, y_pred, dtype, "y_pred")
        check_unit_interval(xp, y_true, "masks y_true")
        check_unit_interval(xp, y_pred, "y_pred", " (probabilities)")
        return y_true, y_pred

    def _sample_shape(self, arrays: tuple[Array, ...]) -> tuple[int, ...]:
        y_pred = arrays[1]
        return tuple(y_pred.shape[:1]) if y_pred.ndim >= 2 else ()

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y, p = arrays
        batched = p.ndim >= 2
        spatial = tuple(range(1, p.ndim)) if batched else (0,)
        per_sample = math.prod([p.shape[a] for a in spatial])  # a list: torch.compile
        ce = binary_xent(xp, y, 1.0 - y, p, False, order)
        value = xp.sum(ce.value, axis=spatial) / per_sample
        grad = None if ce.grad is None else ce.grad / per_sample
        hess = None if ce.hess is None else ce.hess / per_sample
        axes = [a for a in spatial if p.shape[a] > 1]
        if self.boundary_weight and axes:
            r = p - y
            for a in axes:
                m = (p.shape[a] - 1) * per_sample // p.shape[a]
                c = self.boundary_weight / len(axes) / m
                d = _shifted(xp, r, a, 1, None) - _shifted(xp, r, a, 0, -1)
                value = value + c * xp.sum(d * d, axis=spatial)
                if order >= 1:
                    edge_shape = list(d.shape)
                    edge_shape[a] = 1
                    zero = xp.zeros(tuple(edge_shape), dtype=d.dtype, device=device(d))
                    before = xp.concat([zero, d], axis=a)  # r_i - r_{i-1}, 0 at the first
                    after = xp.concat([d, zero], axis=a)  # r_{i+1} - r_i, 0 at the last
                    assert grad is not None
                    grad = grad + 2.0 * c * (before - after)
                    if order >= 2:
                        ones = xp.ones_like(d)  # r_i enters 2 differences, 1 at either end
                        count = xp.concat([zero, ones], axis=a) + xp.concat([ones, zero], axis=a)
                        assert hess is not None
                        hess = hess + 2.0 * c * count
        return Terms(value, grad, hess)

    def _sample(self, rng: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
        y = (rng.uniform(size=shape) < 0.4).astype(float)
        return y, rng.uniform(0.02, 0.98, size=shape)
