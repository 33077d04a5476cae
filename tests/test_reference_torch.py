"""Reference values, gradients and Hessian diagonals from PyTorch, in float64.

Provenance: every expected number below is computed at test time by PyTorch (the
version the suite runs with is recorded in ``TORCH_VERSION``; the suite was written
against ``torch==2.13.0+cpu``). Values come from the ``torch.nn.functional`` function
named in each case, or, where PyTorch has no such loss, from the loss's formula written
in torch operations (named ``formula: ...``). Gradients are ``torch.autograd.grad`` of the
same reduction (of the sum for ``"none"``); Hessian diagonals are autograd's second
derivatives, element by element, on small inputs. Tolerance: 1e-12 relative, plus
``ATOL_UNIT`` times the largest magnitude for entries that cancel to near zero.

PyTorch's own conventions for "mean" are kept by losskit (SPEC §2): BCE-with-logits with
``pos_weight`` divides by the element count, ``cross_entropy`` with class weights by
``Σ w_y`` over the non-ignored samples, with probability targets by the row count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import losskit
from losskit import LossFunction

torch = pytest.importorskip("torch")
F = torch.nn.functional

TORCH_VERSION = torch.__version__
RTOL = 1e-12
ATOL_UNIT = 1e-14
REDUCTIONS = ("mean", "sum", "none")

Tensor = Any
TorchFn = Callable[..., Tensor]


def reduce(v: Tensor, reduction: str) -> Tensor:
    """PyTorch's reductions of per-sample values."""
    return {"mean": v.mean, "sum": v.sum, "none": lambda: v}[reduction]()


def close(actual: Any, expected: Any, what: str) -> None:
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, what
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL_UNIT * scale, err_msg=what)


def to_torch(x: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(x))


def autograd_derivatives(
    fn: TorchFn, inputs: tuple[np.ndarray, ...], wrt: tuple[int, ...], hessian: bool = True
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray] | None]:
    """``fn``'s value, its gradient (of the sum) and Hessian diagonal in the ``wrt`` inputs."""
    tensors = [to_torch(x).clone().requires_grad_(i in wrt) for i, x in enumerate(inputs)]
    value = fn(*tensors)
    xs = [tensors[i] for i in wrt]
    grads = torch.autograd.grad(value.sum(), xs, create_graph=hessian)
    hessians = None
    if hessian:
        hessians = []
        for x, g in zip(xs, grads, strict=True):
            flat, diag = g.reshape(-1), torch.zeros(x.numel(), dtype=x.dtype)
            for j in range(flat.numel()):
                if flat[j].requires_grad:
                    (h,) = torch.autograd.grad(flat[j], x, retain_graph=True, allow_unused=True)
                    diag[j] = 0.0 if h is None else h.reshape(-1)[j]
            hessians.append(diag.reshape(x.shape).numpy())
    return value.detach().numpy(), [g.detach().numpy() for g in grads], hessians


