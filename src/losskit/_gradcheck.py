"""``check_gradients``: analytic derivatives against finite differences, in float64."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._base import LossFunction

__all__ = ["GradientCheck", "check_gradients"]


@dataclass(frozen=True)
class GradientCheck:
    """The outcome of :func:`check_gradients`.

    ``grad_error`` and ``hess_error`` are the largest violations
    ``|fd - analytic| / (atol + rtol * max(|fd|, |analytic|))``: a value
    up to 1 passes. ``hess_error`` is None when the loss has no Hessian.
    """

    loss: str
    grad_error: float
    hess_error: float | None
    n_checked: int

    @property
    def ok(self) -> bool:
        return self.grad_error <= 1.0 and (self.hess_error is None or self.hess_error <= 1.0)

    def __bool__(self) -> bool:
        return self.ok


def _fd(f: Any, x: np.ndarray, i: tuple[int, ...], h: float) -> float:
    """Fourth-order central difference of the scalar ``f`` along element ``i`` of ``x``."""

    def at(t: float) -> float:
        old = x[i]
        x[i] = old + t
        try:
            return float(f())
        finally:
            x[i] = old

    return (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h)


def check_gradients(
    loss: LossFunction,
    *inputs: Any,
    sample_weight: Any = None,
    shape: tuple[int, ...] | None = None,
    seed: int = 0,
    step: float = 1e-4,
    rtol: float = 1e-6,
    atol: float = 1e-8,
) -> GradientCheck:
    """Check a loss's ``derivative`` and ``hessian`` against finite differences.

    The derivative is compared with a fourth-order central difference of
    ``compute`` (step ``step * max(1, |x|)``), the Hessian diagonal with the
    same difference of ``derivative``, everything in float64 (with its
    ``reduction``; "none" checks the sum). Inputs default to a random draw
    from the loss's domain, away from its kinks.

    Parameters
    ----------
    loss : LossFunction
        A built-in loss or your own subclass.
    *inputs : array_like
        ``y_true, y_pred`` (or the loss's own inputs); drawn when omitted.
        For your own loss without a domain, standard-normal ``y_true`` and
        ``y_pred`` are used.
    sample_weight : array_like, optional
    shape : tuple of int, optional
        Shape of the drawn inputs (default ``(5,)``, or ``(4, 3)`` for a loss
        over a class axis).
    seed : int, default 0
    step, rtol, atol : float
        The finite-difference step and tolerances.

    Returns
    -------
    GradientCheck
        Truthy when both checks pass.

    Examples
    --------
    >>> import losskit
    >>> bool(losskit.check_gradients(losskit.HuberLoss(delta=0.5)))
    True
    """
    if not isinstance(loss, LossFunction):
        raise TypeError(f"check_gradients needs a losskit loss; got {type(loss).__name__}")
    rng = np.random.default_rng(seed)
    if not inputs:
        from ._base import RowwiseLoss

        default = (4, 3) if isinstance(loss, RowwiseLoss) or loss._n_inputs == 3 else (5,)
        inputs = tuple(loss._sample(rng, shape or default))
    arrays = [
        np.array(x, dtype=np.float64) if np.asarray(x).dtype.kind == "f" else np.array(x)
        for x in inputs
    ]
    wrt = (loss._ref,) if loss._n_inputs == 2 else tuple(range(loss._n_inputs))

    def total(result: Any) -> float:
        return float(np.sum(np.asarray(result)))

    def pick(result: Any, k: int) -> np.ndarray:
        return np.asarray(result[k] if isinstance(result, tuple) else result)

    call = lambda method: getattr(loss, method)(*arrays, sample_weight=sample_weight)  # noqa: E731
    grads = call("derivative")
    try:
        hessians = call("hessian")
    except NotImplementedError:
        hessians = None

    def violation(fd: float, an: float) -> float:
        return abs(fd - an) / (atol + rtol * max(abs(fd), abs(an)))

    grad_err, hess_err, n = 0.0, 0.0, 0
    for pos, k in enumerate(wrt):
        x = arrays[k]
        g = pick(grads, pos)
        h_an = None if hessians is None else pick(hessians, pos)
        for i in np.ndindex(x.shape):
            h = step * max(1.0, abs(float(x[i])))
            grad_err = max(
                grad_err, violation(_fd(lambda: total(call("compute")), x, i, h), float(g[i]))
            )
            if h_an is not None:
                fd2 = _fd(lambda pos=pos, i=i: float(pick(call("derivative"), pos)[i]), x, i, h)
                hess_err = max(hess_err, violation(fd2, float(h_an[i])))
            n += 1
    return GradientCheck(
        loss=repr(loss),
        grad_error=grad_err,
        hess_error=None if hessians is None else hess_err,
        n_checked=n,
    )
