"""Losses for imbalanced data: binary and categorical focal loss, weighted cross-entropy.

The focal weight ``(1 - p_t)^γ`` is never formed with a negative power: the
derivatives are written so that ``(1 - p_t)^(γ-1)`` always meets a factor that
vanishes with ``1 - p_t``, which keeps them finite for ``0 < γ < 1`` at
``p_t = 1`` (optax#1267, kornia#918 report NaN there).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from ._base import (
    Reduction,
    Terms,
    check_bool,
    check_real,
    check_weights,
)
from ._classification import (
    PROB_EPS,
    BinaryLoss,
    ClassRowsLoss,
    binary_xent,
    class_vector,
    mul0,
    sigmoid_pair,
)
from ._compat import Array, Namespace, device
from ._numerics import clamped_log, clamped_log1m, shifted_logits, softplus

__all__ = ["CategoricalFocalLoss", "FocalLoss", "WeightedCrossEntropy"]


def _ratio(xp: Namespace, num: Array, den: Array, limit: float | Array) -> Array:
    """``num / den`` where ``den > 0``, else ``limit`` (the value's limit as ``den → 0``)."""
    pos = den > 0
    safe = xp.where(pos, den, xp.ones_like(den))
    return xp.where(pos, num / safe, limit * xp.ones_like(num))


class FocalLoss(BinaryLoss):
    r"""Binary focal loss (Lin et al.), on probabilities or logits.

    .. math::
        l = \alpha_t\, q^\gamma\, \mathrm{ce}, \qquad q = 1 - p_t = y (1 - p) + (1 - y) p,
        \qquad \alpha_t = \alpha y + (1 - \alpha)(1 - y)

    where ``ce`` is the binary cross-entropy. This is torchvision's
    ``sigmoid_focal_loss`` (soft labels included) when ``from_logits=True``.

    With respect to the logit ``x`` (``p = σ(x)``, ``r = p (1-p) / q`` in
    [0, 1], ``s = 1 - 2y``):

    .. math::
        \frac{\partial l}{\partial x} = \alpha_t q^\gamma B, \quad
        B = \gamma s\, r\, \mathrm{ce} + (p - y), \qquad
        \frac{\partial^2 l}{\partial x^2} = \alpha_t q^\gamma
        \bigl(\gamma s r B + \gamma s (r' \mathrm{ce} + r (p - y)) + p(1-p)\bigr)

    with ``r' = r (1 - 2p) - s r²``. With respect to a probability ``p``
    (``ce' = (p - y) / (p (1-p))``):
    ``∂l/∂p = α_t q^γ (γ s ce/q + ce')`` and
    ``∂²l/∂p² = α_t [q^(γ-1)(γ(γ-1) s² ce/q + 2γ s ce') + q^γ ce'']``.

    ``γ = 0`` is the (α-weighted) binary cross-entropy. On probabilities the
    Hessian at ``p_t = 1`` is the true limit: ``+inf`` for ``γ < 1``, ``2α_t``
    for ``γ = 1``, 0 for ``γ > 1``; on logits it is finite everywhere. The
    seed's derivative is ``-∂l/∂p_t`` for every element: right for negatives
    (``∂p_t/∂p = -1``), the wrong sign for positives (docs/seed-errata.md).

    Parameters
    ----------
    gamma : float, default 2.0
        The focusing parameter, >= 0.
    alpha : float, optional
        Class-balance weight in [0, 1]: ``α`` for positives, ``1 - α`` for
        negatives; None applies none.
    from_logits : bool, default False
    reduction : {"mean", "sum", "none"}, default "mean"

    References
    ----------
    .. [1] Lin, T.-Y., Goyal, P., Girshick, R., He, K., Dollár, P. (2017).
       Focal loss for dense object detection. *ICCV*.
    """

    name = "focal"

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: float | None = None,
        from_logits: bool = False,
        reduction: Reduction = "mean",
    ) -> None:
        self.gamma = check_real("gamma", gamma, low=0.0)
        self.alpha = None if alpha is None else check_real("alpha", alpha, low=0.0, high=1.0)
        self.from_logits = check_bool("from_logits", from_logits)
        super().__init__(reduction=reduction)

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y, y_pred = arrays
        g = self.gamma
        if g == 0.0:
            a, b = y, 1.0 - y
            if self.alpha is not None:
                a, b = self.alpha * a, (1.0 - self.alpha) * b
            return binary_xent(xp, a, b, y_pred, self.from_logits, order)
        alpha_t: Any = 1.0
        if self.alpha is not None:
            alpha_t = self.alpha * y + (1.0 - self.alpha) * (1.0 - y)
        s = 1.0 - 2.0 * y
        if self.from_logits:
            return self._logit_terms(xp, y, y_pred, alpha_t, s, order)
        return self._prob_terms(xp, y, y_pred, alpha_t, s, order)

    def _logit_terms(
        self, xp: Namespace, y: Array, x: Array, alpha_t: Any, s: Array, order: int
    ) -> Terms:
        g = self.gamma
        p, sp, pq = sigmoid_pair(xp, x)
        q = y * sp + (1.0 - y) * p  # 1 - p_t without cancellation
        ce = mul0(xp, y, softplus(-x)) + mul0(xp, 1.0 - y, softplus(x))
        f = q**g
        value = alpha_t * f * ce
        if order == 0:
            return Terms(value)
        r = _ratio(xp, pq, q, 1.0)
        p_minus_y = (1.0 - y) * p - y * sp
        big_b = g * s * mul0(xp, r, ce) + p_minus_y
        grad = alpha_t * f * big_b
        hess = None
        if order >= 2:
            r_prime = r * (sp - p) - s * r * r
            d_b = g * s * (mul0(xp, r_prime, ce) + r * p_minus_y) + pq
            hess = alpha_t * f * (g * s * r * big_b + d_b)
        return Terms(value, grad, hess)

    def _prob_terms(
        self, xp: Namespace, y: Array, p: Array, alpha_t: Any, s: Array, order: int
    ) -> Terms:
        g = self.gamma
        one_m = 1.0 - p
        q = y * one_m + (1.0 - y) * p
        ce = 0.0 - (y * clamped_log(p) + (1.0 - y) * clamped_log1m(p))
        f = q**g
        value = alpha_t * f * ce
        if order == 0:
            return Terms(value)
        c1 = _ratio(xp, ce, q, 1.0)  # ce / q -> 1 as q -> 0 (hard labels)
        ce_1 = (p - y) / xp.clip(p * one_m, min=PROB_EPS)
        grad = alpha_t * f * (g * s * c1 + ce_1)
        hess = None
        if order >= 2:
            ce_1_lim = xp.where(q > 0, ce_1, s)  # the limit of ce' as q -> 0
            pe, qe = xp.clip(p, min=PROB_EPS), xp.clip(one_m, min=PROB_EPS)
            ce_2 = y / (pe * pe) + (1.0 - y) / (qe * qe)
            hess = alpha_t * (
                q ** (g - 1.0) * (g * (g - 1.0) * s * s * c1 + 2.0 * g * s * ce_1_lim) + f * ce_2
            )
        return Terms(value, grad, hess)


