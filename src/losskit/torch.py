"""losskit losses as ``torch.nn`` modules whose backward is the loss's analytic derivative.

>>> import torch, losskit
>>> from losskit.torch import as_module
>>> criterion = as_module(losskit.HuberLoss(delta=0.5))
>>> x = torch.tensor([0.0, 2.0], requires_grad=True)
>>> loss = criterion(x, torch.tensor([0.2, 0.0]))   # PyTorch's order: input, target
>>> loss.backward()
>>> x.grad
tensor([-0.1000,  0.2500])

``as_module(loss)`` wraps any losskit loss in a :class:`LossModule`. Its
forward computes ``loss.compute(target, input, sample_weight)`` without
building an autograd graph through the formula; the backward evaluates
``loss.derivative`` on the saved inputs (recomputing what it needs instead of
keeping intermediates), so the memory held for the backward is the inputs,
which the caller holds anyway. ``as_module(loss, recompute=False)`` trades
that for time: the forward evaluates value and derivative in one pass and
keeps the derivative, one gradient-sized tensor (see
``benchmarks/RESULTS.md``). Input checks run in the forward (see
:func:`losskit.set_validation`) and are skipped in the backward.

* ``forward(input, target, sample_weight=None)`` takes PyTorch's argument
  order, so a module replaces a ``torch.nn`` loss in place; the triplet loss
  takes ``forward(anchor, positive, negative, sample_weight=None)`` and
  differentiates all three.
* The loss's ``reduction`` is honoured: for ``"none"`` the incoming gradient
  of each sample multiplies its derivative.
* Only the prediction is differentiated (all three embeddings for triplet):
  a ``target`` or ``sample_weight`` that requires grad is an error, where a
  ``torch.nn`` loss would differentiate it.
* Double backward (gradients of gradients, ``create_graph=True``) is not
  supported and raises; differentiate ``loss.compute`` on tensors directly
  for that, which autograd traces through the formula.
* dtype and device follow the input (float16 and bfloat16 are computed in
  float32 and cast back).
* On the CPU, with the ``fast`` extra, forward and backward of the
  element-wise losses and the softmax cross-entropies run losskit's fused
  kernels on the tensors' memory (see ``benchmarks/RESULTS.md``); elsewhere
  they evaluate the loss's formula as PyTorch operations.
"""

from __future__ import annotations

from typing import Any

from ._base import LossFunction, _expand
from ._compat import namespace, validation
from ._registry import get

try:
    import torch
    from torch.autograd.function import once_differentiable
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("losskit.torch needs PyTorch: pip install 'losskit[torch]'") from err

__all__ = ["LossModule", "TripletModule", "as_module"]


def _gradients(
    loss: LossFunction, inputs: tuple[torch.Tensor, ...], sample_weight: torch.Tensor | None
) -> tuple[Any, tuple[torch.Tensor | None, ...]]:
    """``loss``'s value and its derivatives, one entry per input (None where not differentiated)."""
    value, grads, _ = loss._run(inputs, sample_weight, 1)
    if not isinstance(grads, tuple):
        grads = (None,) * loss._ref + (grads,) + (None,) * (len(inputs) - loss._ref - 1)
    return value, grads


class _AnalyticLoss(torch.autograd.Function):
    """``loss.compute`` forward, ``loss.derivative`` backward.

    With ``recompute`` the forward saves the inputs and the backward evaluates the
    derivative; without, the forward evaluates value and derivative together and saves
    the derivative. The derivative is that of the reduced loss (of the weighted sum for
    ``"none"``), so the backward only multiplies it by the incoming gradient.
    """

    @staticmethod
    def forward(
        ctx: Any,
        loss: LossFunction,
        recompute: bool,
        sample_weight: torch.Tensor | None,
        *inputs: torch.Tensor,
    ) -> torch.Tensor:
        ctx.loss = loss
        ctx.recompute = recompute or not any(ctx.needs_input_grad)
        if ctx.recompute:
            ctx.has_weight = sample_weight is not None
            ctx.save_for_backward(*inputs, *(() if sample_weight is None else (sample_weight,)))
            return loss._run(inputs, sample_weight, 0)[0]
        value, grads = _gradients(loss, inputs, sample_weight)
        ctx.differentiated = [g is not None for g in grads]
        ctx.save_for_backward(*(g for g in grads if g is not None))
        return value

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[Any, ...]:
        saved = ctx.saved_tensors
        if ctx.recompute:
            inputs, weight = (saved[:-1], saved[-1]) if ctx.has_weight else (saved, None)
            with validation("never"):  # the forward has checked these inputs
                grads = _gradients(ctx.loss, inputs, weight)[1]
        else:
            kept = iter(saved)
            grads = tuple(next(kept) if d else None for d in ctx.differentiated)
        # The vector-Jacobian product: per sample for "none", a scalar otherwise.
        # (per-sample incoming gradients get trailing unit axes, as losskit aligns them)
        xp = namespace(grad_output)
        scaled = (None if g is None else g * _expand(xp, grad_output, g.ndim) for g in grads)
        return (None, None, None, *scaled)


