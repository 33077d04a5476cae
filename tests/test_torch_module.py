"""``losskit.torch.as_module``: torch modules whose backward is losskit's analytic derivative.

Every registered loss (all option variants of the invariant suite) is checked against
autograd through the same formula (``loss.compute`` on tensors, which autograd traces),
and the losses PyTorch has against ``torch.nn.functional``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import losskit
from conftest import VARIANTS, Variant, assert_allclose_dtype, per_sample_shape, variant_params

torch = pytest.importorskip("torch")
lkt = pytest.importorskip("losskit.torch")
F = torch.nn.functional

REDUCTIONS = ("mean", "sum", "none")


def tensors(inputs: tuple, grad: tuple[int, ...]) -> list[Any]:
    return [
        torch.from_numpy(np.ascontiguousarray(x)).requires_grad_(i in grad)
        for i, x in enumerate(inputs)
    ]


def differentiated(loss: losskit.LossFunction) -> tuple[int, ...]:
    return (0, 1, 2) if loss._n_inputs == 3 else (1,)


def module_call(module: Any, ts: list[Any], w: Any) -> Any:
    """The module in PyTorch's argument order (input first), or the triplet's."""
    if module.loss._n_inputs == 3:
        return module(*ts, sample_weight=w)
    return module(ts[1], ts[0], sample_weight=w)


@pytest.mark.parametrize("recompute", [True, False], ids=["recompute", "saved-gradient"])
@pytest.mark.parametrize("variant", variant_params())
def test_backward_equals_autograd_through_the_formula(
    variant: Variant, recompute: bool, rng: np.random.Generator
) -> None:
    inputs = variant.inputs(rng)
    wrt = differentiated(variant.loss)
    weights = rng.uniform(0.5, 2.0, per_sample_shape(variant.loss, inputs))
    for reduction in REDUCTIONS:
        loss = variant.loss.replace(reduction=reduction)
        for w in (None, torch.from_numpy(weights)):
            ours = tensors(inputs, wrt)
            out = module_call(lkt.as_module(loss, recompute=recompute), ours, w)
            grad_out = torch.from_numpy(rng.uniform(-1.0, 1.0, tuple(out.shape)))
            got = torch.autograd.grad(out, [ours[i] for i in wrt], grad_out)
            ref = tensors(inputs, wrt)
            expected = loss.compute(*ref, w)
            want = torch.autograd.grad(expected, [ref[i] for i in wrt], grad_out)
            assert not out.requires_grad or out.grad_fn is not None
            assert_allclose_dtype(out.detach(), expected.detach(), np.float64)
            for g, e in zip(got, want, strict=True):
                assert g.dtype == torch.float64
                assert_allclose_dtype(g, e, np.float64, k=64)


# ---- PyTorch's own losses ---------------------------------------------------------------


def _binary(n: int, rng: np.random.Generator, logits: bool) -> tuple[Any, Any]:
    y = torch.from_numpy(rng.integers(0, 2, n).astype(np.float64))
    x = rng.normal(size=n) * 2.0 if logits else rng.uniform(0.05, 0.95, n)
    return torch.from_numpy(x), y


def _classes(rng: np.random.Generator) -> tuple[Any, Any]:
    return torch.from_numpy(rng.normal(size=(6, 4)) * 2.0), torch.from_numpy(rng.integers(0, 4, 6))


def _regression(rng: np.random.Generator) -> tuple[Any, Any]:
    return torch.from_numpy(rng.normal(size=12) * 2.0), torch.from_numpy(rng.normal(size=12))


def _rows(rng: np.random.Generator) -> tuple[Any, Any]:
    return torch.from_numpy(rng.normal(size=(6, 4))), torch.from_numpy(rng.dirichlet([1.0] * 4, 6))


TORCH_PAIRS = {
    "mse": (losskit.MeanSquaredError(), F.mse_loss, _regression),
    "l1": (losskit.MeanAbsoluteError(), F.l1_loss, _regression),
    "huber": (
        losskit.HuberLoss(delta=0.7),
        lambda x, t: F.huber_loss(x, t, delta=0.7),
        _regression,
    ),
    "smooth_l1": (
        losskit.SmoothL1Loss(beta=0.5),
        lambda x, t: F.smooth_l1_loss(x, t, beta=0.5),
        _regression,
    ),
    "bce": (losskit.BinaryCrossEntropy(), F.binary_cross_entropy, lambda r: _binary(12, r, False)),
    "bce_with_logits": (
        losskit.BinaryCrossEntropy(from_logits=True, pos_weight=3.0),
        lambda x, t: F.binary_cross_entropy_with_logits(
            x, t, pos_weight=torch.tensor(3.0, dtype=x.dtype)
        ),
        lambda r: _binary(12, r, True),
    ),
    "cross_entropy": (
        losskit.SparseCategoricalCrossEntropy(from_logits=True, class_weight=(1.0, 2.0, 0.5, 1.0)),
        lambda x, t: F.cross_entropy(
            x, t, weight=torch.tensor([1.0, 2.0, 0.5, 1.0], dtype=x.dtype)
        ),
        _classes,
    ),
    "cross_entropy_probs": (
        losskit.CategoricalCrossEntropy(from_logits=True, label_smoothing=0.1),
        lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
        _rows,
    ),
    "kl_div": (
        losskit.KLDivergence(from_logits=True),
        lambda x, t: F.kl_div(F.log_softmax(x, dim=-1), t, reduction="batchmean"),
        _rows,
    ),
    "multi_margin": (losskit.MulticlassHingeLoss(), F.multi_margin_loss, _classes),
    "poisson_nll": (
        losskit.PoissonLoss(),
        lambda x, t: F.poisson_nll_loss(x, t, log_input=True),
        lambda r: (
            torch.from_numpy(r.normal(size=12)),
            torch.from_numpy(r.poisson(2.0, 12).astype(float)),
        ),
    ),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(TORCH_PAIRS))
def test_matches_torch_losses(name: str, dtype: Any, rng: np.random.Generator) -> None:
    loss, torch_fn, draw = TORCH_PAIRS[name]
    x, t = draw(rng)
    x = x.to(dtype)
    t = t.to(dtype) if t.is_floating_point() else t
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    out = lkt.as_module(loss)(a, t)
    ref = torch_fn(b, t)
    out.backward()
    ref.backward()
    eps_dtype = np.float32 if dtype == torch.float32 else np.float64
    assert out.dtype == dtype
    assert a.grad.dtype == dtype
    assert_allclose_dtype(out.detach(), ref.detach(), eps_dtype, k=16)
    assert_allclose_dtype(a.grad, b.grad, eps_dtype, k=16)


@pytest.mark.parametrize("swap", [False, True])
def test_matches_triplet_margin_loss(swap: bool, rng: np.random.Generator) -> None:
    embeddings = [rng.normal(size=(5, 4)) for _ in range(3)]
    ours, ref = tensors(tuple(embeddings), (0, 1, 2)), tensors(tuple(embeddings), (0, 1, 2))
    module = lkt.as_module("triplet", swap=swap)
    assert isinstance(module, lkt.TripletModule)
    out = module(*ours)
    expected = F.triplet_margin_loss(*ref, swap=swap)
    out.backward()
    expected.backward()
    assert_allclose_dtype(out.detach(), expected.detach(), np.float64)
    for a, b in zip(ours, ref, strict=True):
        assert_allclose_dtype(a.grad, b.grad, np.float64, k=16)


# ---- dtype, device, reduction ---------------------------------------------------------


@pytest.mark.parametrize(
    "dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64], ids=str
)
def test_dtype_is_kept(dtype: Any) -> None:
    x = torch.linspace(-2.0, 2.0, 9, dtype=dtype).requires_grad_()
    t = torch.zeros(9, dtype=dtype)
    out = lkt.as_module(losskit.LogCoshLoss())(x, t)
    out.backward()
    assert out.dtype == dtype
    assert x.grad.dtype == dtype
    expected = torch.tanh(x.detach().double()) / 9  # log-cosh' = tanh, "mean" divides by 9
    eps = float(torch.finfo(dtype).eps)
    torch.testing.assert_close(x.grad.double(), expected, rtol=4 * eps, atol=4 * eps / 9)


DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


@pytest.mark.parametrize("device", DEVICES)
def test_device_is_kept(device: str) -> None:
    x = torch.randn(4, 3, device=device, dtype=torch.float64, requires_grad=True)
    t = torch.randint(0, 3, (4,), device=device)
    out = lkt.as_module("sparse_categorical_cross_entropy", from_logits=True)(x, t)
    out.backward()
    assert out.device == x.device
    assert x.grad.device == x.device
    expected = torch.softmax(x.detach(), -1) - F.one_hot(t, 3).to(x.dtype)
    torch.testing.assert_close(x.grad, expected / 4)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_reduction_is_honoured(reduction: str) -> None:
    module = lkt.as_module("mse", reduction=reduction)
    assert module.reduction == reduction
    x = torch.arange(6.0, dtype=torch.float64).reshape(2, 3).requires_grad_()
    out = module(x, torch.zeros(2, 3, dtype=torch.float64))
    assert out.shape == ((2, 3) if reduction == "none" else ())
    assert_allclose_dtype(
        out.detach(), F.mse_loss(x, torch.zeros_like(x), reduction=reduction).detach(), np.float64
    )


def test_weights_align_with_the_leading_axis() -> None:
    """One weight per row of a 2-d element-wise input, for every reduction and incoming gradient."""
    x = torch.arange(6.0, dtype=torch.float64).reshape(2, 3).requires_grad_()
    w = torch.tensor([1.0, 3.0], dtype=torch.float64)
    out = lkt.as_module("mse", reduction="none")(x, torch.zeros(2, 3, dtype=torch.float64), w)
    (grad,) = torch.autograd.grad(out, x, torch.ones(2, 3, dtype=torch.float64))
    torch.testing.assert_close(grad, 2.0 * x.detach() * w[:, None])


# ---- memory and autograd behaviour --------------------------------------------------


def _saved(fn: Any) -> int:
    """How many tensors autograd keeps for the backward of ``fn()``."""
    count = 0

    def pack(t: Any) -> Any:
        nonlocal count
        count += 1
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return count


def test_only_the_inputs_are_saved() -> None:
    x = torch.randn(8, 5, dtype=torch.float64, requires_grad=True)
    t = torch.randint(0, 5, (8,))
    loss = losskit.CategoricalFocalLoss(from_logits=True)
    onehot = F.one_hot(t, 5).to(torch.float64)
    assert _saved(lambda: lkt.as_module(loss)(x, onehot)) == 2
    assert _saved(lambda: lkt.as_module(loss)(x, onehot, torch.rand(8, dtype=torch.float64))) == 3
    assert _saved(lambda: loss.compute(onehot, x)) > 5  # autograd through the formula
    # recompute=False keeps the gradient instead: one tensor of the input's size
    assert _saved(lambda: lkt.as_module(loss, recompute=False)(x, onehot)) == 1


def test_no_gradient_no_derivative() -> None:
    """Without grad (evaluation), recompute=False evaluates the value only and keeps nothing."""
    x = torch.randn(8, 5, dtype=torch.float64)
    t = torch.randint(0, 5, (8,))
    module = lkt.as_module("sparse_categorical_cross_entropy", from_logits=True, recompute=False)
    out = module(x, t)
    assert out.grad_fn is None
    torch.testing.assert_close(out, F.cross_entropy(x, t))


def test_double_backward_is_refused() -> None:
    x = torch.randn(4, dtype=torch.float64, requires_grad=True)
    out = lkt.as_module("log_cosh")(x, torch.zeros(4, dtype=torch.float64))
    (g,) = torch.autograd.grad(out, x, create_graph=True)
    assert not g.requires_grad
    with pytest.raises(RuntimeError):
        g.sum().backward()


def test_target_and_weights_are_not_differentiated() -> None:
    x = torch.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match="target requires grad"):
        lkt.as_module("mse")(x, torch.randn(3, requires_grad=True))
    with pytest.raises(ValueError, match="sample_weight requires grad"):
        lkt.as_module("mse")(x, torch.randn(3), torch.ones(3, requires_grad=True))


def test_construction() -> None:
    module = lkt.as_module("huber", delta=0.5)
    assert module.loss == losskit.HuberLoss(delta=0.5)
    assert "HuberLoss(delta=0.5)" in repr(module)
    assert not list(module.parameters())
    composite = lkt.as_module(0.5 * losskit.MeanSquaredError() + 0.5 * losskit.MeanAbsoluteError())
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    composite(x, torch.zeros(2)).backward()
    torch.testing.assert_close(
        x.grad, torch.tensor([0.5 * 2 * 1 / 2 + 0.25, 0.5 * 2 * -2 / 2 - 0.25])
    )
    with pytest.raises(TypeError, match="only accepted with a loss name"):
        lkt.as_module(losskit.HuberLoss(), delta=0.5)
    with pytest.raises(TypeError, match="LossFunction"):
        lkt.as_module(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown loss"):
        lkt.as_module("hubber_loss")


def test_drop_in_training_loop() -> None:
    """SGD with the module follows the same trajectory as with ``torch.nn.HuberLoss``."""
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(64, 3, generator=gen, dtype=torch.float64)
    y = X @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64) + torch.randn(
        64, generator=gen, dtype=torch.float64
    )
    y[:6] += 20.0  # outliers

    def train(criterion: Any) -> list[Any]:
        model = torch.nn.Linear(3, 1).double()
        torch.nn.init.zeros_(model.weight)
        torch.nn.init.zeros_(model.bias)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(30):
            opt.zero_grad()
            criterion(model(X)[:, 0], y).backward()
            opt.step()
        return [p.detach().clone() for p in model.parameters()]

    ours = train(lkt.as_module(losskit.HuberLoss()))
    ref = train(torch.nn.HuberLoss())
    for a, b in zip(ours, ref, strict=True):
        assert_allclose_dtype(a, b, np.float64, k=64)
    assert float(ours[0][0, 1]) < -1.0  # it learned


def test_every_registry_loss_is_covered() -> None:
    assert {v.name for v in VARIANTS} == set(losskit.names())
