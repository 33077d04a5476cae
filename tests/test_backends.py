"""Every loss on every array library (SPEC §3, issue #3).

Results must be arrays of the input's library, on its device, in its dtype,
and agree with NumPy float64 on the same (rounded) inputs to a few ulp of the
dtype; float16/bfloat16 are computed in float32. The SPEC §4 promises hold on
every library; PyTorch autograd and ``torch.compile``, ``jax.grad`` and
``jax.jit`` work and agree with ``derivative``; value validation runs on
eager host arrays only (see ``losskit.set_validation``) and never breaks a
trace or computes a lazy Dask graph.

Libraries: NumPy, array-api-strict (the standard's reference: every call
must be in the standard; API versions 2023.12 and 2024.12 too, a non-CPU
device and a device without float64), PyTorch CPU, JAX CPU and Dask, each
where installed. ``benchmarks/gpu_check.py`` runs the same agreement on CUDA.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import losskit
from _backends import (
    DTYPES,
    EPS,
    Backend,
    agreement,
    array_api_strict_backend,
    available,
    dask_backend,
    jax_backend,
    max_violation,
    numpy_backend,
    one_per_code_path,
    stability_cases,
    torch_backend,
)
from conftest import VARIANTS, Variant, variant_params

_FACTORIES: dict[str, Callable[[], Backend]] = {
    "numpy": numpy_backend,
    "array_api_strict": array_api_strict_backend,
    "torch": torch_backend,
    "jax": jax_backend,
    "dask": dask_backend,
}


@functools.cache
def backend(name: str) -> Backend:
    return _FACTORIES[name]()


def _needs(module: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not available(module), reason=f"{module} is not installed")


def _backend_dtypes(
    names: tuple[str, ...] = tuple(_FACTORIES), dtypes: tuple[str, ...] | None = None
) -> list[Any]:
    return [
        pytest.param(name, dtype, id=f"{name}-{dtype}", marks=_needs(name))
        for name in names
        for dtype in DTYPES[name]
        if dtypes is None or dtype in dtypes
    ]


#: What the slow paths run (``torch.compile``, ``jax.jit``, eager JAX, Dask): one
#: variant per code path, every registry name included.
TRACED = one_per_code_path(VARIANTS)


def _parts(result: Any) -> tuple[Any, ...]:
    return result if isinstance(result, tuple) else (result,)


def _wrt(loss: losskit.LossFunction) -> tuple[int, ...]:
    """The differentiated inputs: ``y_pred``, or all three triplet embeddings."""
    return tuple(range(3)) if loss._n_inputs == 3 else (loss._ref,)


def _assert_agrees(actual: Any, desired: Any) -> None:
    """Float64 results within ``8 eps`` (see ``max_violation``)."""
    for a, d in zip(_parts(actual), _parts(desired), strict=True):
        a_np = np.asarray(a.detach() if hasattr(a, "detach") else a, dtype=np.float64)
        v = max_violation(a_np, np.asarray(d, dtype=np.float64), EPS["float64"])
        assert v <= 8.0, f"differs by {v:.3g} eps"


# --------------------------------------------------------------------------
# values, derivatives and Hessians agree with NumPy float64
# --------------------------------------------------------------------------


def _agreement_params() -> list[Any]:
    """Every variant on NumPy, array-api-strict and PyTorch in each dtype; one variant
    per code path on JAX (each new shape and dtype compiles its operations once), in
    float32 and half precision (float64: ``test_jax_jit_and_grad``); Dask in its own
    test below."""
    params = []
    for v in VARIANTS:
        cases = _backend_dtypes(("numpy", "array_api_strict", "torch"))
        if v in TRACED:
            cases += _backend_dtypes(("jax",), ("float32", "float16", "bfloat16"))
        params += [pytest.param(v, *c.values, id=f"{v.id}-{c.id}", marks=c.marks) for c in cases]
    return params


@pytest.mark.parametrize(("variant", "name", "dtype"), _agreement_params())
def test_agrees_with_numpy_float64(variant: Variant, name: str, dtype: str) -> None:
    inputs = variant.inputs(np.random.default_rng(7))
    assert agreement(variant.loss, inputs, backend(name), dtype) == []


_WEIGHTED = [
    v
    for v in VARIANTS
    if v.id
    in (
        "mse",
        "binary_cross_entropy-from_logits=True-pos_weight=(0.5,1.0,4.0)-shape=4x3",
        "sparse_categorical_cross_entropy-from_logits=True-class_weight=(1.0,2.0,0.5)"
        "-ignore_index=0-label_smoothing=0.2",
        "dice-per_sample=True",
        "medical_imaging-shape=2x3x4",
        "triplet-swap=True",
    )
]


@pytest.mark.parametrize(
    ("name", "dtype"),
    _backend_dtypes(dtypes=("float32",)) + _backend_dtypes(("torch",), ("bfloat16",)),
)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("variant", variant_params(_WEIGHTED))
def test_reductions_and_sample_weights_agree(
    variant: Variant, reduction: str, name: str, dtype: str
) -> None:
    rng = np.random.default_rng(8)
    inputs = variant.inputs(rng)
    loss = variant.loss.replace(reduction=reduction)
    weight = rng.uniform(0.5, 2.0, size=loss._sample_shape(tuple(map(np.asarray, inputs))))
    assert agreement(loss, inputs, backend(name), dtype, sample_weight=weight) == []


def test_weighted_variants_exist() -> None:
    assert len(_WEIGHTED) == 6


@_needs("jax")
def test_inputs_of_other_libraries_follow_y_pred() -> None:
    import jax.numpy as jnp
    import torch

    mse = losskit.MeanSquaredError()
    out = mse.derivative([0.0, 1.0], torch.tensor([0.5, 0.5], dtype=torch.float32))
    assert isinstance(out, torch.Tensor)
    assert out.dtype == torch.float32
    sce = losskit.SparseCategoricalCrossEntropy(from_logits=True)
    labels, logits = np.array([0, 2]), jnp.zeros((2, 3), dtype=jnp.float32)
    out = sce.compute(labels, logits, sample_weight=np.array([1.0, 3.0]))
    assert out.dtype == jnp.float32
    assert float(out) == pytest.approx(math.log(3.0), rel=1e-6)


# --------------------------------------------------------------------------
# array-api-strict: older API versions, no data-dependent shapes, devices
# --------------------------------------------------------------------------

_STRICT_SETTINGS = [
    pytest.param({"api_version": "2023.12"}, "float64", id="2023.12"),
    pytest.param({"api_version": "2024.12"}, "float64", id="2024.12"),
    pytest.param(
        {"data_dependent_shapes": False, "boolean_indexing": False},
        "float64",
        id="no-data-dependent-shapes",
    ),
    pytest.param({"device": "device1"}, "float64", id="device1"),
    pytest.param({"device": "no_float64"}, "float32", id="no-float64-device"),
]


@_needs("array_api_strict")
@pytest.mark.parametrize(("settings", "dtype"), _STRICT_SETTINGS)
@pytest.mark.parametrize("variant", variant_params())
def test_array_api_strict_settings(variant: Variant, settings: dict[str, Any], dtype: str) -> None:
    strict = array_api_strict_backend(**settings)
    inputs = variant.inputs(np.random.default_rng(9))
    assert agreement(variant.loss, inputs, strict, dtype) == []


# --------------------------------------------------------------------------
# SPEC §4 stability promises on every library
# --------------------------------------------------------------------------

_STABILITY_IDS = [case.id for case in stability_cases("float64")]


@pytest.mark.parametrize(("name", "dtype"), _backend_dtypes(dtypes=("float32", "float64")))
@pytest.mark.parametrize("case", _STABILITY_IDS)
def test_stability_promises_hold(case: str, name: str, dtype: str) -> None:
    _, loss, inputs, expected = next(c for c in stability_cases(dtype) if c.id == case)
    b = backend(name)
    # Dask evaluates in compute(), after losskit's NumPy errstate is gone: log(0)
    # before the -100 clamp would warn there (documented for Dask users).
    with np.errstate(all="ignore"):
        assert agreement(loss, inputs, b, dtype) == []
    with b.context():
        arrays = [b.make(np.asarray(x), dtype) for x in inputs]
        value, grad = loss.value_and_derivative(*arrays)
        with np.errstate(all="ignore"):
            value, grad = (b.to_numpy(x.compute() if b.lazy else x) for x in (value, grad))
    assert np.all(np.isfinite(grad))  # (the Hessian may be +inf: focal, gamma < 1, p_t = 1)
    if expected is not None:
        want_value, want_grad = expected
        rtol = 8 * EPS[dtype]
        np.testing.assert_allclose(value, want_value, rtol=rtol, atol=rtol)
        if want_grad is not None:
            np.testing.assert_allclose(grad, want_grad, rtol=rtol, atol=rtol)
    else:
        assert np.all(np.isfinite(value))


@pytest.mark.parametrize(
    ("name", "dtype"), _backend_dtypes(("numpy", "torch", "jax"), ("float16", "bfloat16"))
)
def test_half_precision_accumulates_in_float32(name: str, dtype: str) -> None:
    # 10_000 squared residuals of 200: each is 40_000 < 65_504 (float16's max) but
    # their sum is 4e8, which only a float32 accumulator holds.
    b = backend(name)
    with b.context():
        y, x = b.make(np.zeros(10_000), dtype), b.make(np.full(10_000, 200.0), dtype)
        value = losskit.MeanSquaredError().compute(y, x)
        grad = losskit.MeanSquaredError().derivative(y, x)
        assert value.dtype == b.dtype_of(dtype)
        assert grad.dtype == b.dtype_of(dtype)
        rounded = b.to_numpy(b.make(np.array([40_000.0, 0.04]), dtype))  # bfloat16: 39_936
        assert b.to_numpy(value) == rounded[0]
        np.testing.assert_array_equal(b.to_numpy(grad), rounded[1])


# --------------------------------------------------------------------------
# PyTorch: autograd, torch.compile, torch.func
# --------------------------------------------------------------------------


def _torch_inputs(variant: Variant, requires_grad: bool = True) -> list[Any]:
    import torch

    tensors = [torch.from_numpy(np.asarray(x)) for x in variant.inputs(np.random.default_rng(3))]
    if requires_grad:
        for i in _wrt(variant.loss):
            tensors[i].requires_grad_(True)
    return tensors


def _autograd_hessian_diagonal(grad: Any, x: Any) -> Any:
    """``d grad_j / d x_j`` for every element j, one backward pass each (small inputs)."""
    import torch

    if grad.grad_fn is None:  # piecewise-linear loss: the gradient is locally constant
        return torch.zeros_like(x)
    flat = grad.reshape(-1)
    rows = [
        torch.autograd.grad(flat[j], x, retain_graph=True)[0].reshape(-1)[j]
        for j in range(flat.numel())
    ]
    return torch.stack(rows).reshape(x.shape).detach()


@_needs("torch")
@pytest.mark.parametrize("variant", variant_params())
def test_torch_autograd_equals_derivative_and_hessian(variant: Variant) -> None:
    import torch

    loss = variant.loss
    tensors = _torch_inputs(variant)
    wrt = [tensors[i] for i in _wrt(loss)]
    value = loss.compute(*tensors)
    assert value.requires_grad
    grads = torch.autograd.grad(value, wrt, create_graph=True)
    plain = [t.detach() for t in tensors]
    _assert_agrees(grads, loss.derivative(*plain))
    try:
        hessian = loss.hessian(*plain)
    except NotImplementedError:
        return
    diagonals = [_autograd_hessian_diagonal(g, x) for g, x in zip(grads, wrt, strict=True)]
    _assert_agrees(tuple(diagonals), hessian)


def _compiled(fn: Callable[..., Any], backend: str = "eager") -> Callable[..., Any]:
    import torch

    torch._dynamo.reset()  # one fresh graph per loss: no recompilation limit across tests
    return torch.compile(fn, fullgraph=True, backend=backend)


def _value_and_derivatives(loss: losskit.LossFunction) -> Callable[..., tuple[Any, ...]]:
    """``(compute, derivative, hessian)`` in one function (one graph to trace)."""

    def everything(*arrays: Any) -> tuple[Any, ...]:
        grad, hess = loss.derivative_and_hessian(*arrays)
        return loss.compute(*arrays), grad, hess

    return everything


@_needs("torch")
@pytest.mark.parametrize("variant", variant_params(TRACED))
def test_torch_compile_fullgraph(variant: Variant) -> None:
    tensors = _torch_inputs(variant, requires_grad=False)
    everything = _value_and_derivatives(variant.loss)
    compiled = _compiled(everything)  # fullgraph=True: a graph break raises
    for got, want in zip(compiled(*tensors), everything(*tensors), strict=True):
        _assert_agrees(got, want)


@_needs("torch")
@pytest.mark.parametrize(
    "variant_id", ["binary_cross_entropy-from_logits=True", "dice-per_sample=True"]
)
def test_torch_compile_backward_through_aot_autograd(variant_id: str) -> None:
    import torch

    variant = next(v for v in VARIANTS if v.id == variant_id)
    tensors = _torch_inputs(variant)
    value = _compiled(variant.loss.compute, backend="aot_eager")(*tensors)
    (grad,) = torch.autograd.grad(value, [tensors[1]])
    _assert_agrees(grad, variant.loss.derivative(*[t.detach() for t in tensors]))


@_needs("torch")
def test_torch_export() -> None:
    """``torch.export`` allows no graph break and no data-dependent read at all."""
    import torch

    sce = losskit.SparseCategoricalCrossEntropy(from_logits=True, ignore_index=-100)

    class Loss(torch.nn.Module):
        def forward(self, labels: Any, logits: Any) -> Any:
            return sce.value_and_derivative(labels, logits)

    example = (torch.tensor([0, 2, -100]), torch.randn(3, 4, dtype=torch.float64))
    exported = torch.export.export(Loss(), example).module()
    labels, logits = torch.tensor([1, -100, 3]), torch.randn(3, 4, dtype=torch.float64)
    for got, want in zip(
        exported(labels, logits), sce.value_and_derivative(labels, logits), strict=True
    ):
        _assert_agrees(got, want)


@_needs("torch")
def test_torch_func_vmap_and_grad() -> None:
    import torch

    bce = losskit.BinaryCrossEntropy()
    y = torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]], dtype=torch.float64)
    p = torch.tensor([[0.2, 0.7, 0.9], [0.6, 0.1, 0.3]], dtype=torch.float64)
    per_row = torch.func.vmap(bce.compute)(y, p)  # validation must not read batched values
    _assert_agrees(per_row, bce.replace(reduction="none").compute(y, p).mean(dim=1))
    _assert_agrees(torch.func.grad(bce.compute, argnums=1)(y, p), bce.derivative(y, p))


# --------------------------------------------------------------------------
# JAX: jit and grad
# --------------------------------------------------------------------------


@_needs("jax")
@pytest.mark.parametrize("variant", variant_params(TRACED))
def test_jax_jit_and_grad(variant: Variant) -> None:
    import jax
    import jax.numpy as jnp

    loss = variant.loss
    wrt = _wrt(loss)
    with jax.enable_x64(True):
        arrays = [jnp.asarray(x) for x in variant.inputs(np.random.default_rng(4))]

        def everything(*a: Any) -> tuple[Any, ...]:
            autodiff = jax.grad(loss.compute, argnums=wrt)(*a)
            return (*_value_and_derivatives(loss)(*a), autodiff)

        value, grad, hess, autodiff = jax.jit(everything)(*arrays)
        numpy_inputs = [np.asarray(a) for a in arrays]
        _assert_agrees(value, loss.compute(*numpy_inputs))
        _assert_agrees(grad, loss.derivative(*numpy_inputs))
        _assert_agrees(hess, loss.hessian(*numpy_inputs))
        _assert_agrees(autodiff, loss.derivative(*numpy_inputs))


@_needs("jax")
def test_jax_vmap() -> None:
    import jax
    import jax.numpy as jnp

    bce = losskit.BinaryCrossEntropy(from_logits=True)
    with jax.enable_x64(True):
        y = jnp.asarray([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])
        x = jnp.asarray([[-2.0, 0.5, 3.0], [1.0, -1.0, 0.0]])
        per_row = jax.vmap(bce.compute)(y, x)
        _assert_agrees(
            per_row, np.asarray(bce.replace(reduction="none").compute(y, x)).mean(axis=1)
        )


# --------------------------------------------------------------------------
# Dask: lazy and chunked, also along the class axis
# --------------------------------------------------------------------------


@_needs("dask")
@pytest.mark.parametrize("variant", variant_params(TRACED))
def test_dask_lazy_with_one_element_chunks(variant: Variant) -> None:
    """Every loss, derivative and Hessian builds a graph without computing it, and
    the graph is right with chunks of one element along every axis."""
    inputs = variant.inputs(np.random.default_rng(5))
    assert agreement(variant.loss, inputs, dask_backend(chunks=1), "float64") == []


@_needs("dask")
def test_dask_clips_chunk_by_chunk() -> None:
    """array-api-compat's Dask ``clip`` broadcasts a scalar bound to one full-size
    chunk (4.5x the memory); losskit's namespace clips block by block."""
    x = dask_backend(chunks=4).make(np.linspace(-3.0, 3.0, 16), "float32")
    grad = losskit.BinaryCrossEntropy(from_logits=True).derivative(np.zeros(16), x)
    value = losskit.HuberLoss().compute(np.zeros(16), x)
    for out in (grad, value):
        assert not [name for name in out.dask.layers if name.startswith("broadcast_to")]
    assert grad.chunks == x.chunks


