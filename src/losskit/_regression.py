"""Regression losses: element-wise functions of the residual ``r = y_pred - y_true``.

Every derivative is taken with respect to ``y_pred``.
"""

from __future__ import annotations

import math
from typing import Any

from ._base import (
    ElementwiseLoss,
    Reduction,
    Terms,
    check_bool,
    check_nonnegative,
    check_real,
)
from ._compat import Array, Namespace
from ._numerics import propagate_nan, xlogy

__all__ = [
    "HuberLoss",
    "LogCoshLoss",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "PoissonLoss",
    "QuantileLoss",
    "SmoothL1Loss",
]


def _away_from(
    rng: Any, shape: tuple[int, ...], kinks: tuple[float, ...], gap: float = 0.05
) -> Any:
    """Standard-normal residuals moved at least ``gap`` away from each kink."""
    r = rng.normal(size=shape) * 2.0
    for k in kinks:
        close = abs(r - k) < gap
        r = r + close * (2 * gap)
    return r


class MeanSquaredError(ElementwiseLoss):
    r"""Squared error, ``l = (y_pred - y_true)^2``.

    .. math::
        l = r^2, \qquad \frac{\partial l}{\partial \hat y} = 2r,
        \qquad \frac{\partial^2 l}{\partial \hat y^2} = 2, \qquad r = \hat y - y.

    Equals ``torch.nn.MSELoss``. The seed writes the derivative as
    ``2(y - ŷ)``, which has the wrong sign (its code has the right one).

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"

    References
    ----------
    .. [1] Gauss, C. F. (1809). *Theoria motus corporum coelestium*.
    """

    name = "mse"

    def __init__(self, *, reduction: Reduction = "mean") -> None:
        super().__init__(reduction=reduction)

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y_true, y_pred = arrays
        r = y_pred - y_true
        grad = 2.0 * r if order >= 1 else None
        hess = xp.full_like(r, 2.0) if order >= 2 else None
        return Terms(r * r, grad, hess)


