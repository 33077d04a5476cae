"""Issue #6: losskit's fused value + derivative against its peers on the CPU.

For every element-wise loss the fast path covers and for softmax cross-entropy,
in float32 and float64, this times (median ms) in one process:

* losskit ``value_and_derivative`` (all threads, and one thread), and
  ``derivative_and_hessian``;
* the seed tutorial's NumPy classes (written out below with their mistakes);
* PyTorch CPU forward + backward with 1 and 2 threads (``torch.set_num_threads``),
  and forward + double backward for the Hessian diagonal;
* scikit-learn's private ``sklearn._loss`` where it has the loss
  (``loss_gradient`` / ``gradient_hessian`` with ``n_threads`` 1 and 2, into
  preallocated outputs, plus the mean of the per-sample losses);
* JAX ``jit(value_and_grad)`` when JAX is installed (the column is skipped
  otherwise);
* a bandwidth floor: reading the inputs and writing one output
  (``np.add(y, x, out=g)``; ``np.copyto(g, x)`` for softmax rows), on one
  thread and split over two, the faster of the two.

Every peer's value and derivative is checked against losskit's after
converting its conventions (scikit-learn's half factors, per-sample
gradients without the 1/n of "mean"); a peer that disagrees is marked.
losskit's peak extra memory is measured with ``tracemalloc`` and compared
with the size of its outputs.

Run from the repository root::

    python benchmarks/bench_losses.py            # full run, writes benchmarks/RESULTS.md
    python benchmarks/bench_losses.py --quick    # smoke run on small inputs, writes nothing

See ``benchmarks/README.md`` for the options.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from _common import RESULTS, cpu, write_section

import losskit
from losskit import _fastpath

SECTION = "## Fast path (value + derivative, CPU)"
#: Losses whose work is a few arithmetic operations per element: these should run
#: at memory speed (the issue asks for 1.5x the bandwidth floor at most).
POLYNOMIAL = {"mse", "mae", "huber", "smooth_l1", "quantile", "hinge"}

Fn = Callable[[], Any]


# --------------------------------------------------------------------------
# the seed tutorial's NumPy code, as written there (mistakes included)
# --------------------------------------------------------------------------


class SeedMeanSquaredError:
    def compute(self, y_true, y_pred):  # type: ignore[no-untyped-def]
        return np.mean((y_true - y_pred) ** 2)

    def derivative(self, y_true, y_pred):  # type: ignore[no-untyped-def]
        return 2 * (y_pred - y_true) / y_true.size


class SeedMeanAbsoluteError:
    def compute(self, y_true, y_pred):  # type: ignore[no-untyped-def]
        return np.mean(np.abs(y_true - y_pred))

    def derivative(self, y_true, y_pred):  # type: ignore[no-untyped-def]
        return np.sign(y_pred - y_true) / y_true.size


class SeedHuberLoss:
    def __init__(self, delta=1.0):  # type: ignore[no-untyped-def]
        self.delta = delta

    def compute(self, y_true, y_pred):  # type: ignore[no-untyped-def]
        error = y_true - y_pred
        abs_error = np.abs(error)
        quadratic = np.minimum(abs_error, self.delta)
        linear = abs_error - quadratic
        return np.mean(0.5 * quadratic**2 + self.delta * linear)

    def derivative(self, y_true, y_pred):  # type: ignore[no-untyped-def]
        error = y_true - y_pred
        abs_error = np.abs(error)
        derivative = np.where(abs_error <= self.delta, error, self.delta * np.sign(error))
        return derivative / y_true.size


class SeedBinaryCrossEntropy:
    def compute(self, y_true, y_pred):  # type: ignore[no-untyped-def]
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        return -np.mean(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred))

    def derivative(self, y_true, y_pred):  # type: ignore[no-untyped-def]
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        return (y_pred - y_true) / (y_pred * (1 - y_pred)) / y_true.size


class SeedCategoricalCrossEntropy:
    def compute(self, y_true, y_pred):  # type: ignore[no-untyped-def]
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        return -np.mean(np.sum(y_true * np.log(y_pred), axis=1))


def seed_stable_softmax(x):  # type: ignore[no-untyped-def]
    x_shifted = x - np.max(x, axis=-1, keepdims=True)
    exp_x = np.exp(x_shifted)
    return exp_x / np.sum(exp_x, axis=-1, keepdims=True)


class SeedFocalLoss:
    def __init__(self, alpha=1.0, gamma=2.0):  # type: ignore[no-untyped-def]
        self.alpha = alpha
        self.gamma = gamma

    def compute(self, y_true, y_pred):  # type: ignore[no-untyped-def]
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        p_t = np.where(y_true == 1, y_pred, 1 - y_pred)
        focal_weight = (1 - p_t) ** self.gamma
        loss = -self.alpha * focal_weight * np.log(p_t)
        return np.mean(loss)

    def derivative(self, y_true, y_pred):  # type: ignore[no-untyped-def]
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        p_t = np.where(y_true == 1, y_pred, 1 - y_pred)
        focal_weight = (1 - p_t) ** self.gamma
        derivative = (
            -self.alpha
            * focal_weight
            * (self.gamma * p_t * np.log(p_t) + p_t - 1)
            / (p_t * (1 - p_t))
        )
        return derivative / y_true.size


class SeedWeightedCrossEntropy:
    def __init__(self, class_weights):  # type: ignore[no-untyped-def]
        self.class_weights = class_weights

    def compute(self, y_true, y_pred):  # type: ignore[no-untyped-def]
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        weights = np.where(y_true == 1, self.class_weights[1], self.class_weights[0])
        loss = -weights * (y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred))
        return np.mean(loss)

    def derivative(self, y_true, y_pred):  # type: ignore[no-untyped-def]
        y_pred = np.clip(y_pred, 1e-15, 1 - 1e-15)
        weights = np.where(y_true == 1, self.class_weights[1], self.class_weights[0])
        derivative = weights * (y_pred - y_true) / (y_pred * (1 - y_pred))
        return derivative / y_true.size


def seed_pair(seed: Any) -> Callable[[Any, Any], tuple[Any, Any]]:
    return lambda y, x: (seed.compute(y, x), seed.derivative(y, x))


def seed_softmax_xent(onehot: Any, x: Any) -> tuple[Any, Any]:
    """The seed's ``stable_softmax`` and ``CategoricalCrossEntropy``; gradient ``(p - y)/n``."""
    p = seed_stable_softmax(x)
    return SeedCategoricalCrossEntropy().compute(onehot, p), (p - onehot) / x.shape[0]