# --------------------------------------------------------------------------
# validation: eager host arrays are checked; device, lazy and traced ones are not
# --------------------------------------------------------------------------

_BAD_PROBABILITIES = (np.array([0.0, 1.0]), np.array([0.5, 1.5]))
_BAD_LABELS = (np.array([0, 5]), np.array([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4]]))


def _bad_inputs(b: Backend, which: tuple[np.ndarray, ...]) -> list[Any]:
    with b.context():
        return [b.make(x, "float64") for x in which]


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=_needs(n)) for n in ("numpy", "array_api_strict", "torch", "jax")],
)
def test_eager_host_arrays_are_validated(name: str) -> None:
    b = backend(name)
    with b.context():
        with pytest.raises(ValueError, match=r"y_pred must lie in \[0, 1\]"):
            losskit.BinaryCrossEntropy().compute(*_bad_inputs(b, _BAD_PROBABILITIES))
        with pytest.raises(ValueError, match=r"class labels must lie in \[0, 3\); found 5"):
            losskit.SparseCategoricalCrossEntropy().compute(*_bad_inputs(b, _BAD_LABELS))
        with losskit.validation("never"):
            losskit.BinaryCrossEntropy().compute(*_bad_inputs(b, _BAD_PROBABILITIES))


@_needs("array_api_strict")
def test_device_arrays_are_validated_only_when_always() -> None:
    b = array_api_strict_backend(device="device1")  # stands for an accelerator
    bce = losskit.BinaryCrossEntropy()
    value = bce.compute(*_bad_inputs(b, _BAD_PROBABILITIES))  # "auto": no device-to-host read
    assert value.device == b.device(_bad_inputs(b, _BAD_PROBABILITIES)[1])
    with losskit.validation("always"), pytest.raises(ValueError, match=r"found values in \[0.5"):
        bce.compute(*_bad_inputs(b, _BAD_PROBABILITIES))
    with losskit.validation("always"), pytest.raises(ValueError, match="found 5"):
        losskit.SparseCategoricalCrossEntropy().compute(*_bad_inputs(b, _BAD_LABELS))


