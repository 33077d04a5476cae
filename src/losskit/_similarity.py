"""Similarity (metric-learning) losses: contrastive over distances, triplet over embeddings."""

from __future__ import annotations

from typing import Any

from ._base import (
    ElementwiseLoss,
    LossFunction,
    Reduction,
    Terms,
    check_bool,
    check_nonnegative,
    check_real,
    check_same_shape,
    check_unit_interval,
    to_float,
)
from ._compat import Array, Namespace, is_floating
from ._numerics import propagate_nan

__all__ = ["ContrastiveLoss", "TripletLoss"]


class ContrastiveLoss(ElementwiseLoss):
    r"""Contrastive loss over pair distances (Hadsell, Chopra, LeCun).

    ``y_true`` is 1 for a similar pair and 0 for a dissimilar one; ``y_pred``
    is the pair's distance ``d >= 0``:

    .. math::
        l = \tfrac12\bigl(y d^2 + (1 - y) \max(0, m - d)^2\bigr), \quad
        \frac{\partial l}{\partial d} = y d - (1 - y)\max(0, m - d), \quad
        \frac{\partial^2 l}{\partial d^2} = y + (1 - y)\,\mathbb 1[d < m].

    At ``d = m`` the Hessian takes 0 for the dissimilar term. The seed's
    formula puts the ½ on the first term only; ½ belongs to both.

    Parameters
    ----------
    margin : float, default 1.0
        ``m >= 0``: dissimilar pairs farther apart than this cost nothing.
    reduction : {"mean", "sum", "none"}, default "mean"

    References
    ----------
    .. [1] Hadsell, R., Chopra, S., LeCun, Y. (2006). Dimensionality reduction
       by learning an invariant mapping. *CVPR*.
    """

    name = "contrastive"

    def __init__(self, *, margin: float = 1.0, reduction: Reduction = "mean") -> None:
        self.margin = check_real("margin", margin, low=0.0)
        super().__init__(reduction=reduction)

    def _check_values(self, xp: Namespace, y_true: Array, y_pred: Array) -> None:
        check_unit_interval(xp, y_true, "pair labels y_true", " (1 similar, 0 dissimilar)")
        check_nonnegative(xp, y_pred, "distances y_pred")

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y, d = arrays
        gap = xp.clip(self.margin - d, min=0.0)
        value = 0.5 * (y * d * d + (1.0 - y) * gap * gap)
        grad = y * d - (1.0 - y) * gap if order >= 1 else None
        hess = y + (1.0 - y) * xp.astype(d < self.margin, d.dtype) if order >= 2 else None
        return Terms(value, grad, hess)

    def _sample(self, rng: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
        y = rng.integers(0, 2, size=shape).astype(float)
        d = rng.uniform(0.05, 2.0 * self.margin + 0.1, size=shape)
        return y, d + (abs(d - self.margin) < 0.05) * 0.1


class TripletLoss(LossFunction):
    r"""Triplet margin loss, PyTorch ``TripletMarginLoss`` semantics.

    For embeddings on the last axis, ``d(u, v) = ‖u - v + ε‖_p`` and

    .. math::
        l = \max\bigl(0,\ m + d(a, p) - d(a, n)\bigr),

    with ``d(a, n)`` replaced by ``min(d(a, n), d(p, n))`` when ``swap=True``.
    ``compute(anchor, positive, negative)`` takes the three embeddings and
    ``derivative`` returns one gradient per input. With ``v = u - w + ε``:
    ``∂d/∂v_i = sign(v_i) |v_i|^{p-1} / d^{p-1}`` and
    ``∂²d/∂v_i² = (p - 1)(|v_i|^{p-2} / d^{p-1} - |v_i|^{2p-2} / d^{2p-1})``;
    the loss's derivatives are these with the signs of the formula, where
    ``m + d(a,p) - d(a,n) >= 0`` (PyTorch's ``clamp_min`` passes the gradient
    at 0) and 0 elsewhere. A tie in the swap's minimum splits the gradient in
    half, as PyTorch's ``minimum``.

    Parameters
    ----------
    margin : float, default 1.0
        ``m >= 0``.
    p : float, default 2.0
        The norm's order, >= 1.
    eps : float, default 1e-6
        Added to each difference (PyTorch's ``pairwise_distance``).
    swap : bool, default False
        Use the positive-negative distance when it is smaller (Balntas et al.).
    reduction : {"mean", "sum", "none"}, default "mean"

    References
    ----------
    .. [1] Schroff, F., Kalenichenko, D., Philbin, J. (2015). FaceNet: a unified
       embedding for face recognition and clustering. *CVPR*.
    .. [2] Balntas, V., Riba, E., Ponsa, D., Mikolajczyk, K. (2016). Learning
       local feature descriptors with triplets and shallow convolutional neural networks. *BMVC*.
    """

    name = "triplet"
    _n_inputs = 3
    _ref = 0

    def __init__(
        self,
        *,
        margin: float = 1.0,
        p: float = 2.0,
        eps: float = 1e-6,
        swap: bool = False,
        reduction: Reduction = "mean",
    ) -> None:
        self.margin = check_real("margin", margin, low=0.0)
        self.p = check_real("p", p, low=1.0)
        self.eps = check_real("eps", eps, low=0.0)
        self.swap = check_bool("swap", swap)
        super().__init__(reduction=reduction)

    # The public methods take three embeddings instead of (y_true, y_pred).

    def compute(  # type: ignore[override]
        self, anchor: Any, positive: Any, negative: Any, sample_weight: Any = None
    ) -> Array:
        """The loss of each (anchor, positive, negative) row, reduced."""
        return self._run((anchor, positive, negative), sample_weight, 0)[0]

    def __call__(  # type: ignore[override]
        self, anchor: Any, positive: Any, negative: Any, sample_weight: Any = None
    ) -> Array:
        return self.compute(anchor, positive, negative, sample_weight)

    def derivative(  # type: ignore[override]
        self, anchor: Any, positive: Any, negative: Any, sample_weight: Any = None
    ) -> tuple[Array, Array, Array]:
        """The gradients with respect to anchor, positive and negative."""
        return self._run((anchor, positive, negative), sample_weight, 1)[1]

    def hessian(  # type: ignore[override]
        self, anchor: Any, positive: Any, negative: Any, sample_weight: Any = None
    ) -> tuple[Array, Array, Array]:
        """The Hessian diagonals with respect to anchor, positive and negative."""
        return self._run((anchor, positive, negative), sample_weight, 2)[2]

    def value_and_derivative(  # type: ignore[override]
        self, anchor: Any, positive: Any, negative: Any, sample_weight: Any = None
    ) -> tuple[Array, tuple[Array, Array, Array]]:
        value, grad, _ = self._run((anchor, positive, negative), sample_weight, 1)
        return value, grad

    def derivative_and_hessian(  # type: ignore[override]
        self, anchor: Any, positive: Any, negative: Any, sample_weight: Any = None
    ) -> tuple[Any, Any]:
        _, grad, hess = self._run((anchor, positive, negative), sample_weight, 2)
        return grad, hess

    def _prepare(self, xp: Namespace, arrays: tuple[Array, ...], dtype: Any) -> tuple[Array, ...]:
        a, pos, neg = arrays
        check_same_shape(a, pos, "anchor", "positive")
        check_same_shape(a, neg, "anchor", "negative")
        if a.ndim < 1:
            raise ValueError("triplet embeddings need at least one axis (the embedding, last)")
        for name, x in (("positive", pos), ("negative", neg)):
            if not is_floating(xp, x):
                raise TypeError(f"{name} must be a real floating-point array; got dtype {x.dtype}")
        return tuple(to_float(xp, x, dtype, "embeddings") for x in (a, pos, neg))

    def _sample_shape(self, arrays: tuple[Array, ...]) -> tuple[int, ...]:
        return tuple(arrays[0].shape[:-1])

    def _distance(self, xp: Namespace, u: Array, w: Array, order: int) -> tuple[Array, Any, Any]:
        """``‖u - w + eps‖_p`` over the last axis, its gradient and Hessian diagonal in ``u``."""
        v = u - w + self.eps
        p = self.p
        av = xp.abs(v)
        if p == 2.0:
            d = xp.sqrt(xp.sum(v * v, axis=-1, keepdims=True))
        else:
            d = xp.sum(av**p, axis=-1, keepdims=True) ** (1.0 / p)
        pos = d > 0
        ds = xp.where(pos, d, xp.ones_like(d))
        grad = hess = None
        if order >= 1:
            grad = v / ds if p == 2.0 else xp.sign(v) * av ** (p - 1.0) / ds ** (p - 1.0)
            grad = xp.where(pos, grad, xp.zeros_like(grad))
            if order >= 2:
                if p == 1.0:
                    hess = xp.zeros_like(v)
                elif p == 2.0:
                    hess = xp.where(pos, (1.0 - grad * grad) / ds, xp.zeros_like(v))
                else:
                    t = av ** (p - 2.0) / ds ** (p - 1.0) - av ** (2.0 * p - 2.0) / ds ** (
                        2.0 * p - 1.0
                    )
                    hess = xp.where(pos, (p - 1.0) * t, xp.zeros_like(v))
        return d[..., 0], grad, hess

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        a, pos, neg = arrays
        d_ap, g_ap, h_ap = self._distance(xp, a, pos, order)
        d_an, g_an, h_an = self._distance(xp, a, neg, order)
        w_an: Any = 1.0
        w_pn: Any = 0.0
        d_neg = d_an
        g_pn = h_pn = None
        if self.swap:
            d_pn, g_pn, h_pn = self._distance(xp, pos, neg, order)
            d_neg = xp.minimum(d_an, d_pn)
            share = xp.astype(d_an < d_pn, a.dtype) + 0.5 * xp.astype(d_an == d_pn, a.dtype)
            w_an = share[..., None]
            w_pn = 1.0 - w_an
        z = self.margin + d_ap - d_neg
        value = xp.clip(z, min=0.0)
        if order == 0:
            return Terms(value)
        active = propagate_nan(z, xp.astype(z >= 0, a.dtype))[..., None]
        ga = g_ap - w_an * g_an
        gp = -g_ap
        gn = w_an * g_an
        if g_pn is not None:
            gp = gp - w_pn * g_pn
            gn = gn + w_pn * g_pn
        grad = (active * ga, active * gp, active * gn)
        hess = None
        if order >= 2:
            ha = h_ap - w_an * h_an
            hp = h_ap
            hn = -w_an * h_an
            if h_pn is not None:
                hp = hp - w_pn * h_pn
                hn = hn - w_pn * h_pn
            hess = (active * ha, active * hp, active * hn)
        return Terms(value, grad, hess)

    def _sample(self, rng: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
        a = rng.normal(size=shape)
        pos = a + 0.3 * rng.normal(size=shape)
        neg = a + 0.6 * rng.normal(size=shape)
        if self.p < 2.0:  # |v|^p has an unbounded second derivative at v = 0
            for u in (pos, neg):
                u += (abs(u - a) < 0.05) * 0.1
            neg += (abs(neg - pos) < 0.05) * 0.2
        # keep m + d(a,p) - d(a,n) away from the kink 0 by moving the negative
        for _ in range(10):
            norm = lambda u: (abs(u + self.eps) ** self.p).sum(-1) ** (1.0 / self.p)  # noqa: E731
            z = self.margin + norm(a - pos) - norm(a - neg)
            close = abs(z) < 0.05
            if not close.any():
                break
            neg = neg + close[..., None] * 0.2 * (neg - a)
        return a, pos, neg