# --------------------------------------------------------------------------
# the cases
# --------------------------------------------------------------------------


@dataclass
class Case:
    """One loss: losskit's object, an input generator and the peers that have it."""

    name: str
    loss: losskit.LossFunction
    inputs: Callable[[np.random.Generator, tuple[int, ...], Any], tuple[Any, Any]]
    seed: Callable[[Any, Any], tuple[Any, Any]] | None = None
    torch: Callable[..., Any] | None = None
    sklearn: tuple[Any, Callable[[Any, Any, int], tuple[float, Any]]] | None = None
    jax: Callable[..., Any] | None = None
    rows: bool = False
    seed_inputs: Callable[[Any, Any], tuple[Any, Any]] = field(default=lambda y, x: (y, x))


def _regression(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> tuple:
    y = rng.normal(size=shape).astype(dtype)
    return y, (y + rng.normal(size=shape) * 1.5).astype(dtype)


def _binary_logits(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> tuple:
    return rng.integers(0, 2, size=shape).astype(dtype), (rng.normal(size=shape) * 3).astype(dtype)


def _binary_probs(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> tuple:
    y = rng.integers(0, 2, size=shape).astype(dtype)
    return y, rng.uniform(0.01, 0.99, size=shape).astype(dtype)


def _signed(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> tuple:
    y = rng.choice(np.array([-1.0, 1.0], dtype), size=shape)
    return y, rng.normal(size=shape).astype(dtype)


def _counts(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> tuple:
    return rng.poisson(3.0, size=shape).astype(dtype), rng.normal(size=shape).astype(dtype)


def _distances(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> tuple:
    y = rng.integers(0, 2, size=shape).astype(dtype)
    return y, rng.uniform(0.0, 2.0, size=shape).astype(dtype)


def _labels(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> tuple:
    return rng.integers(0, shape[-1], size=shape[:-1]), rng.normal(size=shape).astype(dtype)


def _onehot(labels: Any, x: Any) -> tuple[Any, Any]:
    return np.eye(x.shape[-1], dtype=x.dtype)[labels], x


Q = 0.9  # quantile level
W = (1.0, 5.0)  # weighted cross-entropy class weights (the seed's example)


def _torch_cases() -> dict[str, Callable[..., Any]]:
    """PyTorch versions of each loss (mean reduction), as a user would write them."""
    import torch
    import torch.nn.functional as F

    def focal(p: Any, y: Any, ce: Any) -> Any:  # torchvision.ops.sigmoid_focal_loss, alpha off
        p_t = p * y + (1 - p) * (1 - y)
        return (ce * (1 - p_t) ** 2).mean()

    return {
        "mse": lambda y, x: F.mse_loss(x, y),
        "mae": lambda y, x: F.l1_loss(x, y),
        "huber": lambda y, x: F.huber_loss(x, y, delta=1.0),
        "smooth_l1": lambda y, x: F.smooth_l1_loss(x, y, beta=1.0),
        "log_cosh": lambda y, x: ((x - y) + F.softplus(-2.0 * (x - y)) - math.log(2.0)).mean(),
        "quantile": lambda y, x: torch.maximum(Q * (y - x), (Q - 1) * (y - x)).mean(),
        "poisson": lambda y, x: F.poisson_nll_loss(x, y, log_input=True),
        "bce_logits": lambda y, x: F.binary_cross_entropy_with_logits(x, y),
        "bce": lambda y, x: F.binary_cross_entropy(x, y),
        "focal_logits": lambda y, x: focal(
            torch.sigmoid(x), y, F.binary_cross_entropy_with_logits(x, y, reduction="none")
        ),
        "focal": lambda y, x: focal(x, y, F.binary_cross_entropy(x, y, reduction="none")),
        "weighted_ce": lambda y, x: F.binary_cross_entropy(x, y, weight=W[1] * y + W[0] * (1 - y)),
        "hinge": lambda y, x: torch.clamp(1.0 - y * x, min=0.0).mean(),
        "squared_hinge": lambda y, x: (torch.clamp(1.0 - y * x, min=0.0) ** 2).mean(),
        "contrastive": lambda y, x: (
            0.5 * (y * x**2 + (1 - y) * torch.clamp(1.0 - x, min=0.0) ** 2)
        ).mean(),
        "softmax_ce": lambda y, x: F.cross_entropy(x, y),
    }


def _jax_cases() -> dict[str, Callable[..., Any]] | None:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    nn = jax.nn

    def bce_logits(y: Any, x: Any) -> Any:
        return jnp.mean(nn.softplus(x) - y * x)

    def clog(p: Any) -> Any:
        return jnp.maximum(jnp.log(p), -100.0)

    def bce(y: Any, p: Any, w: Any = 1.0) -> Any:
        return -jnp.mean(w * (y * clog(p) + (1 - y) * jnp.maximum(jnp.log1p(-p), -100.0)))

    def focal(p: Any, y: Any, ce: Any) -> Any:
        p_t = p * y + (1 - p) * (1 - y)
        return jnp.mean(ce * (1 - p_t) ** 2)

    return {
        "mse": lambda y, x: jnp.mean((x - y) ** 2),
        "mae": lambda y, x: jnp.mean(jnp.abs(x - y)),
        "huber": lambda y, x: jnp.mean(
            jnp.where(jnp.abs(x - y) < 1, 0.5 * (x - y) ** 2, jnp.abs(x - y) - 0.5)
        ),
        "smooth_l1": lambda y, x: jnp.mean(
            jnp.where(jnp.abs(x - y) < 1, 0.5 * (x - y) ** 2, jnp.abs(x - y) - 0.5)
        ),
        "log_cosh": lambda y, x: jnp.mean((x - y) + nn.softplus(-2.0 * (x - y)) - math.log(2.0)),
        "quantile": lambda y, x: jnp.mean(jnp.maximum(Q * (y - x), (Q - 1) * (y - x))),
        "poisson": lambda y, x: jnp.mean(jnp.exp(x) - y * x),
        "bce_logits": bce_logits,
        "bce": bce,
        "focal_logits": lambda y, x: focal(nn.sigmoid(x), y, nn.softplus(x) - y * x),
        "focal": lambda y, x: focal(
            x, y, -(y * clog(x) + (1 - y) * jnp.maximum(jnp.log1p(-x), -100.0))
        ),
        "weighted_ce": lambda y, x: bce(y, x, W[1] * y + W[0] * (1 - y)),
        "hinge": lambda y, x: jnp.mean(jnp.maximum(1.0 - y * x, 0.0)),
        "squared_hinge": lambda y, x: jnp.mean(jnp.maximum(1.0 - y * x, 0.0) ** 2),
        "contrastive": lambda y, x: jnp.mean(
            0.5 * (y * x**2 + (1 - y) * jnp.maximum(1.0 - x, 0.0) ** 2)
        ),
        "softmax_ce": lambda y, x: (
            -jnp.mean(jnp.take_along_axis(nn.log_softmax(x, axis=-1), y[:, None], axis=-1))
        ),
    }


def _sklearn(name: str) -> Any:
    """scikit-learn's loss object and the factors that turn its (loss, gradient) into ours."""
    try:
        from sklearn._loss import loss as L
    except ImportError:
        return None
    table = {
        "mse": (L.HalfSquaredError(), 2.0),  # ½ r²: twice the value and gradient
        "mae": (L.AbsoluteError(), 1.0),
        "huber": (L.HuberLoss(delta=1.0), 1.0),
        "quantile": (L.PinballLoss(quantile=Q), 1.0),
        "poisson": (L.HalfPoissonLoss(), 1.0),
        "bce_logits": (L.HalfBinomialLoss(), 1.0),
    }
    return table.get(name)


def cases() -> list[Case]:
    g = losskit.get
    return [
        Case("mse", g("mse"), _regression, seed_pair(SeedMeanSquaredError())),
        Case("mae", g("mae"), _regression, seed_pair(SeedMeanAbsoluteError())),
        Case("huber", g("huber"), _regression, seed_pair(SeedHuberLoss())),
        Case("smooth_l1", g("smooth_l1"), _regression),
        Case("log_cosh", g("log_cosh"), _regression),
        Case("quantile", g("quantile", quantile=Q), _regression),
        Case("poisson", g("poisson"), _counts),
        Case("bce_logits", g("binary_cross_entropy", from_logits=True), _binary_logits),
        Case("bce", g("binary_cross_entropy"), _binary_probs, seed_pair(SeedBinaryCrossEntropy())),
        Case("focal_logits", g("focal", from_logits=True), _binary_logits),
        Case("focal", g("focal"), _binary_probs, seed_pair(SeedFocalLoss())),
        Case(
            "weighted_ce",
            g("weighted_cross_entropy", class_weights=W),
            _binary_probs,
            seed_pair(SeedWeightedCrossEntropy(W)),
        ),
        Case("hinge", g("hinge"), _signed),
        Case("squared_hinge", g("squared_hinge"), _signed),
        Case("contrastive", g("contrastive"), _distances),
        Case(
            "softmax_ce",
            g("sparse_categorical_cross_entropy", from_logits=True),
            _labels,
            seed_softmax_xent,
            rows=True,
            seed_inputs=_onehot,
        ),
    ]


# --------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------


def median_ms(fn: Fn, repeat: int, budget_s: float) -> float:
    """Median wall time of ``fn`` in ms after one warm-up call; fewer runs past ``budget_s``."""
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeat and (len(times) < 3 or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def floor_ms(y: Any, x: Any, rows: bool, repeat: int, budget: float, allocate: bool) -> float:
    """Reading the inputs and writing one output, on one thread or split over two.

    With ``allocate`` the output is a new array each time, as losskit's are: its
    pages are faulted in (and zeroed by the kernel) while it is written.
    """
    fixed = np.empty_like(x)
    half = x.shape[0] // 2
    pool = ThreadPoolExecutor(max_workers=1)

    def part(out: Any, a: slice) -> None:
        if rows:
            np.copyto(out[a], x[a])
        else:
            np.add(y[a], x[a], out=out[a])

    def one() -> None:
        part(np.empty_like(x) if allocate else fixed, slice(None))

    def two() -> None:
        out = np.empty_like(x) if allocate else fixed
        f = pool.submit(part, out, slice(0, half))
        part(out, slice(half, None))
        f.result()

    try:
        return min(median_ms(one, repeat, budget), median_ms(two, repeat, budget))
    finally:
        pool.shutdown()


def peak_ratio(fn: Fn) -> float:
    """Peak memory allocated during ``fn`` (tracemalloc), over the size of its outputs."""
    fn()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = sum(np.asarray(r).nbytes for r in result)
    return peak / size


def agrees(value: Any, grad: Any, ref_value: Any, ref_grad: Any, dtype: Any) -> bool:
    """Whether a peer's (value, gradient) equals losskit's (norm-wise, 1e3 ulp of the dtype)."""
    tol = 1e3 * float(np.finfo(dtype).eps)
    v, rv = float(value), float(ref_value)
    g, rg = np.asarray(grad, np.float64), np.asarray(ref_grad, np.float64)
    scale = float(np.max(np.abs(rg))) or 1.0
    return abs(v - rv) <= tol * max(abs(rv), 1e-30) and float(np.max(np.abs(g - rg))) <= tol * scale


@dataclass
class Row:
    case: str
    size: str
    dtype: str
    ms: dict[str, float | None]
    disagree: list[str]
    memory: float
    memory_reference: float | None


def run_case(case: Case, shape: tuple[int, ...], dtype: Any, args: argparse.Namespace) -> Row:
    rng = np.random.default_rng(0)
    y, x = case.inputs(rng, shape, dtype)
    loss = case.loss
    rep, budget = args.repeat, args.budget
    ms: dict[str, float | None] = {}
    disagree: list[str] = []
    ref_value, ref_grad = loss.value_and_derivative(y, x)
    n = x.shape[0] if case.rows else x.size

    _fastpath.set_num_threads(None)
    ms["losskit"] = median_ms(lambda: loss.value_and_derivative(y, x), rep, budget)
    ms["losskit+H"] = median_ms(lambda: loss.derivative_and_hessian(y, x), rep, budget)
    _fastpath.set_num_threads(1)
    ms["losskit 1t"] = median_ms(lambda: loss.value_and_derivative(y, x), rep, budget)
    _fastpath.set_num_threads(None)
    memory = peak_ratio(lambda: loss.value_and_derivative(y, x))
    memory_reference = None
    if args.reference:
        with _fastpath.forced(False):
            ms["reference"] = median_ms(lambda: loss.value_and_derivative(y, x), 3, budget)
            memory_reference = peak_ratio(lambda: loss.value_and_derivative(y, x))

    if case.seed is not None:
        sy, sx = case.seed_inputs(y, x)
        ms["seed"] = median_ms(lambda: case.seed(sy, sx), rep, budget)
        if not agrees(*case.seed(sy, sx), ref_value, ref_grad, dtype):
            disagree.append("seed")

    torch_fns = _torch_cases() if args.torch else {}
    if case.name in torch_fns:
        import torch

        f = torch_fns[case.name]
        ty, tx = torch.from_numpy(y), torch.from_numpy(x)

        def torch_vd() -> tuple[Any, Any]:
            xt = tx.detach().requires_grad_()
            value = f(ty, xt)
            value.backward()
            return value.detach(), xt.grad

        def torch_dh() -> tuple[Any, Any]:
            xt = tx.detach().requires_grad_()
            (g,) = torch.autograd.grad(f(ty, xt), xt, create_graph=True)
            if not g.requires_grad:  # piecewise-linear loss: the Hessian is 0
                return g, torch.zeros_like(xt)
            (h,) = torch.autograd.grad(g.sum(), xt)
            return g, h

        for threads in (1, 2):
            torch.set_num_threads(threads)
            ms[f"torch {threads}t"] = median_ms(torch_vd, rep, budget)
            if not case.rows:
                ms[f"torch+H {threads}t"] = median_ms(torch_dh, rep, budget)
        value, grad = torch_vd()
        if not agrees(value.numpy(), grad.numpy(), ref_value, ref_grad, dtype):
            disagree.append("torch")

    sk = _sklearn(case.name) if args.sklearn else None
    if case.rows and args.sklearn:
        from sklearn._loss import loss as L

        sk = (L.HalfMultinomialLoss(n_classes=x.shape[-1]), 1.0)
    if sk is not None:
        obj, factor = sk
        sy = y.astype(x.dtype)
        lo = np.empty(x.shape[0], x.dtype)
        go, ho = np.empty_like(x), np.empty_like(x)

        def sk_vd(threads: int) -> tuple[Any, Any]:
            obj.loss_gradient(sy, x, loss_out=lo, gradient_out=go, n_threads=threads)
            return np.mean(lo), go

        def sk_dh(threads: int) -> Any:
            return obj.gradient_hessian(sy, x, gradient_out=go, hessian_out=ho, n_threads=threads)

        for threads in (1, 2):
            ms[f"sklearn {threads}t"] = median_ms(lambda t=threads: sk_vd(t), rep, budget)
            ms[f"sklearn+H {threads}t"] = median_ms(lambda t=threads: sk_dh(t), rep, budget)
        value, grad = sk_vd(1)
        if not agrees(factor * value, factor * grad / n, ref_value, ref_grad, dtype):
            disagree.append("sklearn")

    jax_fns = _jax_cases() if args.jax else None
    if jax_fns is not None and case.name in jax_fns:
        import jax

        jy, jx = jax.device_put(y), jax.device_put(x)
        vg = jax.jit(jax.value_and_grad(jax_fns[case.name], argnums=1))

        def jax_vd() -> Any:
            value, grad = vg(jy, jx)
            grad.block_until_ready()
            return value, grad

        ms["jax"] = median_ms(jax_vd, rep, budget)
        value, grad = jax_vd()
        if not agrees(np.asarray(value), np.asarray(grad), ref_value, ref_grad, dtype):
            disagree.append("jax")

    ms["floor"] = floor_ms(y, x, case.rows, rep, budget, allocate=False)
    ms["floor+alloc"] = floor_ms(y, x, case.rows, rep, budget, allocate=True)
    size = "x".join(f"{s:.0e}".replace("e+0", "e") for s in shape)
    return Row(case.name, size, np.dtype(dtype).name, ms, disagree, memory, memory_reference)


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------

PEERS = ["seed", "torch 1t", "torch 2t", "sklearn 1t", "sklearn 2t", "jax"]
PEERS_H = ["torch+H 1t", "torch+H 2t", "sklearn+H 1t", "sklearn+H 2t"]


def fastest(ms: dict[str, float | None], names: list[str]) -> tuple[str, float] | None:
    timed = [(k, v) for k in names if (v := ms.get(k)) is not None]
    return min(timed, key=lambda kv: kv[1]) if timed else None


def fmt(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def table(rows: list[Row]) -> list[str]:
    head = ["loss", "size", "dtype", "losskit", "1 thread", "deriv+Hess"]
    head += [*PEERS, "floor", "floor+alloc", "vs fastest peer", "vs floor", "vs floor+alloc"]
    head += ["memory / outputs"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        best = fastest(r.ms, PEERS)
        lk = r.ms["losskit"]
        assert lk is not None
        cells = [r.case, r.size, r.dtype, fmt(lk), fmt(r.ms["losskit 1t"]), fmt(r.ms["losskit+H"])]
        for p in PEERS:
            mark = " ≠" if p.split()[0] in r.disagree else ""
            cells.append(fmt(r.ms.get(p)) + mark)
        floor, floor_alloc = r.ms["floor"], r.ms["floor+alloc"]
        assert floor is not None
        assert floor_alloc is not None
        cells += [fmt(floor), fmt(floor_alloc)]
        cells.append(f"{lk / best[1]:.2f} ({best[0]})" if best else "—")
        cells += [f"{lk / floor:.2f}", f"{lk / floor_alloc:.2f}", f"{r.memory:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


#: Why a row can miss, by loss: the reasons found when these rows missed.
PEER_REASONS = {
    "poisson": "the input check before the fast path (counts >= 0) costs about a third of the "
    "call (1e7 float64: 22 ms with it, 15 ms with validation 'never', measured apart)",
    "contrastive": "the input checks before the fast path (labels in [0, 1], distances >= 0) "
    "cost a third of the call",
    "softmax_ce": "with few classes the per-row work (maximum, sums, the logarithm, the "
    "label's term) is scalar, as in scikit-learn's Cython loop",
}
MEMORY_BOUND = (
    "memory-bound like its peer; losskit also allocates its outputs, which the peer writes "
    "into preallocated arrays here"
)


def peer_reason(r: Row) -> str:
    lk, one = r.ms["losskit"], r.ms["losskit 1t"]
    assert lk is not None
    if one is not None and one < 0.8 * lk:
        return "two threads were slower than one: another process held a core (noise)"
    return PEER_REASONS.get(r.case, MEMORY_BOUND if r.case in POLYNOMIAL else "")


def misses(rows: list[Row]) -> list[str]:
    out = []
    for r in rows:
        lk = r.ms["losskit"]
        assert lk is not None
        best = fastest(r.ms, PEERS)
        where = f"{r.case} {r.size} {r.dtype}"
        why = peer_reason(r)
        why = f" — {why}" if why else ""
        if best and lk > best[1]:
            out.append(f"{where}: {lk:.1f} ms, slower than {best[0]} ({best[1]:.1f} ms){why}")
        elif best and lk > best[1] / 1.5:
            gain = best[1] / lk
            out.append(f"{where}: faster than {best[0]} by less than 1.5x ({gain:.2f}x){why}")
        floor, floor_alloc = r.ms["floor"], r.ms["floor+alloc"]
        assert floor is not None
        assert floor_alloc is not None
        if r.case in POLYNOMIAL and lk > 1.5 * floor:
            extra = (
                "; the labels are also read a second time (from cache) to tell {0, 1} from "
                "{-1, 1} labels"
                if r.case == "hinge"
                else ""
            )
            out.append(
                f"{where}: {lk / floor:.2f}x the bandwidth floor (target 1.5x), "
                f"{lk / floor_alloc:.2f}x the floor into a new array — losskit returns new "
                f"arrays, whose fresh pages are zeroed as they are first written{extra}"
            )
        if r.memory > 1.05:
            out.append(f"{where}: peak memory {r.memory:.2f}x the outputs")
    return out


def versions() -> str:
    parts = [f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    for mod in ("numba", "torch", "sklearn", "jax"):
        try:
            parts.append(f"{mod} {__import__(mod).__version__}")
        except ImportError:
            parts.append(f"{mod} not installed")
    return ", ".join(parts)


def report(rows: list[Row], args: argparse.Namespace, load: tuple[float, float], when: str) -> str:
    lines = [
        SECTION,
        "",
        f"Measured {when} by `python benchmarks/bench_losses.py"
        + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
        + "`: median ms of one call that returns the mean loss and its derivative "
        "(`value_and_derivative`), over fresh inputs that already exist; element-wise "
        f"losses on {args.n:.0e} elements, softmax cross-entropy (integer labels, from logits) "
        "on the row shapes shown.",
        "",
        f"- Machine: {cpu()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
        f"{versions()}.",
        f"- Load average (1 min) before/after: {load[0]:.2f} / {load[1]:.2f}. The machine is "
        "shared, so the times are noisy: compare within a row, not across runs.",
        "- Columns: `losskit` all threads (here 2), `1 thread`, `deriv+Hess` "
        "(`derivative_and_hessian`); the seed's NumPy classes; PyTorch forward + backward with "
        "1 and 2 threads; scikit-learn `_loss` `loss_gradient` with 1 and 2 threads into "
        "preallocated outputs (favours it: no allocation, no 1/n scaling of the gradient); "
        "JAX `jit(value_and_grad)` (— where not installed); `floor`: reading the inputs and "
        "writing one output array (`np.add(y, x, out=g)`, a copy for softmax rows), best of "
        "1 and 2 threads, preallocated; `floor+alloc`: the same into a new array, as "
        "losskit returns new arrays (the kernel zeroes fresh pages). `vs fastest peer` "
        "< 1 means losskit is faster; "
        "`memory / outputs`: losskit's peak traced allocation over the bytes it returns. "
        "`≠`: that peer's value or gradient differs from losskit's (the seed's Huber and focal "
        "derivatives are wrong, docs/seed-errata.md).",
        "",
        *table(rows),
        "",
    ]
    h_rows = [
        f"| {r.case} | {r.size} | {r.dtype} | {fmt(r.ms['losskit+H'])} | "
        + " | ".join(fmt(r.ms.get(p)) for p in PEERS_H)
        + " |"
        for r in rows
    ]
    lines += [
        "Derivative and Hessian diagonal (`derivative_and_hessian`; PyTorch: double backward, "
        "element-wise losses only; scikit-learn: `gradient_hessian`):",
        "",
        "| loss | size | dtype | losskit | " + " | ".join(PEERS_H) + " |",
        "|" + "---|" * (4 + len(PEERS_H)),
        *h_rows,
        "",
    ]
    if args.reference:
        lines += [
            "Reference (array-API) path with the fast path off, ms and memory / outputs: "
            + "; ".join(
                f"{r.case} {r.dtype} {fmt(r.ms.get('reference'))} ms, {r.memory_reference:.1f}x"
                for r in rows
                if r.memory_reference is not None
            )
            + ".",
            "",
        ]
    missed = misses(rows)
    lines += ["Rows that miss a goal of issue #6:", ""]
    lines += [f"- {m}" for m in missed] if missed else ["- none"]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, 3 runs, no write")
    parser.add_argument("--n", type=float, default=1e7, help="elements of element-wise inputs")
    parser.add_argument(
        "--rows",
        default="1e6x10,1e5x1000",
        help="softmax shapes ROWSxCLASSES, comma-separated",
    )
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--losses", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per cell (median)")
    parser.add_argument(
        "--budget", type=float, default=6.0, help="seconds per cell (at least 3 runs)"
    )
    parser.add_argument("--no-torch", dest="torch", action="store_false")
    parser.add_argument("--no-sklearn", dest="sklearn", action="store_false")
    parser.add_argument("--no-jax", dest="jax", action="store_false")
    parser.add_argument("--reference", action="store_true", help="also time the array-API path")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results file to update")
    parser.add_argument("--no-write", dest="write", action="store_false")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.rows, args.repeat, args.write = 1e5, "1e4x10,1e3x100", 3, False
    args.n = int(args.n)
    shapes = [tuple(int(float(v)) for v in s.split("x")) for s in args.rows.split(",") if s]
    wanted = {s for s in args.losses.split(",") if s}

    # A process's first large-array calls are slower (here the first twenty 1e7-element
    # float32 MSE calls took about 12 ms, later ones about 6 ms): one untimed pass over the
    # first row warms up every library, so that whichever row runs first is not penalised.
    first = next((c for c in cases() if not wanted or c.name in wanted), None)
    if first is not None:
        dtype0 = np.dtype(args.dtypes.split(",")[0]).type
        run_case(first, shapes[0] if first.rows else (args.n,), dtype0, args)
    load_before = os.getloadavg()[0]
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows: list[Row] = []
    for dtype_name in args.dtypes.split(","):
        dtype = np.dtype(dtype_name).type
        for case in cases():
            if wanted and case.name not in wanted:
                continue
            for shape in shapes if case.rows else [(args.n,)]:
                row = run_case(case, shape, dtype, args)
                rows.append(row)
                best = fastest(row.ms, PEERS)
                peer = f"{fmt(best[1]):>6} ({best[0]})" if best else "—"
                print(
                    f"{row.case:14} {row.size:10} {row.dtype:8} "
                    f"losskit {fmt(row.ms['losskit']):>6} ms  fastest peer {peer}  "
                    f"floor {fmt(row.ms['floor']):>6}  memory {row.memory:.2f}"
                    + (f"  differs: {', '.join(row.disagree)}" if row.disagree else ""),
                    flush=True,
                )
    text = report(rows, args, (load_before, os.getloadavg()[0]), when)
    print()
    print(text)
    if args.write:
        write_section(SECTION, text, args.output)
        print(f"wrote the section {SECTION!r} of {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