class CategoricalFocalLoss(ClassRowsLoss):
    r"""Multi-class focal loss over the last axis, as Keras ``CategoricalFocalCrossentropy``.

    .. math::
        l = -\sum_c \alpha_c\, t_c\, (1 - p_c)^\gamma \log p_c, \qquad t = y (1 - e) + e / C

    with ``p = softmax(x)`` when ``from_logits=True``. On probabilities each
    class term depends on its own ``p_c`` (``u = 1 - p_c``, ``L = log p_c``):
    ``∂/∂p_c = α_c t_c u^γ (γ L/u - 1/p_c)`` and
    ``∂²/∂p_c² = α_c t_c [u^(γ-1)(-γ(γ-1) L/u + 2γ/p_c) + u^γ / p_c²]``.
    On logits, with ``z = log softmax(x)`` and
    ``v_c = ∂l/∂z_c = -α_c t_c u^γ (1 - γ p_c L/u)``, the gradient is
    ``v_k - p_k Σ_c v_c`` and the Hessian diagonal is
    ``v'_k (1 - p_k)² + p_k² Σ_{c≠k} v'_c - p_k (1 - p_k) Σ_c v_c``, evaluated
    so that no ``u^(γ-1)`` at ``u = 0`` meets a vanishing factor.

    Parameters
    ----------
    gamma : float, default 2.0
        >= 0; 0 is the categorical cross-entropy.
    alpha : float or sequence of float, optional
        A float multiplies every class term (Keras); a sequence is one
        weight per class; None applies none.
    from_logits : bool, default False
    label_smoothing : float, default 0.0
        ``e`` in [0, 1].
    reduction : {"mean", "sum", "none"}, default "mean"

    References
    ----------
    .. [1] Lin, T.-Y. et al. (2017). Focal loss for dense object detection. *ICCV*.
    """

    name = "categorical_focal"

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: float | Sequence[float] | None = None,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
    ) -> None:
        self.gamma = check_real("gamma", gamma, low=0.0)
        self.alpha: float | tuple[float, ...] | None
        if alpha is None or isinstance(alpha, numbers.Real):
            self.alpha = None if alpha is None else check_real("alpha", alpha, low=0.0)
        else:
            self.alpha = check_weights("alpha", alpha)
        self.from_logits = check_bool("from_logits", from_logits)
        self.label_smoothing = check_real("label_smoothing", label_smoothing, low=0.0, high=1.0)
        super().__init__(reduction=reduction)

    def _weights(self, xp: Namespace, y: Array, y_pred: Array) -> Array:
        e = self.label_smoothing
        if e:
            y = y * (1.0 - e) + e / y_pred.shape[-1]
        if isinstance(self.alpha, tuple):
            return y * class_vector(xp, self.alpha, y_pred, "alpha")
        return y if self.alpha is None else self.alpha * y

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y, y_pred = arrays
        a = self._weights(xp, y, y_pred)
        if self.from_logits:
            return self._logit_terms(xp, a, y_pred, order)
        return self._prob_terms(xp, a, y_pred, order)

    def _prob_terms(self, xp: Namespace, a: Array, p: Array, order: int) -> Terms:
        g = self.gamma
        u = 1.0 - p
        log_p = clamped_log(p)
        f = u**g
        value = 0.0 - xp.sum(a * f * log_p, axis=-1)
        if order == 0:
            return Terms(value)
        c = _ratio(xp, log_p, u, -1.0)  # log(p) / (1 - p) -> -1 as p -> 1
        pe = xp.clip(p, min=PROB_EPS)
        grad = a * f * (g * c - 1.0 / pe)
        hess = None
        if order >= 2:
            hess = a * f / (pe * pe)
            if g:
                # mul0: a class with no target weight adds 0, even where u^(γ-1) is inf
                hess = hess + mul0(xp, a, u ** (g - 1.0) * (-g * (g - 1.0) * c + 2.0 * g / pe))
        return Terms(value, grad, hess)

    def _logit_terms(self, xp: Namespace, a: Array, x: Array, order: int) -> Terms:
        g = self.gamma
        zs, lse = shifted_logits(x)
        z = zs - lse  # log softmax
        p = xp.exp(z)
        u = -xp.expm1(z)  # 1 - p without cancellation
        f = u**g
        value = 0.0 - xp.sum(mul0(xp, a, f * z), axis=-1)
        if order == 0:
            return Terms(value)
        c = _ratio(xp, z, u, -1.0)  # log(p) / (1 - p)
        pc = mul0(xp, p, c)
        v = -mul0(xp, a, f * (1.0 - g * pc))
        total_v = xp.sum(v, axis=-1, keepdims=True)
        grad = v - p * total_v
        hess = None
        if order >= 2:
            hess = p * (1.0 - p) * (-total_v)
            if g:
                hess = hess + self._focal_curvature(xp, a, p, u, z, c, pc)
        return Terms(value, grad, hess)

    def _focal_curvature(
        self, xp: Namespace, a: Array, p: Array, u: Array, z: Array, c: Array, pc: Array
    ) -> Array:
        """``v'_k (1-p_k)² + p_k² Σ_{c≠k} v'_c`` with ``v' = dv/dz``.

        ``v'_c = a γ p u^(γ-1) (z + 2 - (γ-1) p L/u)`` is unbounded only for the
        row's most probable class j (every other class has ``u >= 1/2``), so the
        sum over ``c ≠ k`` is split into the bounded classes and class j, whose
        term ``p_k² v'_j`` is ``(p_k / u_j)² u_j² v'_j`` with ``p_k <= u_j``.
        """
        g = self.gamma
        inner = mul0(xp, p, z + 2.0) - (g - 1.0) * p * pc
        m = a * g * u ** (g + 1.0) * inner  # u² v'
        n_classes = p.shape[-1]
        is_j = xp.argmax(p, axis=-1, keepdims=True) == xp.arange(n_classes, device=device(p))
        u_safe = xp.where(is_j, xp.ones_like(u), u)
        v1 = xp.where(is_j, xp.zeros_like(u), a * g * u_safe ** (g - 1.0) * inner)  # v' off class j
        bounded = xp.sum(v1, axis=-1, keepdims=True)
        m_j = xp.sum(xp.where(is_j, m, xp.zeros_like(m)), axis=-1, keepdims=True)
        u_j = xp.sum(xp.where(is_j, u, xp.zeros_like(u)), axis=-1, keepdims=True)
        ratio = _ratio(xp, p, u_j, 0.0)
        off_j = -p * p * v1 + ratio * ratio * m_j
        return m + p * p * bounded + xp.where(is_j, xp.zeros_like(off_j), off_j)