@_needs("dask")
def test_dask_is_validated_only_when_always() -> None:
    b = dask_backend()
    bce = losskit.BinaryCrossEntropy()
    with _refusing_scheduler():
        bce.compute(*_bad_inputs(b, _BAD_PROBABILITIES))  # "auto": nothing is computed
    with losskit.validation("always"):
        with pytest.raises(ValueError, match=r"found values in \[0.5"):
            bce.compute(*_bad_inputs(b, _BAD_PROBABILITIES))
        with pytest.raises(ValueError, match="found 5"):
            losskit.SparseCategoricalCrossEntropy().compute(*_bad_inputs(b, _BAD_LABELS))
        with pytest.raises(ValueError, match="found 2"):
            losskit.HingeLoss().compute(*_bad_inputs(b, (np.array([0.0, 2.0]), np.zeros(2))))


def _refusing_scheduler() -> Any:
    import dask

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("computed a Dask graph")

    return dask.config.set(scheduler=refuse)


@_needs("torch")
def test_traced_and_meta_tensors_are_never_read() -> None:
    import torch

    bce = losskit.BinaryCrossEntropy()
    y, p = (torch.from_numpy(x) for x in _BAD_PROBABILITIES)
    with losskit.validation("always"):
        value = _compiled(bce.compute)(y, p)  # no read, no graph break
        assert torch.isnan(value)  # log1p(-1.5): the bad input shows, as NaN
        torch.func.vmap(bce.compute)(y[None], p[None])
        meta = bce.compute(y.to("meta"), p.to("meta"))
        assert meta.device.type == "meta"