@dataclass(frozen=True)
class Case:
    """A losskit loss and the torch computation it equals, for each reduction."""

    id: str
    loss: LossFunction
    torch_fn: Callable[[str], TorchFn]  # reduction -> f(*inputs in losskit order)
    shape: tuple[int, ...] = (4, 3)
    hessian_fn: Callable[[str], TorchFn] | None = None  # a formula where torch has no 2nd order
    soft_labels: bool = False  # binary labels y -> 0.2 + 0.6 y

    def inputs(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        inputs = tuple(self.loss._sample(rng, self.shape))
        return (0.2 + 0.6 * inputs[0], *inputs[1:]) if self.soft_labels else inputs


def as_list(x: Any) -> list[Any]:
    """A derivative as a list of arrays (triplet returns a tuple, one per input)."""
    return list(x) if isinstance(x, tuple) else [x]


def check_case(case: Case, reduction: str, rng: np.random.Generator) -> None:
    loss = case.loss.replace(reduction=reduction)
    inputs = case.inputs(rng)
    wrt = tuple(range(3)) if loss._n_inputs == 3 else (1,)
    fn = case.torch_fn(reduction)
    value, grads, hessians = autograd_derivatives(fn, inputs, wrt, hessian=case.hessian_fn is None)
    if case.hessian_fn is not None:  # the formula must itself agree with torch's function
        f_value, f_grads, hessians = autograd_derivatives(case.hessian_fn(reduction), inputs, wrt)
        close(f_value, value, "formula value vs torch")
        for fg, g in zip(f_grads, grads, strict=True):
            close(fg, g, "formula gradient vs torch")
    ours_grad, ours_hess = loss.derivative_and_hessian(*inputs)
    close(loss.compute(*inputs), value, f"value ({TORCH_VERSION})")
    assert hessians is not None
    for ours, theirs in zip(as_list(ours_grad), grads, strict=True):
        close(ours, theirs, f"gradient ({TORCH_VERSION})")
    for ours, theirs in zip(as_list(ours_hess), hessians, strict=True):
        close(ours, theirs, f"Hessian diagonal ({TORCH_VERSION})")


# --------------------------------------------------------------------------
# the cases
# --------------------------------------------------------------------------


def clamped_log(p: Tensor) -> Tensor:
    """PyTorch ``BCELoss``'s ``log`` clamped at -100."""
    return torch.clamp(torch.log(p), min=-100.0)


def bce_formula(p: Tensor, y: Tensor) -> Tensor:
    """formula: ``-(y log p + (1 - y) log(1 - p))`` with PyTorch's clamp.

    Used where a Hessian is needed: the double backward of ``F.binary_cross_entropy``
    in torch 2.13 is about 1e-11 relative off (its ``p (1 - p)`` floor enters as an
    offset), while autograd of this formula is exact.
    """
    return -(y * clamped_log(p) + (1 - y) * clamped_log(1 - p))


def elementwise(per_sample: Callable[[Tensor, Tensor], Tensor]) -> Callable[[str], TorchFn]:
    return lambda r: lambda y, p: reduce(per_sample(y, p), r)


def functional(f: Callable[..., Tensor], **kw: Any) -> Callable[[str], TorchFn]:
    """A ``torch.nn.functional`` loss called as ``f(input, target, reduction=r, **kw)``."""
    return lambda r: lambda y, p: f(p, y, reduction=r, **kw)


def tensor(values: Any) -> Tensor:
    return torch.tensor(values, dtype=torch.float64)


def focal_torchvision(x: Tensor, y: Tensor, gamma: float, alpha: float | None) -> Tensor:
    """``torchvision.ops.sigmoid_focal_loss`` as published (torchvision/ops/focal_loss.py,
    reduction "none"); torchvision is not installed, so its formula is copied here."""
    p = torch.sigmoid(x)
    ce_loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha is not None:  # torchvision: `if alpha >= 0`, with alpha=-1 meaning none
        alpha_t = alpha * y + (1 - alpha) * (1 - y)
        loss = alpha_t * loss
    return loss


def focal_on_probabilities(p: Tensor, y: Tensor, gamma: float, alpha: float | None) -> Tensor:
    """The same formula with the probability as input (``binary_cross_entropy``)."""
    p_t = p * y + (1 - p) * (1 - y)
    loss = bce_formula(p, y) * ((1 - p_t) ** gamma)
    if alpha is not None:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return loss


def categorical_focal(
    y: Tensor, x: Tensor, gamma: float, alpha: Any, logits: bool, smoothing: float = 0.0
) -> Tensor:
    """formula: ``-Σ_c α_c t_c (1 - p_c)^γ log p_c`` (Keras ``categorical_focal_crossentropy``)."""
    t = y * (1 - smoothing) + smoothing / y.shape[-1]
    log_p = F.log_softmax(x, dim=-1) if logits else clamped_log(x)
    a = 1.0 if alpha is None else tensor(alpha) if isinstance(alpha, tuple) else alpha
    return -(a * t * (1 - torch.exp(log_p)) ** gamma * log_p).sum(-1)


def tversky(
    y: Tensor, p: Tensor, alpha: float, beta: float, s: float, per_sample: bool, per_class: bool
) -> Tensor:
    """formula: ``1 - (TP + s) / (TP + α FP + β FN + s)`` over the summed axes."""
    first = 1 if per_sample else 0
    last = p.ndim - 1 if per_class else p.ndim
    axes = tuple(range(first, last))
    tp = (y * p).sum(axes)
    fp = ((1 - y) * p).sum(axes)
    fn = (y * (1 - p)).sum(axes)
    score = 1 - (tp + s) / (tp + alpha * fp + beta * fn + s)
    return score.mean(-1) if per_class else score


def overlap_case(loss: LossFunction, shape: tuple[int, ...]) -> Case:
    alpha, beta, s = loss._tversky()  # type: ignore[attr-defined]

    def fn(r: str) -> TorchFn:
        return lambda y, p: reduce(
            tversky(y, p, alpha, beta, s, loss.per_sample, loss.per_class), r
        )  # type: ignore[attr-defined]

    return Case(f"formula: {loss!r}", loss, fn, shape)


def medical(y: Tensor, p: Tensor, w: float) -> Tensor:
    """formula: mean BCE over the spatial axes + w · mean over axes of mean((Δ_a (p - y))²)."""
    spatial = tuple(range(1, p.ndim)) if p.ndim >= 2 else (0,)
    value = bce_formula(p, y).mean(spatial)
    axes = [a for a in spatial if p.shape[a] > 1]
    r = p - y
    for a in axes:
        value = value + w / len(axes) * (torch.diff(r, dim=a) ** 2).mean(spatial)
    return value


def multi_margin(y: Tensor, x: Tensor, p: int, margin: float, weight: Any) -> Tensor:
    """formula: ``(1/C) Σ_{i≠y} w_y max(0, m - x_y + x_i)^p`` (PyTorch MultiMarginLoss docs)."""
    onehot = F.one_hot(y, x.shape[-1]).to(x.dtype)
    x_y = (x * onehot).sum(-1, keepdim=True)
    terms = torch.relu(margin - x_y + x) ** p * (1 - onehot)
    w_y = 1.0 if weight is None else tensor(weight)[y]
    return w_y * terms.sum(-1) / x.shape[-1]


def ce_from_log_probs(
    log_p: Tensor, labels: Tensor, weight: Any, ignore_index: int, e: float, reduction: str
) -> Tensor:
    """``cross_entropy`` with class indices, from log-probabilities: the computation of
    ATen's ``cross_entropy_loss_label_smoothing`` (LossNLL.cpp) written in torch;
    ``test_ce_from_log_probs_is_torch_cross_entropy`` checks it against PyTorch."""
    w = None if weight is None else tensor(weight)
    nll = F.nll_loss(log_p, labels, weight=w, ignore_index=ignore_index, reduction=reduction)
    if not e:
        return nll
    ignored = labels == ignore_index
    smooth = -(log_p * (1.0 if w is None else w)).sum(-1).masked_fill(ignored, 0.0)
    if reduction == "mean":
        safe = labels.masked_fill(ignored, 0)
        w_y = (torch.ones_like(smooth) if w is None else w[safe]).masked_fill(ignored, 0.0)
        smooth = smooth.sum() / w_y.sum()
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - e) * nll + smooth * (e / log_p.shape[-1])


