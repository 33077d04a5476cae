"""Numerically stable building blocks, for any array-API library.

The seed's helpers map to these: ``log_sum_exp`` → :func:`logsumexp`,
``stable_softmax`` → :func:`softmax`, ``stable_cross_entropy`` →
``losskit.CategoricalCrossEntropy(reduction="none")`` (or, from logits,
``-(y * log_softmax(x)).sum(-1)``), ``clip_gradients`` → :func:`clip_grad_norm`.
"""

from ._numerics import (
    clip_grad_norm,
    log_sigmoid,
    log_softmax,
    logsumexp,
    sigmoid,
    softmax,
    softplus,
    xlogy,
)

__all__ = [
    "clip_grad_norm",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "sigmoid",
    "softmax",
    "softplus",
    "xlogy",
]