@_needs("jax")
def test_jax_tracers_are_never_read() -> None:
    import jax
    import jax.numpy as jnp

    bce = losskit.BinaryCrossEntropy()
    with jax.enable_x64(True), losskit.validation("always"):
        y, p = (jnp.asarray(x) for x in _BAD_PROBABILITIES)
        assert jnp.isnan(jax.jit(bce.compute)(y, p))
        jax.grad(bce.compute, argnums=1)(y, p)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=_needs(n))
        for n in ("numpy", "array_api_strict", "torch", "jax", "dask")
    ],
)
def test_labels_out_of_range_without_validation_stay_in_bounds(name: str) -> None:
    """losskit never gathers by label (it compares labels with ``arange(C)``), so with
    validation off an out-of-range label reads no memory out of bounds: its sample
    has an all-zero target row and contributes 0 (or only its smoothing term)."""
    b = backend(name)
    labels, logits = np.array([0, 5, -3]), np.array([[1.0, 2.0, 3.0]] * 3)
    sce = losskit.SparseCategoricalCrossEntropy(from_logits=True, reduction="none")
    with losskit.validation("never"), b.context():
        value, grad = sce.value_and_derivative(b.make(labels, "float64"), b.make(logits, "float64"))
        hinge = losskit.MulticlassHingeLoss().compute(
            b.make(labels, "float64"), b.make(logits, "float64")
        )
        value, grad, hinge = (
            b.to_numpy(x.compute() if b.lazy else x) for x in (value, grad, hinge)
        )
    assert value[1] == value[2] == 0.0
    assert value[0] > 0.0
    assert np.all(grad[1:] == 0.0)
    assert np.isfinite(hinge)


# --------------------------------------------------------------------------
# the GPU check runs (and, without a GPU, says so)
# --------------------------------------------------------------------------


def test_gpu_check_runs_without_pytest() -> None:
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    summary = run.stdout.strip().splitlines()[-1]
    assert summary.startswith("gpu_check: "), run.stdout + run.stderr
    assert run.returncode == (1 if "FAILED" in summary else 0), summary


@_needs("array_api_strict")
def test_gpu_check_counts_on_a_non_host_device() -> None:
    """gpu_check's machinery, on array-api-strict's ``device1`` (a non-host device
    like a GPU: "auto" must not validate there), since this machine has no GPU."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"
    spec = importlib.util.spec_from_file_location("gpu_check", path)
    assert spec is not None
    assert spec.loader is not None
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    passed, total, failures = gpu_check.check(array_api_strict_backend(device="device1"))
    assert failures == []
    assert passed == total == 2 * (len(VARIANTS) + len(stability_cases("float64"))) + 1