W3 = (1.0, 2.5, 0.5)


def _cases() -> list[Case]:
    L = losskit
    cases = [
        Case("F.mse_loss", L.MeanSquaredError(), functional(F.mse_loss), (5,)),
        Case("F.l1_loss", L.MeanAbsoluteError(), functional(F.l1_loss), (5,)),
        Case("F.huber_loss", L.HuberLoss(), functional(F.huber_loss), (6,)),
        Case(
            "F.huber_loss-delta=0.3",
            L.HuberLoss(delta=0.3),
            functional(F.huber_loss, delta=0.3),
            (6,),
        ),
        Case("F.smooth_l1_loss", L.SmoothL1Loss(), functional(F.smooth_l1_loss), (6,)),
        Case(
            "F.smooth_l1_loss-beta=0.5",
            L.SmoothL1Loss(beta=0.5),
            functional(F.smooth_l1_loss, beta=0.5),
            (6,),
        ),
        Case(
            "F.smooth_l1_loss-beta=0",
            L.SmoothL1Loss(beta=0.0),
            functional(F.smooth_l1_loss, beta=0.0),
            (6,),
        ),
        Case(
            "formula: log(cosh(r))",
            L.LogCoshLoss(),
            elementwise(lambda y, p: torch.log(torch.cosh(p - y))),
            (6,),
        ),
        *(
            Case(
                f"formula: pinball q={q}",
                L.QuantileLoss(quantile=q),
                elementwise(lambda y, p, q=q: q * torch.relu(y - p) + (1 - q) * torch.relu(p - y)),
                (6,),
            )
            for q in (0.5, 0.1, 0.8)
        ),
        *(
            Case(
                f"F.poisson_nll_loss-log_input={log_input}-full={full}",
                L.PoissonLoss(log_input=log_input, full=full),
                functional(F.poisson_nll_loss, log_input=log_input, full=full, eps=1e-8),
                (6,),
            )
            for log_input in (True, False)
            for full in (False, True)
        ),
        Case(
            "F.binary_cross_entropy",
            L.BinaryCrossEntropy(),
            functional(F.binary_cross_entropy),
            hessian_fn=elementwise(lambda y, p: bce_formula(p, y)),
        ),
        Case(
            "F.binary_cross_entropy-smoothed-labels",
            L.BinaryCrossEntropy(label_smoothing=0.2),
            lambda r: lambda y, p: F.binary_cross_entropy(p, y * 0.8 + 0.1, reduction=r),
            hessian_fn=elementwise(lambda y, p: bce_formula(p, y * 0.8 + 0.1)),
        ),
        Case(
            "formula: BCE on probabilities with pos_weight",
            L.BinaryCrossEntropy(pos_weight=2.5),
            elementwise(lambda y, p: -(2.5 * y * clamped_log(p) + (1 - y) * clamped_log(1 - p))),
        ),
        Case(
            "F.binary_cross_entropy_with_logits",
            L.BinaryCrossEntropy(from_logits=True),
            functional(F.binary_cross_entropy_with_logits),
        ),
        Case(
            "F.binary_cross_entropy_with_logits-pos_weight=3",
            L.BinaryCrossEntropy(from_logits=True, pos_weight=3.0),
            functional(F.binary_cross_entropy_with_logits, pos_weight=tensor(3.0)),
        ),
        Case(
            "F.binary_cross_entropy_with_logits-pos_weight=per-class",
            L.BinaryCrossEntropy(from_logits=True, pos_weight=W3),
            functional(F.binary_cross_entropy_with_logits, pos_weight=tensor(W3)),
        ),
        Case(
            "F.binary_cross_entropy_with_logits-smoothed-labels",
            L.BinaryCrossEntropy(from_logits=True, label_smoothing=0.3),
            lambda r: (
                lambda y, x: F.binary_cross_entropy_with_logits(x, y * 0.7 + 0.15, reduction=r)
            ),
        ),
        Case(
            "formula: hinge relu(m - y x)",
            L.HingeLoss(margin=0.7),
            elementwise(lambda y, x: torch.relu(0.7 - y * x)),
            (6,),
        ),
        Case(
            "formula: squared hinge",
            L.SquaredHingeLoss(),
            elementwise(lambda y, x: torch.relu(1 - y * x) ** 2),
            (6,),
        ),
        Case(
            "torchvision sigmoid_focal_loss",
            L.FocalLoss(from_logits=True, alpha=0.25),
            elementwise(lambda y, x: focal_torchvision(x, y, 2.0, 0.25)),
        ),
        Case(
            "torchvision sigmoid_focal_loss-gamma=0.5-no-alpha",
            L.FocalLoss(from_logits=True, gamma=0.5),
            elementwise(lambda y, x: focal_torchvision(x, y, 0.5, None)),
        ),
        Case(
            "torchvision sigmoid_focal_loss-gamma=3-soft-labels",
            L.FocalLoss(from_logits=True, gamma=3.0, alpha=0.6),
            elementwise(lambda y, x: focal_torchvision(x, y, 3.0, 0.6)),
            soft_labels=True,
        ),
        Case(
            "formula: focal on probabilities",
            L.FocalLoss(alpha=0.25),
            elementwise(lambda y, p: focal_on_probabilities(p, y, 2.0, 0.25)),
        ),
        Case(
            "formula: focal on probabilities-gamma=0.5",
            L.FocalLoss(gamma=0.5),
            elementwise(lambda y, p: focal_on_probabilities(p, y, 0.5, None)),
        ),
        Case(
            "formula: weighted CE on probabilities",
            L.WeightedCrossEntropy(class_weights=(1.0, 5.0)),
            elementwise(lambda y, p: -(5.0 * y * clamped_log(p) + (1 - y) * clamped_log(1 - p))),
        ),
        Case(
            "F.binary_cross_entropy_with_logits-pos_weight=w1 over w0-times w0",
            L.WeightedCrossEntropy(class_weights=(2.0, 5.0), from_logits=True),
            lambda r: (
                lambda y, x: (
                    2.0
                    * F.binary_cross_entropy_with_logits(x, y, pos_weight=tensor(2.5), reduction=r)
                )
            ),
        ),
        Case(
            "formula: contrastive",
            L.ContrastiveLoss(margin=1.5),
            elementwise(lambda y, d: 0.5 * (y * d**2 + (1 - y) * torch.relu(1.5 - d) ** 2)),
            (8,),
        ),
        Case(
            "formula: medical imaging 2-d",
            L.MedicalImagingLoss(),
            elementwise(lambda y, p: medical(y, p, 0.3)),
            (2, 5),
        ),
        Case(
            "formula: medical imaging 3-d",
            L.MedicalImagingLoss(boundary_weight=0.8),
            elementwise(lambda y, p: medical(y, p, 0.8)),
            (2, 3, 4),
        ),
        Case(
            "formula: medical imaging 1-d signal",
            L.MedicalImagingLoss(),
            lambda r: lambda y, p: medical(y, p, 0.3),
            (7,),
        ),
    ]
    cases += [
        overlap_case(L.DiceLoss(), (8,)),
        overlap_case(L.DiceLoss(smooth=1.0, per_sample=True), (3, 4)),
        overlap_case(L.JaccardLoss(per_class=True), (3, 2, 3)),
        overlap_case(
            L.TverskyLoss(alpha=0.3, beta=0.7, per_sample=True, per_class=True), (2, 3, 3)
        ),
    ]
    # softmax cross-entropy: F.cross_entropy with the class axis moved to 1
    for shape in ((4, 3), (2, 3, 4)):
        tag = "x".join(map(str, shape))
        cases += [
            Case(
                f"F.cross_entropy-probability-targets-{tag}",
                L.CategoricalCrossEntropy(
                    from_logits=True,
                    class_weight=W3 if shape[-1] == 3 else None,
                    label_smoothing=0.1,
                ),
                lambda r, shape=shape: (
                    lambda y, x: F.cross_entropy(
                        x.movedim(-1, 1),
                        y.movedim(-1, 1),
                        weight=tensor(W3) if shape[-1] == 3 else None,
                        label_smoothing=0.1,
                        reduction=r,
                    )
                ),
                shape,
            ),
            Case(
                f"F.cross_entropy-indices-{tag}",
                L.SparseCategoricalCrossEntropy(from_logits=True),
                lambda r: lambda y, x: F.cross_entropy(x.movedim(-1, 1), y, reduction=r),
                shape,
            ),
        ]
    sparse_options = [
        {"class_weight": W3},
        {"ignore_index": 1},
        {"label_smoothing": 0.2},
        {"class_weight": W3, "ignore_index": 0, "label_smoothing": 0.2},
    ]
    for opts in sparse_options:
        tag = "-".join(f"{k}={v}" for k, v in opts.items())
        w = tensor(opts["class_weight"]) if "class_weight" in opts else None
        ignore = opts.get("ignore_index", -100)
        e = opts.get("label_smoothing", 0.0)
        cases += [
            Case(
                f"F.cross_entropy-indices-{tag}",
                L.SparseCategoricalCrossEntropy(from_logits=True, **opts),
                lambda r, w=w, ignore=ignore, e=e: (
                    lambda y, x: F.cross_entropy(
                        x, y, weight=w, ignore_index=ignore, label_smoothing=e, reduction=r
                    )
                ),
                (6, 3),
            ),
            Case(
                f"cross_entropy from log-probabilities-{tag}",
                L.SparseCategoricalCrossEntropy(**opts),
                lambda r, ignore=ignore, e=e, opts=opts: (
                    lambda y, p: ce_from_log_probs(
                        clamped_log(p), y, opts.get("class_weight"), ignore, e, r
                    )
                ),
                (6, 3),
            ),
        ]
    cases += [
        Case(
            "formula: CE on probability rows",
            L.CategoricalCrossEntropy(class_weight=W3, label_smoothing=0.1),
            lambda r: (
                lambda y, p: reduce(-((y * 0.9 + 0.1 / 3) * tensor(W3) * clamped_log(p)).sum(-1), r)
            ),
        ),
        Case(
            "F.kl_div(log q, y, batchmean)",
            L.KLDivergence(),
            lambda r: (
                lambda y, q: (
                    F.kl_div(torch.log(q), y, reduction="batchmean" if r == "mean" else r).sum(-1)
                    if r == "none"
                    else F.kl_div(torch.log(q), y, reduction="batchmean" if r == "mean" else r)
                )
            ),
        ),
        Case(
            "F.kl_div(log_softmax(x), y, batchmean)",
            L.KLDivergence(from_logits=True),
            lambda r: (
                lambda y, x: (
                    F.kl_div(F.log_softmax(x, -1), y, reduction="none").sum(-1)
                    if r == "none"
                    else F.kl_div(
                        F.log_softmax(x, -1), y, reduction="batchmean" if r == "mean" else r
                    )
                )
            ),
        ),
        Case(
            "formula: categorical focal on logits",
            L.CategoricalFocalLoss(from_logits=True, alpha=(0.2, 0.5, 0.3), label_smoothing=0.1),
            lambda r: (
                lambda y, x: reduce(categorical_focal(y, x, 2.0, (0.2, 0.5, 0.3), True, 0.1), r)
            ),
        ),
        Case(
            "formula: categorical focal on logits-gamma=0.5",
            L.CategoricalFocalLoss(from_logits=True, gamma=0.5, alpha=0.25),
            lambda r: lambda y, x: reduce(categorical_focal(y, x, 0.5, 0.25, True), r),
        ),
        Case(
            "formula: categorical focal on probabilities",
            L.CategoricalFocalLoss(gamma=1.5),
            lambda r: lambda y, p: reduce(categorical_focal(y, p, 1.5, None, False), r),
        ),
    ]
    for p, margin, weight in ((1, 1.0, None), (2, 1.0, None), (1, 0.5, W3), (2, 2.0, W3)):
        w = None if weight is None else tensor(weight)
        cases.append(
            Case(
                f"F.multi_margin_loss-p={p}-margin={margin}-weight={weight}",
                L.MulticlassHingeLoss(p=p, margin=margin, class_weight=weight),
                lambda r, p=p, margin=margin, w=w: (
                    lambda y, x: F.multi_margin_loss(
                        x, y, p=p, margin=margin, weight=w, reduction=r
                    )
                ),
                (5, 4) if weight is None else (5, 3),
                hessian_fn=lambda r, p=p, margin=margin, weight=weight: (
                    lambda y, x: reduce(multi_margin(y, x, p, margin, weight), r)
                ),
            )
        )
    for opts in (
        {},
        {"p": 1.0},
        {"p": 3.0, "margin": 0.5},
        {"swap": True},
        {"eps": 0.0, "margin": 2.0},
    ):
        tag = "-".join(f"{k}={v}" for k, v in opts.items()) or "defaults"
        cases.append(
            Case(
                f"F.triplet_margin_loss-{tag}",
                L.TripletLoss(**opts),  # type: ignore[arg-type]
                lambda r, opts=opts: (
                    lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction=r, **opts)
                ),
                (4, 3),
            )
        )
    return cases


