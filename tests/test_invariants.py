"""Invariants every registered loss obeys, for every option variant (SPEC §2, §3, §6).

The model is scikit-learn's ``sklearn/_loss/tests/test_loss.py``: one suite over the
registry that checks the derivative and the Hessian diagonal against finite
differences, sample-weight linearity, the reductions, the fused entry points, the
optimum, dtypes and shapes, and the value semantics of the loss objects.
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import numpy as np
import pytest

import losskit
from conftest import VARIANTS, Variant, assert_allclose_dtype, per_sample_shape, variant_params
from losskit import LossFunction

REDUCTIONS = ("mean", "sum", "none")
METHODS = ("compute", "derivative", "hessian")


def as_tuple(x: Any) -> tuple[np.ndarray, ...]:
    """A derivative as a tuple of arrays (triplet returns one per input already)."""
    return tuple(np.asarray(a) for a in x) if isinstance(x, tuple) else (np.asarray(x),)


def expand(w: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Per-sample weights with trailing unit axes, to multiply an array of ``shape``."""
    w = np.asarray(w)
    return w.reshape(w.shape + (1,) * (len(shape) - w.ndim))


def draw_weights(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> Any:
    """None, positive weights, or weights of random sign whose sum stays away from 0."""
    if kind == "none":
        return None
    if kind == "positive":
        return rng.uniform(0.5, 2.0, size=shape)
    while True:
        w = rng.uniform(-1.0, 2.0, size=shape)
        if abs(w.sum()) >= 0.25 * max(1, w.size) and (w < 0).any() == (w.size > 2):
            return w


def mean_shares(loss: LossFunction, inputs: tuple) -> np.ndarray:
    """Each sample's share of the denominator of "mean" (SPEC §2).

    1 per sample, except sparse cross-entropy, which divides like PyTorch by the
    class weight of each label and leaves out labels equal to ``ignore_index``.
    """
    shares = np.ones(per_sample_shape(loss, inputs))
    if isinstance(loss, losskit.SparseCategoricalCrossEntropy):
        labels = np.asarray(inputs[0])
        valid = labels != (loss.ignore_index if loss.ignore_index is not None else -(10**9))
        if loss.class_weight is not None:
            shares = np.asarray(loss.class_weight)[np.where(valid, labels, 0)]
        shares = shares * valid
    return shares


# --------------------------------------------------------------------------
# derivatives against finite differences
# --------------------------------------------------------------------------


@pytest.mark.parametrize("weights", ["none", "positive", "random-sign"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("variant", variant_params())
def test_gradient_and_hessian_match_finite_differences(
    variant: Variant, reduction: str, weights: str, rng: np.random.Generator
) -> None:
    loss = variant.loss.replace(reduction=reduction)
    inputs = variant.inputs(rng)
    w = draw_weights(rng, per_sample_shape(loss, inputs), weights)
    check = losskit.check_gradients(loss, *inputs, sample_weight=w)
    assert check.hess_error is not None, "every built-in loss has a Hessian diagonal"
    assert check.ok, check
    assert check.n_checked == sum(np.asarray(inputs[k]).size for k in _differentiated(loss))


def _differentiated(loss: LossFunction) -> tuple[int, ...]:
    return tuple(range(loss._n_inputs)) if loss._n_inputs == 3 else (loss._ref,)


# --------------------------------------------------------------------------
# sample weights and reductions
# --------------------------------------------------------------------------


@pytest.mark.parametrize("variant", variant_params())
def test_sample_weight_linearity(variant: Variant, rng: np.random.Generator) -> None:
    """With weights w, "none" and "sum" give w × the unweighted loss, gradient and Hessian."""
    inputs = variant.inputs(rng)
    none = variant.loss.replace(reduction="none")
    w = draw_weights(rng, per_sample_shape(none, inputs), "random-sign")
    plain = {m: getattr(none, m)(*inputs) for m in METHODS}
    weighted = {m: getattr(none, m)(*inputs, sample_weight=w) for m in METHODS}
    assert_allclose_dtype(weighted["compute"], w * plain["compute"], np.float64)
    for m in ("derivative", "hessian"):
        for got, base in zip(as_tuple(weighted[m]), as_tuple(plain[m]), strict=True):
            assert_allclose_dtype(got, expand(w, base.shape) * base, np.float64)
    total = variant.loss.replace(reduction="sum")
    assert_allclose_dtype(
        total.compute(*inputs, sample_weight=w), np.sum(w * plain["compute"]), np.float64
    )
    for m in ("derivative", "hessian"):
        for got, base in zip(
            as_tuple(getattr(total, m)(*inputs, sample_weight=w)),
            as_tuple(weighted[m]),
            strict=True,
        ):
            assert_allclose_dtype(got, base, np.float64)


@pytest.mark.parametrize("weights", ["none", "positive"])
@pytest.mark.parametrize("variant", variant_params())
def test_reductions_are_consistent(
    variant: Variant, weights: str, rng: np.random.Generator
) -> None:
    """sum = Σ none; mean = sum / Σ(w · share) for value, gradient and Hessian; "none" shape."""
    inputs = variant.inputs(rng)
    shape = per_sample_shape(variant.loss, inputs)
    w = draw_weights(rng, shape, weights)
    results = {
        r: [
            getattr(variant.loss.replace(reduction=r), m)(*inputs, sample_weight=w) for m in METHODS
        ]
        for r in REDUCTIONS
    }
    none, total, mean = results["none"], results["sum"], results["mean"]
    assert np.shape(none[0]) == shape
    assert np.shape(total[0]) == np.shape(mean[0]) == ()
    assert_allclose_dtype(total[0], np.sum(none[0]), np.float64)
    denominator = np.sum((1.0 if w is None else w) * mean_shares(variant.loss, inputs))
    assert_allclose_dtype(mean[0], total[0] / denominator, np.float64)
    for k in (1, 2):
        for n, s, m in zip(as_tuple(none[k]), as_tuple(total[k]), as_tuple(mean[k]), strict=True):
            assert_allclose_dtype(n, s, np.float64)
            assert_allclose_dtype(m, s / denominator, np.float64)


def test_weights_align_with_leading_axes(rng: np.random.Generator) -> None:
    """One weight per row of an element-wise loss on 2-d input is each row's weight (SPEC §2)."""
    y, p = rng.uniform(size=(4, 3)), rng.uniform(0.05, 0.95, size=(4, 3))
    loss = losskit.BinaryCrossEntropy(reduction="none")
    w = rng.uniform(0.5, 2.0, size=4)
    np.testing.assert_array_equal(loss(y, p, sample_weight=w), loss(y, p) * w[:, None])
    np.testing.assert_array_equal(loss(y, p, sample_weight=w[:, None]), loss(y, p) * w[:, None])
    np.testing.assert_array_equal(loss(y, p, sample_weight=2.0), 2.0 * loss(y, p))


# --------------------------------------------------------------------------
# fused entry points
# --------------------------------------------------------------------------


def _same(a: Any, b: Any) -> None:
    for x, y in zip(as_tuple(a), as_tuple(b), strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("variant", variant_params())
def test_fused_entry_points_agree_exactly(
    variant: Variant, reduction: str, rng: np.random.Generator
) -> None:
    loss = variant.loss.replace(reduction=reduction)
    inputs = variant.inputs(rng)
    w = draw_weights(rng, per_sample_shape(loss, inputs), "positive")
    value, grad, hess = (getattr(loss, m)(*inputs, sample_weight=w) for m in METHODS)
    fused_value, fused_grad = loss.value_and_derivative(*inputs, sample_weight=w)
    fused_grad2, fused_hess = loss.derivative_and_hessian(*inputs, sample_weight=w)
    _same(fused_value, value)
    _same(fused_grad, grad)
    _same(fused_grad2, grad)
    _same(fused_hess, hess)
    _same(loss(*inputs, sample_weight=w), value)


# --------------------------------------------------------------------------
# the optimum
# --------------------------------------------------------------------------


def _onehot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    return (labels[..., None] == np.arange(n_classes)).astype(float)


def optimum(variant: Variant, rng: np.random.Generator) -> tuple[tuple, bool, bool]:
    """Inputs at a minimiser of the loss, and whether value and gradient vanish there.

    The gradient does not vanish where the minimum lies on the boundary of the
    probability domain and the derivative is taken with respect to probabilities
    used as given (CCE and KL on probabilities; Dice/Jaccard/Tversky at p = y): those
    losses reach 0 with a non-zero gradient that points out of [0, 1]. Categorical focal
    with γ > 0 has a zero gradient there too: its factor (1 - p)^γ vanishes.
    With label smoothing the minimum is the entropy of the smoothed targets, not 0.
    """
    loss, shape = variant.loss, variant.shape
    name = variant.name
    logits = getattr(loss, "from_logits", False)
    smoothing = getattr(loss, "label_smoothing", 0.0)
    if name in ("mse", "mae", "huber", "smooth_l1", "log_cosh", "quantile"):
        y = rng.normal(size=shape)
        return (y, y.copy()), True, True
    if name == "poisson":  # minimum at x = log y (rate = y), value not 0
        y = rng.poisson(3.0, size=shape) + 1.0
        return (y, np.log(y) if loss.log_input else y - loss.eps), False, True
    if name in ("binary_cross_entropy", "focal", "weighted_cross_entropy", "medical_imaging"):
        y = (rng.uniform(size=shape) < 0.5).astype(float)
        if smoothing:
            t = y * (1 - smoothing) + smoothing / 2
            return (y, np.log(t / (1 - t)) if logits else t), False, True
        return (y, np.where(y == 1, np.inf, -np.inf) if logits else y.copy()), True, True
    if name in (
        "categorical_cross_entropy",
        "sparse_categorical_cross_entropy",
        "categorical_focal",
    ):
        labels = rng.integers(0, shape[-1], size=shape[:-1])
        onehot = _onehot(labels, shape[-1])
        y_true = labels if name.startswith("sparse") else onehot
        if smoothing:  # minimum of -Σ a_c log p_c at p = a / Σ a, a = smoothed target × weight
            a = (onehot * (1 - smoothing) + smoothing / shape[-1]) * np.asarray(
                loss.class_weight or 1.0
            )
            x = np.log(a) if logits else a / a.sum(-1, keepdims=True)
            return (y_true, x), False, logits
        x = np.where(onehot == 1, 0.0, -np.inf) if logits else onehot
        focal = name == "categorical_focal" and loss.gamma > 0  # (1 - p)^γ kills the slope
        return (y_true, x), True, logits or focal
    if name == "kl_divergence":
        y = rng.dirichlet([1.0] * shape[-1], size=shape[:-1])
        return (y, np.log(y) if logits else y.copy()), True, logits
    if name in ("hinge", "squared_hinge"):
        y = rng.choice([-1.0, 1.0], size=shape)
        return (y, (loss.margin + 1.0) * y), True, True
    if name == "multiclass_hinge":
        labels = rng.integers(0, shape[-1], size=shape[:-1])
        return (labels, (loss.margin + 1.0) * _onehot(labels, shape[-1])), True, True
    if name in ("dice", "jaccard", "tversky"):
        y = (rng.uniform(size=shape) < 0.5).astype(float)
        return (y, y.copy()), True, False
    if name == "contrastive":
        y = (rng.uniform(size=shape) < 0.5).astype(float)
        return (y, np.where(y == 1, 0.0, loss.margin + 1.0)), True, True
    if name == "triplet":
        a = rng.normal(size=shape)
        return (a, a.copy(), a + 10.0), True, True
    raise AssertionError(f"no optimum known for {name}")


#: Every variant but categorical focal with label smoothing, whose minimiser has no closed form.
WITH_OPTIMUM = [
    v for v in VARIANTS if not (v.name == "categorical_focal" and v.loss.label_smoothing)
]


@pytest.mark.parametrize("variant", variant_params(WITH_OPTIMUM))
def test_optimum(variant: Variant, rng: np.random.Generator) -> None:
    """Zero loss (or the known minimum) and zero gradient at a minimiser (see ``optimum``)."""
    inputs, zero_value, zero_grad = optimum(variant, rng)
    loss = variant.loss.replace(reduction="none")
    value, grad = loss.value_and_derivative(*inputs)
    assert np.all(np.isfinite(value))
    if zero_value:
        assert_allclose_dtype(value, np.zeros_like(value), np.float64, scale=1.0)
    if zero_grad:
        for g in as_tuple(grad):
            assert_allclose_dtype(g, np.zeros_like(g), np.float64, scale=1.0)
    else:
        assert any(np.any(g != 0) for g in as_tuple(grad))
    if variant.name == "poisson":  # the minimum of λ - y log λ (without Stirling's term)
        y, x = inputs
        rate = np.exp(x) if variant.loss.log_input else x
        plain = variant.loss.replace(full=False, reduction="none")
        assert_allclose_dtype(plain(y, x), rate - y * np.log(y), np.float64)


# --------------------------------------------------------------------------
# dtypes and shapes
# --------------------------------------------------------------------------


def _cast(x: Any, dtype: Any) -> Any:
    x = np.asarray(x)
    return x.astype(dtype) if x.dtype.kind == "f" else x


@pytest.mark.parametrize("variant", variant_params())
def test_float32_in_float32_out(variant: Variant, rng: np.random.Generator) -> None:
    """float32 inputs give float32 results within a few float32 eps of the float64 ones."""
    inputs32 = tuple(_cast(x, np.float32) for x in variant.inputs(rng))
    inputs64 = tuple(_cast(x, np.float64) for x in inputs32)  # same values: only arithmetic differs
    for method in METHODS:
        got = as_tuple(getattr(variant.loss, method)(*inputs32))
        want = as_tuple(getattr(variant.loss, method)(*inputs64))
        for g, w in zip(got, want, strict=True):
            assert g.dtype == np.float32, method
            assert_allclose_dtype(g, w, np.float32, k=16.0)


#: Element-wise losses whose parameters fit any shape (a sequence pos_weight needs its last axis).
ELEMENTWISE = [
    v
    for v in VARIANTS
    if isinstance(v.loss, losskit.ElementwiseLoss)
    and not isinstance(getattr(v.loss, "pos_weight", None), tuple)
]
ROWWISE = [v for v in VARIANTS if isinstance(v.loss, losskit.RowwiseLoss | losskit.TripletLoss)]


@pytest.mark.parametrize("variant", variant_params(ELEMENTWISE))
def test_elementwise_losses_take_every_shape(variant: Variant, rng: np.random.Generator) -> None:
    """Shapes (), (n,), (n, k), (n, k, m): the same numbers as the flat input, shapes kept."""
    for shape in [(), (5,), (2, 3), (2, 3, 2)]:
        inputs = variant.inputs(rng, shape) if shape else variant.inputs(rng, (1,))
        if not shape:
            inputs = tuple(np.asarray(x).reshape(()) for x in inputs)
        flat = tuple(np.asarray(x).reshape(-1) for x in inputs)
        for reduction in REDUCTIONS:
            loss = variant.loss.replace(reduction=reduction)
            value, grad, hess = (getattr(loss, m)(*inputs) for m in METHODS)
            assert np.shape(grad) == np.shape(hess) == shape
            assert np.shape(value) == (shape if reduction == "none" else ())
            flat_value, flat_grad, flat_hess = (getattr(loss, m)(*flat) for m in METHODS)
            assert_allclose_dtype(np.reshape(value, -1), np.reshape(flat_value, -1), np.float64)
            assert_allclose_dtype(np.reshape(grad, -1), flat_grad, np.float64)
            assert_allclose_dtype(np.reshape(hess, -1), flat_hess, np.float64)


@pytest.mark.parametrize("variant", variant_params(ROWWISE))
def test_rowwise_losses_take_every_batch_shape(variant: Variant, rng: np.random.Generator) -> None:
    """(C,) is one sample; (n, C) and (n, k, C) give the numbers of their (rows, C) flattening."""
    n_classes = variant.shape[-1]
    for shape in [(n_classes,), (4, n_classes), (2, 3, n_classes)]:
        inputs = variant.inputs(rng, shape)
        flat = tuple(
            np.asarray(x).reshape((-1, n_classes) if np.ndim(x) == len(shape) else (-1,))
            for x in inputs
        )
        for reduction in REDUCTIONS:
            loss = variant.loss.replace(reduction=reduction)
            value, grad, hess = (getattr(loss, m)(*inputs) for m in METHODS)
            assert np.shape(value) == (shape[:-1] if reduction == "none" else ())
            flat_value, flat_grad, flat_hess = (getattr(loss, m)(*flat) for m in METHODS)
            assert_allclose_dtype(np.reshape(value, -1), np.reshape(flat_value, -1), np.float64)
            for g, fg, h, fh in zip(
                as_tuple(grad),
                as_tuple(flat_grad),
                as_tuple(hess),
                as_tuple(flat_hess),
                strict=True,
            ):
                assert g.shape == h.shape == shape
                assert_allclose_dtype(g.reshape(fg.shape), fg, np.float64)
                assert_allclose_dtype(h.reshape(fh.shape), fh, np.float64)


@pytest.mark.parametrize(
    ("loss", "shape", "flat_shape"),
    [
        (losskit.DiceLoss(), (2, 3, 4), (24,)),
        (losskit.JaccardLoss(per_sample=True), (2, 3, 4), (2, 12)),
        (losskit.TverskyLoss(alpha=0.3, beta=0.7, per_class=True), (2, 3, 4), (6, 4)),
        (losskit.DiceLoss(per_sample=True, per_class=True), (2, 3, 2, 4), (2, 6, 4)),
    ],
    ids=repr,
)
def test_overlap_losses_reduce_over_the_right_axes(
    loss: LossFunction,
    shape: tuple[int, ...],
    flat_shape: tuple[int, ...],
    rng: np.random.Generator,
) -> None:
    """Global, per-sample and per-class scores sum over every axis they do not keep."""
    y, p = loss._sample(rng, shape)
    for reduction in REDUCTIONS:
        r = loss.replace(reduction=reduction)
        flat = (y.reshape(flat_shape), p.reshape(flat_shape))
        assert_allclose_dtype(r(y, p), r(*flat), np.float64)
        assert_allclose_dtype(
            r.derivative(y, p).reshape(flat_shape), r.derivative(*flat), np.float64
        )
        assert_allclose_dtype(r.hessian(y, p).reshape(flat_shape), r.hessian(*flat), np.float64)


# --------------------------------------------------------------------------
# the loss objects
# --------------------------------------------------------------------------


@pytest.mark.parametrize("variant", variant_params())
def test_loss_objects_are_immutable_values(variant: Variant) -> None:
    """Frozen attributes, ``params`` that rebuild it, ``replace``, equality, hashing, pickle."""
    loss = variant.loss
    name = next(iter(loss.params))
    with pytest.raises(AttributeError, match="immutable"):
        setattr(loss, name, loss.params[name])
    with pytest.raises(AttributeError, match="immutable"):
        delattr(loss, name)
    rebuilt = type(loss)(**loss.params)
    assert rebuilt == loss
    assert hash(rebuilt) == hash(loss)
    assert losskit.get(variant.name, **loss.params) == loss
    changed = loss.replace(reduction="sum" if loss.reduction != "sum" else "none")
    assert changed != loss
    assert changed.params == {**loss.params, "reduction": changed.reduction}
    assert loss.replace() == loss
    assert len({loss, rebuilt, changed}) == 2
    for clone in (pickle.loads(pickle.dumps(loss)), copy.deepcopy(loss)):
        assert clone == loss
        assert type(clone) is type(loss)
    assert eval(repr(loss), vars(losskit)) == loss  # repr is constructor syntax


def test_losses_of_other_classes_are_not_equal() -> None:
    assert losskit.HuberLoss() != losskit.SmoothL1Loss()
    assert losskit.DiceLoss() != losskit.TverskyLoss()
    assert losskit.MeanSquaredError() != "mse"