class MeanAbsoluteError(ElementwiseLoss):
    r"""Absolute error, ``l = |y_pred - y_true|``.

    .. math::
        l = |r|, \qquad \frac{\partial l}{\partial \hat y} = \operatorname{sign}(r),
        \qquad \frac{\partial^2 l}{\partial \hat y^2} = 0 .

    At ``r = 0`` the derivative is 0, the subgradient PyTorch's autograd gives
    for ``abs`` (``torch.nn.L1Loss``); the Hessian is 0 almost everywhere.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
    """

    name = "mae"

    def __init__(self, *, reduction: Reduction = "mean") -> None:
        super().__init__(reduction=reduction)

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y_true, y_pred = arrays
        r = y_pred - y_true
        grad = xp.sign(r) if order >= 1 else None
        hess = xp.zeros_like(r) if order >= 2 else None
        return Terms(xp.abs(r), grad, hess)

    def _sample(self, rng: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
        y = rng.normal(size=shape)
        return y, y + _away_from(rng, shape, (0.0,))


class HuberLoss(ElementwiseLoss):
    r"""Huber loss with threshold ``delta``, PyTorch ``HuberLoss`` semantics.

    .. math::
        l = \begin{cases} \tfrac12 r^2 & |r| < \delta \\
                          \delta\,(|r| - \tfrac12\delta) & \text{otherwise} \end{cases},
        \qquad \frac{\partial l}{\partial \hat y} = \operatorname{clip}(r, -\delta, \delta),
        \qquad \frac{\partial^2 l}{\partial \hat y^2} = \mathbb 1[|r| < \delta].

    Computed as ``½ a² + δ (|r| - a)`` with ``a = min(|r|, δ)``: one formula,
    no branch to overflow. At ``|r| = δ`` the value and the derivative are
    continuous and the Hessian is 0 (the linear branch, as PyTorch's ``|r| < δ``).

    Parameters
    ----------
    delta : float, default 1.0
        Where the quadratic part turns linear; must be > 0.
    reduction : {"mean", "sum", "none"}, default "mean"

    References
    ----------
    .. [1] Huber, P. J. (1964). Robust estimation of a location parameter.
       *Annals of Mathematical Statistics* 35(1), 73-101.
    """

    name = "huber"

    def __init__(self, *, delta: float = 1.0, reduction: Reduction = "mean") -> None:
        self.delta = check_real("delta", delta, low=0.0, low_open=True)
        super().__init__(reduction=reduction)

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y_true, y_pred = arrays
        d = self.delta
        r = y_pred - y_true
        abs_r = xp.abs(r)
        a = xp.clip(abs_r, max=d)
        value = 0.5 * a * a + d * (abs_r - a)
        grad = xp.clip(r, min=-d, max=d) if order >= 1 else None
        hess = xp.astype(abs_r < d, r.dtype) if order >= 2 else None
        return Terms(value, grad, hess)

    def _sample(self, rng: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
        y = rng.normal(size=shape)
        return y, y + _away_from(rng, shape, (-self.delta, self.delta))


class SmoothL1Loss(ElementwiseLoss):
    r"""Smooth L1 loss with threshold ``beta``, PyTorch ``SmoothL1Loss`` semantics.

    .. math::
        l = \begin{cases} \tfrac{1}{2\beta} r^2 & |r| < \beta \\
                          |r| - \tfrac12\beta & \text{otherwise} \end{cases},
        \qquad \frac{\partial l}{\partial \hat y} = \operatorname{clip}(r/\beta, -1, 1),
        \qquad \frac{\partial^2 l}{\partial \hat y^2} = \mathbb 1[|r| < \beta] / \beta .

    ``SmoothL1_β = Huber_β / β``; ``beta = 0`` is the absolute error (with its
    convention: derivative 0 at ``r = 0``, Hessian 0).

    Parameters
    ----------
    beta : float, default 1.0
        Where the quadratic part turns linear; must be >= 0.
    reduction : {"mean", "sum", "none"}, default "mean"

    References
    ----------
    .. [1] Girshick, R. (2015). Fast R-CNN. *ICCV*.
    """

    name = "smooth_l1"

    def __init__(self, *, beta: float = 1.0, reduction: Reduction = "mean") -> None:
        self.beta = check_real("beta", beta, low=0.0)
        super().__init__(reduction=reduction)

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y_true, y_pred = arrays
        b = self.beta
        r = y_pred - y_true
        abs_r = xp.abs(r)
        if b == 0.0:
            grad = xp.sign(r) if order >= 1 else None
            hess = xp.zeros_like(r) if order >= 2 else None
            return Terms(abs_r, grad, hess)
        a = xp.clip(abs_r, max=b)
        value = (0.5 / b) * a * a + (abs_r - a)
        grad = xp.clip(r / b, min=-1.0, max=1.0) if order >= 1 else None
        hess = xp.astype(abs_r < b, r.dtype) / b if order >= 2 else None
        return Terms(value, grad, hess)

    def _sample(self, rng: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
        y = rng.normal(size=shape)
        return y, y + _away_from(rng, shape, (-self.beta, 0.0, self.beta))


class LogCoshLoss(ElementwiseLoss):
    r"""Log-cosh loss, ``l = log(cosh(y_pred - y_true))``.

    .. math::
        l = \log\cosh r, \qquad \frac{\partial l}{\partial \hat y} = \tanh r,
        \qquad \frac{\partial^2 l}{\partial \hat y^2} = \operatorname{sech}^2 r .

    ``cosh`` overflows past ``|r| ≈ 710`` (float64), so the value is
    ``|r| + log1p(exp(-2|r|)) - log 2`` for ``|r| >= 1`` and
    ``log1p(2 sinh²(r/2))`` below, where the first form would cancel; the
    Hessian is ``4e / (1 + e)²`` with ``e = exp(-2|r|)``. Finite for residuals
    up to ``1e300``.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"

    References
    ----------
    .. [1] Chen, P., Chen, G., Zhang, S. (2019). Log hyperbolic cosine loss
       improves variational auto-encoder. *ICLR* (submission).
    """

    name = "log_cosh"

    def __init__(self, *, reduction: Reduction = "mean") -> None:
        super().__init__(reduction=reduction)

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y_true, y_pred = arrays
        r = y_pred - y_true
        a = xp.abs(r)
        small = a < 1.0
        half = xp.where(small, r, xp.zeros_like(r)) * 0.5  # double where: no sinh overflow
        s = xp.sinh(half)
        e = xp.exp(-2.0 * a)
        value = xp.where(small, xp.log1p(2.0 * s * s), a + xp.log1p(e) - math.log(2.0))
        grad = xp.tanh(r) if order >= 1 else None
        hess = 4.0 * e / ((1.0 + e) * (1.0 + e)) if order >= 2 else None
        return Terms(value, grad, hess)


class QuantileLoss(ElementwiseLoss):
    r"""Pinball (quantile) loss at level ``quantile``, as scikit-learn's.

    .. math::
        l = q \max(y - \hat y, 0) + (1 - q) \max(\hat y - y, 0),
        \qquad \frac{\partial l}{\partial \hat y} =
        \begin{cases} -q & \hat y < y \\ 1 - q & \hat y > y \\ 0 & \hat y = y \end{cases},
        \qquad \frac{\partial^2 l}{\partial \hat y^2} = 0 .

    Its minimiser is the ``q``-quantile of ``y``; ``quantile=0.5`` is half the
    absolute error. At a tie the derivative is 0 (PyTorch's autograd for
    ``relu`` at 0); the Hessian is 0 almost everywhere.

    Parameters
    ----------
    quantile : float, default 0.5
        The level ``q``, in (0, 1).
    reduction : {"mean", "sum", "none"}, default "mean"

    References
    ----------
    .. [1] Koenker, R., Bassett, G. (1978). Regression quantiles.
       *Econometrica* 46(1), 33-50.
    """

    name = "quantile"

    def __init__(self, *, quantile: float = 0.5, reduction: Reduction = "mean") -> None:
        self.quantile = check_real(
            "quantile", quantile, low=0.0, high=1.0, low_open=True, high_open=True
        )
        super().__init__(reduction=reduction)

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y_true, y_pred = arrays
        q = self.quantile
        d = y_true - y_pred
        value = q * xp.clip(d, min=0.0) + (1.0 - q) * xp.clip(-d, min=0.0)
        grad = None
        if order >= 1:
            grad = xp.where(
                d > 0,
                xp.full_like(d, -q),
                xp.where(d < 0, xp.full_like(d, 1.0 - q), propagate_nan(d, xp.zeros_like(d))),
            )
        hess = xp.zeros_like(d) if order >= 2 else None
        return Terms(value, grad, hess)

    def _sample(self, rng: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
        y = rng.normal(size=shape)
        return y, y + _away_from(rng, shape, (0.0,))


class PoissonLoss(ElementwiseLoss):
    r"""Poisson negative log-likelihood, PyTorch ``PoissonNLLLoss`` semantics.

    With ``log_input=True`` (default) ``y_pred`` is the log-rate ``x``:

    .. math::
        l = e^x - y x, \qquad \frac{\partial l}{\partial x} = e^x - y,
        \qquad \frac{\partial^2 l}{\partial x^2} = e^x .

    With ``log_input=False`` ``y_pred`` is the rate ``λ >= 0``:
    ``l = λ - y log(λ + eps)``, derivative ``1 - y/(λ + eps)``, Hessian
    ``y/(λ + eps)²``. ``full=True`` adds Stirling's term
    ``y log y - y + ½ log(2π y)`` where ``y > 1`` (it does not depend on the
    prediction). The minimum is at ``x = log y`` and is not zero.

    Parameters
    ----------
    log_input : bool, default True
    full : bool, default False
    eps : float, default 1e-8
        Added to the rate inside the log when ``log_input=False``; > 0.
    reduction : {"mean", "sum", "none"}, default "mean"

    References
    ----------
    .. [1] McCullagh, P., Nelder, J. A. (1989). *Generalized Linear Models*, ch. 6.
    """

    name = "poisson"

    def __init__(
        self,
        *,
        log_input: bool = True,
        full: bool = False,
        eps: float = 1e-8,
        reduction: Reduction = "mean",
    ) -> None:
        self.log_input = check_bool("log_input", log_input)
        self.full = check_bool("full", full)
        self.eps = check_real("eps", eps, low=0.0, low_open=True)
        super().__init__(reduction=reduction)

    def _check_values(self, xp: Namespace, y_true: Array, y_pred: Array) -> None:
        check_nonnegative(xp, y_true, "Poisson targets (counts)")
        if not self.log_input:
            check_nonnegative(xp, y_pred, "Poisson rates (y_pred with log_input=False)")

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y, x = arrays
        if self.log_input:
            rate = xp.exp(x)
            value = rate - xp.where(y == 0, xp.zeros_like(x), y * x)
            grad = rate - y if order >= 1 else None
            hess = rate if order >= 2 else None
        else:
            shifted = x + self.eps
            value = x - xlogy(y, shifted)
            grad = 1.0 - y / shifted if order >= 1 else None
            hess = y / (shifted * shifted) if order >= 2 else None
        if self.full:
            big = y > 1
            safe = xp.where(big, y, xp.ones_like(y))
            stirling = safe * xp.log(safe) - safe + 0.5 * xp.log(2.0 * math.pi * safe)
            value = value + xp.where(big, stirling, xp.zeros_like(y))
        return Terms(value, grad, hess)

    def _sample(self, rng: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
        y = rng.poisson(3.0, size=shape).astype(float)
        if self.log_input:
            return y, rng.normal(size=shape)
        return y, rng.uniform(0.5, 5.0, size=shape)