CASES = _cases()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_matches_torch(case: Case, reduction: str, rng: np.random.Generator) -> None:
    check_case(case, reduction, rng)


def test_every_loss_has_a_torch_reference() -> None:
    assert {c.loss.name for c in CASES} == set(losskit.names())


@pytest.mark.parametrize(
    "opts", [{}, {"class_weight": W3, "ignore_index": 2, "label_smoothing": 0.3}], ids=repr
)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ce_from_log_probs_is_torch_cross_entropy(
    opts: dict[str, Any], reduction: str, rng: np.random.Generator
) -> None:
    """The helper above equals ``F.cross_entropy`` on ``log_softmax`` inputs."""
    x = to_torch(rng.normal(size=(7, 3)))
    y = to_torch(rng.integers(0, 3, size=7))
    ignore = opts.get("ignore_index", -100)
    e = opts.get("label_smoothing", 0.0)
    w = opts.get("class_weight")
    ours = ce_from_log_probs(F.log_softmax(x, -1), y, w, ignore, e, reduction)
    theirs = F.cross_entropy(
        x,
        y,
        weight=None if w is None else tensor(w),
        ignore_index=ignore,
        label_smoothing=e,
        reduction=reduction,
    )
    close(ours.numpy(), theirs.numpy(), "helper vs F.cross_entropy")