class WeightedCrossEntropy(BinaryLoss):
    r"""Binary cross-entropy with one weight per class, the seed's definition.

    .. math::
        l = -\bigl[w_1\, y \log p + w_0 (1 - y) \log(1 - p)\bigr]

    For hard labels this is the seed's "class weight times the binary
    cross-entropy", averaged over elements; soft labels weight each term by
    its class. Derivatives as :class:`BinaryCrossEntropy` with these term
    weights: ``(w_0 (1-y) p - w_1 y (1-p)) / (p(1-p))`` and
    ``w_1 y / p² + w_0 (1-y) / (1-p)²`` on probabilities,
    ``w_0 (1-y) σ(x) - w_1 y σ(-x)`` and ``(w_1 y + w_0 (1-y)) σ(x) σ(-x)`` on
    logits. The seed's example gives 0.3090 with ``class_weights=(1, 5)``.

    Parameters
    ----------
    class_weights : (float, float), default (1.0, 1.0)
        ``(w_negative, w_positive)``, non-negative.
    from_logits : bool, default False
    reduction : {"mean", "sum", "none"}, default "mean"
    """

    name = "weighted_cross_entropy"

    def __init__(
        self,
        *,
        class_weights: Sequence[float] = (1.0, 1.0),
        from_logits: bool = False,
        reduction: Reduction = "mean",
    ) -> None:
        weights = check_weights("class_weights", class_weights, length=2)
        if weights is None:
            raise ValueError("class_weights must be a pair (w_negative, w_positive); got None")
        self.class_weights = weights
        self.from_logits = check_bool("from_logits", from_logits)
        super().__init__(reduction=reduction)

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y, y_pred = arrays
        w_neg, w_pos = self.class_weights
        return binary_xent(xp, w_pos * y, w_neg * (1.0 - y), y_pred, self.from_logits, order)