class LossModule(torch.nn.Module):
    """A losskit loss as a ``torch.nn`` loss module (see :func:`as_module`).

    Parameters
    ----------
    loss : LossFunction
        A loss of ``(y_true, y_pred)``.
    recompute : bool, default True
        Save the inputs and evaluate the derivative in the backward (True), or
        evaluate value and derivative together in the forward and save the
        derivative (False: one evaluation instead of two, one gradient-sized
        tensor held until the backward).
    """

    def __init__(self, loss: LossFunction, *, recompute: bool = True) -> None:
        super().__init__()
        if not isinstance(loss, LossFunction):
            raise TypeError(f"loss must be a losskit LossFunction; got {type(loss).__name__}")
        self.loss = loss
        self.recompute = recompute

    @property
    def reduction(self) -> str:
        return self.loss.reduction

    def extra_repr(self) -> str:
        return f"{self.loss!r}, recompute={self.recompute}"

    def _apply_loss(self, inputs: tuple[Any, ...], sample_weight: Any) -> torch.Tensor:
        ref = inputs[self.loss._ref]
        if not isinstance(ref, torch.Tensor):
            raise TypeError(f"the input must be a torch.Tensor; got {type(ref).__name__}")
        tensors = tuple(
            x if isinstance(x, torch.Tensor) else torch.as_tensor(x, device=ref.device)
            for x in inputs
        )
        differentiated = range(len(tensors)) if self.loss._n_inputs == 3 else (self.loss._ref,)
        for i, x in enumerate(tensors):
            if i not in differentiated and x.requires_grad:
                raise ValueError(
                    "losskit.torch differentiates the prediction only; the target requires "
                    "grad: pass target.detach() or use loss.compute for autograd"
                )
        if sample_weight is not None:
            if not isinstance(sample_weight, torch.Tensor):
                sample_weight = torch.as_tensor(sample_weight, dtype=ref.dtype, device=ref.device)
            if sample_weight.requires_grad:
                raise ValueError(
                    "sample_weight requires grad; losskit.torch does not differentiate it"
                )
        result: torch.Tensor = _AnalyticLoss.apply(
            self.loss, self.recompute, sample_weight, *tensors
        )
        return result

    def forward(self, input: Any, target: Any, sample_weight: Any = None) -> torch.Tensor:
        """``loss.compute(target, input, sample_weight)``, PyTorch's argument order."""
        return self._apply_loss((target, input), sample_weight)


class TripletModule(LossModule):
    """The triplet loss as a module: ``forward(anchor, positive, negative, sample_weight=None)``."""

    def forward(  # type: ignore[override]
        self, anchor: Any, positive: Any, negative: Any, sample_weight: Any = None
    ) -> torch.Tensor:
        """``loss.compute(anchor, positive, negative, sample_weight)``; all three get gradients."""
        return self._apply_loss((anchor, positive, negative), sample_weight)


def as_module(loss: LossFunction | str, *, recompute: bool = True, **params: Any) -> LossModule:
    """A ``torch.nn.Module`` computing ``loss`` with losskit's analytic backward.

    Parameters
    ----------
    loss : LossFunction or str
        A loss, or a registry name built with ``params`` (``as_module("huber", delta=0.5)``).
    recompute : bool, default True
        Keep only the inputs for the backward and evaluate the derivative there
        (see :class:`LossModule`).
    **params
        Parameters of the named loss.

    Returns
    -------
    LossModule
        A :class:`TripletModule` for a loss of three embeddings.
    """
    if isinstance(loss, str):
        loss = get(loss, **params)
    elif params:
        raise TypeError("parameters are only accepted with a loss name; use loss.replace(...)")
    if not isinstance(loss, LossFunction):
        raise TypeError(f"loss must be a losskit LossFunction or name; got {type(loss).__name__}")
    cls = TripletModule if loss._n_inputs == 3 else LossModule
    return cls(loss, recompute=recompute)