@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_bce_with_logits_weight_is_sample_weight(reduction: str, rng: np.random.Generator) -> None:
    """torch's element ``weight`` is losskit's ``sample_weight`` for "none" and "sum"."""
    y, x = losskit.BinaryCrossEntropy(from_logits=True)._sample(rng, (4, 3))
    w = rng.uniform(0.2, 3.0, size=(4, 3))
    loss = losskit.BinaryCrossEntropy(from_logits=True, pos_weight=W3, reduction=reduction)

    def fn(y_: Tensor, x_: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            x_, y_, weight=to_torch(w), pos_weight=tensor(W3), reduction=reduction
        )

    value, (grad,), (hess,) = autograd_derivatives(fn, (y, x), (1,))
    close(loss(y, x, sample_weight=w), value, "value")
    close(loss.derivative(y, x, sample_weight=w), grad, "gradient")
    close(loss.hessian(y, x, sample_weight=w), hess, "Hessian")


def test_bce_with_logits_weight_mean_divides_differently(rng: np.random.Generator) -> None:
    """SPEC §2: torch's weighted "mean" divides by numel, losskit's by Σw (documented)."""
    y, x = losskit.BinaryCrossEntropy(from_logits=True)._sample(rng, (6,))
    w = rng.uniform(0.2, 3.0, size=6)
    theirs = F.binary_cross_entropy_with_logits(to_torch(x), to_torch(y), weight=to_torch(w))
    ours = losskit.BinaryCrossEntropy(from_logits=True)(y, x, sample_weight=w)
    close(ours * w.sum() / w.size, theirs.numpy(), "Σw·l / n")


