"""Fused one-pass kernels for NumPy arrays and PyTorch CPU tensors (issue #6).

``run`` returns ``(value, derivative, hessian)`` exactly as the array-API path
would, or None when it does not cover the loss, its options or the inputs;
the caller then falls back to the reference path.

The array-API path makes one pass over memory per operation, each with a
full-size temporary. The kernels of ``_kernels`` (Numba) read the inputs once
and write only the outputs, on every core: a block of 2048 elements is
computed, weighted, scaled by the reduction and summed while it sits in the
cache. Numba is imported on the first call that needs it, never by
``import losskit``, and the compiled kernels are cached on disk next to
``_kernels.py`` (or in Numba's user cache directory when that is read-only),
so only the very first call of a kernel in a given configuration compiles it.

Covered: the element-wise losses (MSE, MAE, Huber, smooth L1, log-cosh,
quantile, Poisson, hinge, squared hinge, contrastive, binary cross-entropy,
binary focal and weighted cross-entropy from logits and from probabilities)
and categorical and sparse categorical cross-entropy (softmax of logits, or
probabilities), with every option except a per-class ``pos_weight``, every
reduction and every sample-weight shape, in float32 and float64 (float16
inputs arrive promoted to float32). Anything else falls back silently, as do
inputs with fewer than ``MIN_SIZE`` elements, and everything when Numba is not
installed. PyTorch CPU tensors take the fast path through NumPy views of their
memory (:func:`run_on_tensors`) unless autograd, a tracer or a functorch
transform must see the computation (``_compat.host_view``).

Private switches, for tests and benchmarks: the environment variable
``LOSSKIT_FASTPATH=0`` and the context manager :func:`forced` turn the fast
path off (or on, also for small inputs); ``LOSSKIT_NUM_THREADS`` and
:func:`set_num_threads` set the number of threads (default: the CPUs this
process may run on).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from ._compat import host_view

__all__ = ["MIN_SIZE", "forced", "kernels", "num_threads", "run", "set_num_threads"]

#: Inputs smaller than this take the reference path (fast enough there), so
#: that small computations never import Numba or compile a kernel.
MIN_SIZE = 1 << 12
#: Work below this many elements runs on the calling thread only (waking a
#: thread costs about as much as 2^17 elements of a polynomial loss, or 2^14 of
#: one with transcendental functions, measured on a 2-core Xeon).
_PARALLEL_MIN = 1 << 18
_PARALLEL_MIN_COSTLY = 1 << 15
#: Work is handed to the threads in up to this many chunks per thread, each of
#: at least this many blocks of ``_kernels.BLOCK`` elements.
_CHUNKS_PER_THREAD = 8
_CHUNK_BLOCKS = 32
#: Kernels with a few arithmetic operations per element (no exp or log).
_CHEAP = {"mse", "mae", "huber", "smooth_l1", "quantile", "hinge", "squared_hinge", "contrastive"}

_FORCED: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "losskit_fastpath", default=None
)


@contextlib.contextmanager
def forced(on: bool) -> Iterator[None]:
    """Inside the block the fast path is on for any input size (True) or off (False)."""
    token = _FORCED.set(bool(on))
    try:
        yield
    finally:
        _FORCED.reset(token)


def _active(size: int) -> bool:
    """Whether the fast path takes ``size`` elements (never none: nothing to compute)."""
    on = _FORCED.get()
    if on is None:
        on = os.environ.get("LOSSKIT_FASTPATH", "1") != "0" and size >= MIN_SIZE
    return size > 0 and on


@functools.cache
def kernels() -> ModuleType | None:
    """The compiled kernels module, or None when Numba cannot be imported."""
    try:
        from . import _kernels
    except (ImportError, OSError):  # no Numba, or one that does not fit this NumPy
        return None
    return _kernels


# --------------------------------------------------------------------------
# threads
# --------------------------------------------------------------------------

_threads: int | None = None
_pool: tuple[ThreadPoolExecutor, int] | None = None  # the pool and its size


def num_threads() -> int:
    """Threads the kernels use: :func:`set_num_threads`, ``LOSSKIT_NUM_THREADS`` or the CPUs."""
    if _threads is not None:
        return _threads
    env = os.environ.get("LOSSKIT_NUM_THREADS")
    if env:
        return max(1, int(env))
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def set_num_threads(n: int | None) -> None:
    """Use ``n`` threads (None: back to the default)."""
    global _threads
    _threads = None if n is None else max(1, int(n))


def _executor(workers: int) -> ThreadPoolExecutor:
    """A pool of at least ``workers`` threads, kept for the next calls."""
    global _pool
    if _pool is None or _pool[1] < workers:
        if _pool is not None:
            _pool[0].shutdown(wait=False)
        _pool = (ThreadPoolExecutor(max_workers=workers, thread_name_prefix="losskit"), workers)
    return _pool[0]


def _forget_pool() -> None:  # a forked child has none of its parent's threads
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _parallel(
    call: Callable[[int, int], Any], n_blocks: int, n_items: int, cheap: bool
) -> list[Any]:
    """``call(b0, b1)`` over ``[0, n_blocks)`` in contiguous chunks, on every thread.

    The chunks (several per thread, at least ``_CHUNK_BLOCKS`` blocks each) are
    handed out as threads become free, so a thread that the OS runs late
    (another process on its core) does not hold the others up. The results
    come back in chunk order; the kernels write their outputs by block index,
    so which thread ran a chunk changes nothing.
    """
    enough = n_items >= (_PARALLEL_MIN if cheap else _PARALLEL_MIN_COSTLY)
    threads = min(num_threads(), n_blocks) if enough else 1
    if threads <= 1:
        return [call(0, n_blocks)]
    n_chunks = max(threads, min(threads * _CHUNKS_PER_THREAD, n_blocks // _CHUNK_BLOCKS))
    bounds = [n_blocks * k // n_chunks for k in range(n_chunks + 1)]
    results: list[Any] = [None] * n_chunks
    claimed = [0]
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                c = claimed[0]
                claimed[0] += 1
            if c >= n_chunks:
                return
            results[c] = call(bounds[c], bounds[c + 1])

    pool = _executor(threads - 1)
    helpers = [pool.submit(work) for _ in range(threads - 1)]
    work()
    for f in helpers:
        f.result()
    return results


# --------------------------------------------------------------------------
# what each loss runs
# --------------------------------------------------------------------------


class Plan(NamedTuple):
    """A kernel (name in ``_kernels``), its parameters, and how it is laid out."""

    kernel: str
    params: tuple[float, ...] = ()
    #: "elements" (flat), "targets" (rows with probability targets) or "labels".
    layout: str = "elements"
    class_weight: tuple[float, ...] | None = None
    ignore_index: int | None = None
    label_smoothing: float = 0.0


def _xent_plan(from_logits: bool, *params: float) -> Plan:
    return Plan("xent_logits" if from_logits else "xent_probs", params)


def _focal_plan(loss: Any) -> Plan:
    g = loss.gamma
    has_alpha = loss.alpha is not None
    alpha = loss.alpha if has_alpha else 1.0
    if g == 0.0:  # the (alpha-weighted) cross-entropy, as FocalLoss._terms
        return _xent_plan(loss.from_logits, 1.0, 0.0, alpha, 1.0 - alpha if has_alpha else 1.0)
    name = "focal_logits" if loss.from_logits else "focal_probs"
    if g not in (1.0, 2.0):
        name += "_pow"
    params: tuple[float, ...] = (g, float(has_alpha), alpha, 1.0 - alpha)
    if not loss.from_logits:
        params += (g * (g - 1.0), 2.0 * g, g - 1.0)
    return Plan(name, params)


def _bce_plan(loss: Any) -> Plan | None:
    pw = loss.pos_weight
    if isinstance(pw, tuple):  # one weight per class: not covered
        return None
    e = loss.label_smoothing
    return _xent_plan(loss.from_logits, 1.0 - e, 0.5 * e, 1.0 if pw is None else pw, 1.0)


def _softmax_plan(loss: Any, layout: str) -> Plan:
    kernel = "label_xent" if layout == "labels" else "target_xent"
    if not loss.from_logits:
        kernel += "_probs"
    ignore = getattr(loss, "ignore_index", None)
    return Plan(kernel, (), layout, loss.class_weight, ignore, loss.label_smoothing)


@functools.cache
def _planners() -> dict[type, Callable[[Any], Plan | None]]:
    from ._classification import (
        BinaryCrossEntropy,
        CategoricalCrossEntropy,
        HingeLoss,
        SparseCategoricalCrossEntropy,
        SquaredHingeLoss,
    )
    from ._imbalanced import FocalLoss, WeightedCrossEntropy
    from ._regression import (
        HuberLoss,
        LogCoshLoss,
        MeanAbsoluteError,
        MeanSquaredError,
        PoissonLoss,
        QuantileLoss,
        SmoothL1Loss,
    )
    from ._similarity import ContrastiveLoss

    return {
        MeanSquaredError: lambda loss: Plan("mse"),
        MeanAbsoluteError: lambda loss: Plan("mae"),
        HuberLoss: lambda loss: Plan("huber", (loss.delta,)),
        SmoothL1Loss: lambda loss: (
            Plan("smooth_l1", (loss.beta, 0.5 / loss.beta)) if loss.beta else Plan("mae")
        ),
        LogCoshLoss: lambda loss: Plan("log_cosh"),
        QuantileLoss: lambda loss: Plan("quantile", (loss.quantile, 1.0 - loss.quantile)),
        PoissonLoss: lambda loss: (
            Plan("poisson_log", (float(loss.full),))
            if loss.log_input
            else Plan("poisson_rate", (float(loss.full), loss.eps))
        ),
        BinaryCrossEntropy: _bce_plan,
        WeightedCrossEntropy: lambda loss: _xent_plan(
            loss.from_logits, 1.0, 0.0, loss.class_weights[1], loss.class_weights[0]
        ),
        FocalLoss: _focal_plan,
        HingeLoss: lambda loss: Plan("hinge", (loss.margin,)),
        SquaredHingeLoss: lambda loss: Plan("squared_hinge", (loss.margin,)),
        ContrastiveLoss: lambda loss: Plan("contrastive", (loss.margin,)),
        CategoricalCrossEntropy: lambda loss: _softmax_plan(loss, "targets"),
        SparseCategoricalCrossEntropy: lambda loss: _softmax_plan(loss, "labels"),
    }


def plan(loss: Any) -> Plan | None:
    """The kernel that computes ``loss`` (its exact class, not a subclass), or None."""
    planner = _planners().get(type(loss))
    return None if planner is None else planner(loss)


# --------------------------------------------------------------------------
# running a plan
# --------------------------------------------------------------------------


def _compact_weights(
    weights: np.ndarray | None, shape: tuple[int, ...], dtype: Any
) -> tuple[np.ndarray, int]:
    """``(wv, rep)`` with ``weight.flat[i] == wv[i // rep]``, without expanding a broadcast.

    ``weights`` is ``sample_weight`` broadcast to the per-sample ``shape`` (None:
    every sample weighs 1); its trailing broadcast axes (stride 0) become ``rep``.
    """
    if weights is None:
        return np.ones(1, dtype), max(1, math.prod(shape))
    t = weights.ndim
    while t > 0 and (weights.strides[t - 1] == 0 or weights.shape[t - 1] == 1):
        t -= 1
    lead = weights[(slice(None),) * t + (0,) * (weights.ndim - t)]
    return np.ascontiguousarray(lead).reshape(-1), math.prod(weights.shape[t:])


def _native(a: np.ndarray) -> bool:
    return a.dtype.isnative and a.dtype.kind in "fiu"


def run(
    loss: Any, arrays: tuple[Any, ...], weights: Any, order: int
) -> tuple[Any, Any, Any] | None:
    """The fast result for ``loss`` on prepared NumPy ``arrays``, or None.

    ``arrays`` are validated and in the compute dtype, ``weights`` is None or
    broadcast to the per-sample shape. The results are what ``_reduce`` gives
    before its cast to the input's dtype (the caller casts): the value (0-d,
    or per sample for "none"), and the derivative and Hessian (None below
    ``order`` 1 and 2), in the compute dtype.
    """
    if len(arrays) != 2:
        return None
    y, x = arrays
    if not _active(x.size) or x.dtype not in (np.float32, np.float64):
        return None
    p = plan(loss)
    if p is None or not (_native(y) and _native(x)):
        return None
    if weights is not None and (weights.dtype != x.dtype or not weights.dtype.isnative):
        return None
    k = kernels()
    if k is None:
        return None
    if p.layout == "elements":
        return _run_elements(k, p, y, x, weights, order, loss.reduction)
    return _run_rows(k, p, y, x, weights, order, loss.reduction)


def run_on_tensors(
    loss: Any, tensors: tuple[Any, ...], weights: Any, order: int
) -> tuple[Any, Any, Any] | None:
    """:func:`run` for prepared PyTorch CPU tensors, through NumPy views (no copy
    in or out), or None where a view is not allowed (see ``_compat.host_view``)."""
    if len(tensors) != 2:
        return None
    # The prediction first: its view also settles that nothing is traced, and a
    # small input or an uncovered loss then costs no further view.
    x = host_view(tensors[1])
    if x is None or not _active(x.size) or plan(loss) is None:
        return None
    y = host_view(tensors[0])
    weight_view = None if weights is None else host_view(weights)
    if y is None or (weights is not None and weight_view is None):
        return None
    result = run(loss, (y, x), weight_view, order)
    if result is None:
        return None
    import torch

    value, grad, hess = (None if r is None else torch.from_numpy(r) for r in result)
    return value, grad, hess


def bounds(x: Any) -> tuple[float, float] | None:
    """``(min, max)`` of a large floating NumPy array or PyTorch CPU tensor in one
    pass on every thread, both NaN if it holds a NaN or an infinity; None where
    not covered (then the caller reduces with its array library: two passes)."""
    a = x if isinstance(x, np.ndarray) else host_view(x)
    if a is None or a.dtype not in (np.float32, np.float64) or not a.dtype.isnative:
        return None
    if not _active(a.size) or not (a.flags.c_contiguous or a.flags.f_contiguous):
        return None
    k = kernels()
    if k is None:
        return None
    flat = a.ravel(order="K")  # a view: the array is contiguous
    n_blocks = -(-flat.size // k.BLOCK)
    lows, highs = np.empty(n_blocks), np.empty(n_blocks)
    _parallel(lambda b0, b1: k.bounds_kernel(flat, lows, highs, b0, b1), n_blocks, a.size, True)
    return float(lows.min()), float(highs.max())


def _outputs(
    x: np.ndarray, sample_shape: tuple[int, ...], order: int, reduction: str
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    g = np.empty(x.shape, x.dtype) if order >= 1 else None
    h = np.empty(x.shape, x.dtype) if order >= 2 else None
    vals = np.empty(sample_shape, x.dtype) if reduction == "none" else None
    return g, h, vals


def _scales(dtype: np.dtype, reduction: str, total: float) -> tuple[Any, float]:
    """``(den, divisor)``: a sample's derivatives are scaled by ``w / den`` and the
    sum of the weighted values is divided by ``divisor``. ``total`` is the sum of
    the weights (of their products with the samples' shares for integer labels)."""
    one = dtype.type(1.0)
    if reduction != "mean":
        return one, 1.0
    den = dtype.type(total)
    den = one if den == 0 else den  # all weights 0: loss 0, gradient 0 (SPEC §4)
    return den, float(den)


def _weight_total(
    weights: np.ndarray | None, wv: np.ndarray, rep: int, count: int, reduction: str
) -> float:
    """The total weight of ``count`` samples (``wv``, ``rep`` from :func:`_compact_weights`):
    what "mean" divides by; other reductions do not use it, so it is not summed for them."""
    if weights is None or reduction != "mean":
        return count
    return float(np.sum(wv, dtype=np.float64)) * rep


def _scalars(dtype: np.dtype, params: tuple[float, ...]) -> tuple[Any, ...]:
    """A kernel's parameters: a tuple of scalars of the compute dtype (never empty).

    Each Python float is rounded to the dtype as NumPy rounds a Python scalar
    that multiplies an array (``0.3 * x`` with float32 ``x`` uses float32(0.3)).
    """
    return tuple(dtype.type(v) for v in params) or (dtype.type(0.0),)


def _value(vals: np.ndarray | None, partials: np.ndarray, divisor: float, dtype: Any) -> Any:
    """The per-sample values ("none"), or the reduced value as a 0-d array of ``dtype``."""
    if vals is not None:
        return vals
    return np.asarray(np.sum(partials) / divisor, dtype=dtype)


def _flat(a: np.ndarray | None) -> np.ndarray | None:
    return None if a is None else a.reshape(-1)


def _run_elements(
    k: ModuleType,
    p: Plan,
    y: np.ndarray,
    x: np.ndarray,
    weights: np.ndarray | None,
    order: int,
    reduction: str,
) -> tuple[Any, Any, Any] | None:
    n = x.size
    wv, rep = _compact_weights(weights, x.shape, x.dtype)
    den, divisor = _scales(x.dtype, reduction, _weight_total(weights, wv, rep, n, reduction))
    g, h, vals = _outputs(x, x.shape, order, reduction)
    n_blocks = -(-n // k.BLOCK)
    partials = np.empty(n_blocks)
    prm = _scalars(x.dtype, p.params)
    fn = getattr(k, p.kernel + "_kernel")
    yf, xf = y.reshape(-1), x.reshape(-1)
    gf, hf, vf = _flat(g), _flat(h), _flat(vals)

    def call(b0: int, b1: int) -> Any:
        return fn(yf, xf, prm, wv, rep, den, gf, hf, vf, partials, b0, b1)

    flags = _parallel(call, n_blocks, n, p.kernel in _CHEAP)
    if p.kernel in ("hinge", "squared_hinge"):
        seen = functools.reduce(lambda a, b: a | b, flags, 0)
        if seen & 4 or seen & 3 == 3:  # invalid labels: the reference path raises or decides
            return None
    return _value(vals, partials, divisor, x.dtype), g, h


def _run_rows(
    k: ModuleType,
    p: Plan,
    t: np.ndarray,
    x: np.ndarray,
    weights: np.ndarray | None,
    order: int,
    reduction: str,
) -> tuple[Any, Any, Any] | None:
    if x.ndim < 1:
        return None
    n_classes = x.shape[-1]
    sample_shape = x.shape[:-1]
    n_rows = math.prod(sample_shape)
    dtype = x.dtype
    wv, rep = _compact_weights(weights, sample_shape, dtype)
    cw = None if p.class_weight is None else np.asarray(p.class_weight, dtype=dtype)
    if cw is not None and cw.size != n_classes:
        return None  # the reference path raises its error
    has_ignore = p.ignore_index is not None
    ignore = p.ignore_index if has_ignore else 0
    e = p.label_smoothing
    labels = p.layout == "labels"
    tt = np.ascontiguousarray(t.reshape(-1) if labels else t.reshape(-1, n_classes))
    if reduction == "mean" and labels and (cw is not None or has_ignore):
        shares = np.empty(n_rows, dtype)
        k.label_shares_kernel(tt, n_classes, cw, ignore, has_ignore, wv, rep, shares)
        total = float(np.sum(shares))  # in the dtype, as the reference sums them
    else:
        total = _weight_total(weights, wv, rep, n_rows, reduction)
    den, divisor = _scales(dtype, reduction, total)
    g, h, vals = _outputs(x, sample_shape, order, reduction)
    rb = max(1, k.BLOCK // n_classes)
    n_blocks = -(-n_rows // rb)
    partials = np.empty(n_blocks)
    if labels:
        plain = e == 0 and cw is None and not has_ignore  # one-hot target weights
        prm = _scalars(dtype, (1.0 - e, e / n_classes, float(has_ignore), float(plain)))
    else:
        prm = _scalars(dtype, (1.0 - e, e / n_classes))
    x2 = np.ascontiguousarray(x.reshape(-1, n_classes))
    g2 = None if g is None else g.reshape(-1, n_classes)
    h2 = None if h is None else h.reshape(-1, n_classes)
    vf = _flat(vals)
    fn = getattr(k, p.kernel + "_kernel")

    def call(b0: int, b1: int) -> Any:
        return fn(tt, x2, prm, cw, ignore, wv, rep, den, g2, h2, vf, partials, b0, b1, rb)

    _parallel(call, n_blocks, x.size, False)
    return _value(vals, partials, divisor, dtype), g, h