# --------------------------------------------------------------------------
# kinks: the subgradient PyTorch's autograd returns (SPEC §2, §4)
# --------------------------------------------------------------------------


def _kinks() -> list[tuple[str, LossFunction, tuple[np.ndarray, ...], TorchFn]]:
    L = losskit
    zeros = np.zeros(5)
    at_delta = np.array([0.5, -0.5, 0.0, 0.2, 1.0])
    pair_y = np.array([0.0, 0.0, 1.0, 0.0])
    a, p, n = np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]), np.array([[2.0, 0.0]])
    tie = (np.array([[0.0, 0.0]]), np.array([[2.0, 0.0]]), np.array([[1.0, 0.3]]))
    return [
        ("F.l1_loss at r = 0", L.MeanAbsoluteError(), (zeros, zeros), lambda y, x: F.l1_loss(x, y)),
        (
            "F.huber_loss at |r| = delta",
            L.HuberLoss(delta=0.5),
            (zeros, at_delta),
            lambda y, x: F.huber_loss(x, y, delta=0.5),
        ),
        (
            "F.smooth_l1_loss at |r| = beta",
            L.SmoothL1Loss(beta=0.5),
            (zeros, at_delta),
            lambda y, x: F.smooth_l1_loss(x, y, beta=0.5),
        ),
        (
            "F.smooth_l1_loss(beta=0) at r = 0",
            L.SmoothL1Loss(beta=0.0),
            (zeros, at_delta),
            lambda y, x: F.smooth_l1_loss(x, y, beta=0.0),
        ),
        (
            "formula: pinball at a tie",
            L.QuantileLoss(quantile=0.3),
            (zeros, zeros),
            lambda y, x: (0.3 * torch.relu(y - x) + 0.7 * torch.relu(x - y)).mean(),
        ),
        (
            "formula: hinge at the margin",
            L.HingeLoss(margin=0.5),
            (np.array([1.0, -1.0, 1.0]), np.array([0.5, -0.5, 2.0])),
            lambda y, x: torch.relu(0.5 - y * x).mean(),
        ),
        (
            "formula: squared hinge at the margin",
            L.SquaredHingeLoss(),
            (np.array([1.0, -1.0]), np.array([1.0, -1.0])),
            lambda y, x: (torch.relu(1 - y * x) ** 2).mean(),
        ),
        (
            "formula: contrastive at d = margin",
            L.ContrastiveLoss(margin=1.0),
            (pair_y, np.array([1.0, 0.5, 1.0, 2.0])),
            lambda y, d: (0.5 * (y * d**2 + (1 - y) * torch.relu(1 - d) ** 2)).mean(),
        ),
        (
            "F.multi_margin_loss at z = 0",
            L.MulticlassHingeLoss(),
            (np.array([0, 1]), np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]])),
            lambda y, x: F.multi_margin_loss(x, y),
        ),
        (
            "F.triplet_margin_loss at z = 0",
            L.TripletLoss(eps=0.0),
            (a, p, n),
            lambda a_, p_, n_: F.triplet_margin_loss(a_, p_, n_, eps=0.0),
        ),
        (
            "F.triplet_margin_loss(swap) at a tie d(a,n) = d(p,n)",
            L.TripletLoss(eps=0.0, swap=True, margin=5.0),
            tie,
            lambda a_, p_, n_: F.triplet_margin_loss(a_, p_, n_, eps=0.0, swap=True, margin=5.0),
        ),
    ]


@pytest.mark.parametrize(
    ("label", "loss", "inputs", "fn"), [pytest.param(*k, id=k[0]) for k in _kinks()]
)
def test_kink_conventions_match_torch_autograd(
    label: str, loss: LossFunction, inputs: tuple[np.ndarray, ...], fn: TorchFn
) -> None:
    """At a kink, losskit's derivative is the one autograd gives for the same formula, and
    its Hessian is autograd's second derivative where torch has one."""
    wrt = tuple(range(3)) if loss._n_inputs == 3 else (1,)
    hessian = not label.startswith("F.multi_margin_loss")  # no double backward in torch
    value, grads, hessians = autograd_derivatives(fn, inputs, wrt, hessian=hessian)
    close(loss.compute(*inputs), value, label)
    for o, t in zip(as_list(loss.derivative(*inputs)), grads, strict=True):
        close(o, t, f"{label}: gradient")
    if hessians is None:
        np.testing.assert_array_equal(loss.hessian(*inputs), 0.0)  # p = 1: piecewise linear
        return
    for o, t in zip(as_list(loss.hessian(*inputs)), hessians, strict=True):
        close(o, t, f"{label}: Hessian")
