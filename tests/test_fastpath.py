"""The fused NumPy fast path (``_fastpath``, ``_kernels``, ``_vecmath``) against the reference.

The array-API path is the reference: for every loss, option, dtype,
reduction and sample-weight shape the fast path covers, both paths must give
the same value, derivative and Hessian up to a few ulp of the magnitudes
involved, on ordinary inputs and on the SPEC §4 extremes. A spy on
``_fastpath.run`` makes sure the fast path really ran (a silent fall-back
would make every comparison vacuous).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import mpmath
import numpy as np
import pytest

import losskit
from conftest import VARIANTS, Variant
from losskit import _fastpath

numba = pytest.importorskip("numba")

from losskit import _kernels, _vecmath  # noqa: E402  (needs Numba)

COVERED = [v for v in VARIANTS if _fastpath.plan(v.loss) is not None]
DTYPES = [np.float32, np.float64]
REDUCTIONS = ["mean", "sum", "none"]
#: Elements per element-wise input: several kernel blocks, not a multiple of one.
ELEMENT_SHAPE = (2, 2 * _kernels.BLOCK + 321)
#: (batch, rows, classes) for the softmax losses: several row blocks.
ROW_SHAPE = (2, 850, 3)
#: Tolerance in ulp of the magnitudes involved (see ``assert_close``).
K = 8.0


def test_covered_losses_are_the_ones_the_issue_asks_for() -> None:
    covered = {v.name for v in COVERED}
    assert covered >= {
        "mse",
        "mae",
        "huber",
        "smooth_l1",
        "log_cosh",
        "quantile",
        "poisson",
        "binary_cross_entropy",
        "focal",
        "hinge",
        "squared_hinge",
        "weighted_cross_entropy",
        "contrastive",
        "sparse_categorical_cross_entropy",
        "categorical_cross_entropy",
    }
    for name in (
        "binary_cross_entropy",
        "focal",
        "weighted_cross_entropy",
        "categorical_cross_entropy",
        "sparse_categorical_cross_entropy",
    ):
        kinds = {v.loss.from_logits for v in COVERED if v.name == name}
        assert kinds == {True, False}, name


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records, for every call of ``_fastpath.run``, whether it returned a result."""
    calls: list[bool] = []
    real = _fastpath.run

    def recording(*args: Any) -> Any:
        result = real(*args)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(_fastpath, "run", recording)
    return calls


def both(
    loss: losskit.LossFunction, inputs: tuple, weights: Any, order: int, spy: list[bool]
) -> tuple[tuple, tuple]:
    """``(fast, reference)`` results of ``loss._run``; fails if the fast path did not run."""
    with _fastpath.forced(False):
        ref = loss._run(inputs, weights, order)
    spy.clear()
    with _fastpath.forced(True):
        fast = loss._run(inputs, weights, order)
    assert spy == [True], "the fast path fell back"
    return fast, ref


def logit_spread(loss: losskit.LossFunction, x: np.ndarray) -> float:
    """``max(x) - min(x)`` over a softmax loss's rows (0 otherwise).

    The reference's probabilities ``exp(z - lse)`` carry an error of about
    ``eps |z - lse|``, so tolerances for softmax rows grow with the spread.
    """
    if not isinstance(loss, losskit.RowwiseLoss):
        return 0.0
    finite = np.where(np.isfinite(x), x, np.nan)
    spread = np.nanmax(finite, axis=-1) - np.nanmin(finite, axis=-1)
    return float(np.nanmax(spread)) if np.isfinite(spread).any() else 0.0


def assert_close(actual: Any, desired: Any, dtype: Any, *, k: float, scale: float) -> None:
    """``|actual - desired| <= k eps (|desired| + scale)``; NaN and inf must match exactly."""
    actual, desired = np.asarray(actual), np.asarray(desired)
    assert actual.shape == desired.shape
    assert actual.dtype == desired.dtype
    eps = float(np.finfo(dtype).eps)
    np.testing.assert_allclose(actual, desired, rtol=k * eps, atol=k * eps * scale)


def max_finite(a: Any) -> float:
    a = np.abs(np.asarray(a, dtype=np.float64))
    finite = a[np.isfinite(a)]
    return float(finite.max()) if finite.size else 0.0


def value_scale(loss: losskit.LossFunction, inputs: tuple, weights: Any, value: Any) -> float:
    """The error scale of a reduced value: ``sum |w l| / sum w l`` times the value.

    Summation in another order changes a sum by a few ulp of ``sum |w l|`` (not
    of the sum itself, which may cancel); "mean" divides both by the same total.
    """
    with _fastpath.forced(False):
        terms = np.asarray(loss.replace(reduction="none")._run(inputs, weights, 0)[0], np.float64)
    terms = terms[np.isfinite(terms)]
    total, magnitude = float(np.sum(terms)), float(np.sum(np.abs(terms)))
    v = abs(float(value))
    if total == 0 or not np.isfinite(v):
        return magnitude / max(terms.size, 1)
    return magnitude * v / abs(total)


def check(
    loss: losskit.LossFunction,
    inputs: tuple,
    weights: Any,
    dtype: Any,
    spy: list[bool],
    order: int = 2,
    spread: float | None = None,
) -> tuple:
    """Assert that the fast path equals the reference; return the fast results.

    The tolerance is ``K`` ulp, times ``1 + spread`` for softmax rows (default:
    the inputs' :func:`logit_spread`).
    """
    fast, ref = both(loss, inputs, weights, order, spy)
    if spread is None:
        spread = logit_spread(loss, np.asarray(inputs[1], np.float64))
    k = K * (1.0 + spread)
    value, value_ref = fast[0], ref[0]
    if np.ndim(value_ref) == 0:
        scale = value_scale(loss, inputs, weights, value_ref)
        assert_close(value, value_ref, dtype, k=k, scale=scale)
    else:
        assert_close(value, value_ref, dtype, k=k, scale=max_finite(value_ref))
    for part, part_ref in zip(fast[1:], ref[1:], strict=True):
        if part_ref is None:
            assert part is None
        else:
            assert_close(part, part_ref, dtype, k=k, scale=max_finite(part_ref))
    return fast


def draw(variant: Variant, rng: np.random.Generator, dtype: Any) -> tuple:
    rows = isinstance(variant.loss, losskit.RowwiseLoss)
    y, x = variant.inputs(rng, ROW_SHAPE if rows else ELEMENT_SHAPE)
    y = np.asarray(y)
    return (y if y.dtype.kind in "iu" else y.astype(dtype)), np.asarray(x, dtype)


def weight_cases(
    loss: losskit.LossFunction, x: np.ndarray, rng: np.random.Generator, dtype: Any
) -> dict[str, Any]:
    sample = x.shape[:-1] if isinstance(loss, losskit.RowwiseLoss) else x.shape
    return {
        "none": None,
        "each": rng.uniform(0.0, 2.0, size=sample).astype(dtype),
        "scalar": dtype(0.75),
        "per-row": rng.uniform(0.0, 2.0, size=sample[:1]).astype(dtype),
        "zeros": np.zeros(sample, dtype),
    }


# --------------------------------------------------------------------------
# the fast path equals the reference
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("variant", COVERED, ids=lambda v: v.id)
def test_matches_reference(
    variant: Variant, dtype: Any, rng: np.random.Generator, spy: list[bool]
) -> None:
    y, x = draw(variant, rng, dtype)
    for reduction in REDUCTIONS:
        loss = variant.loss.replace(reduction=reduction)
        for case, w in weight_cases(loss, x, rng, dtype).items():
            try:
                check(loss, (y, x), w, dtype, spy)
            except AssertionError as e:
                raise AssertionError(f"reduction={reduction}, sample_weight {case}: {e}") from e


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("huber", {}),
        ("binary_cross_entropy", {"from_logits": True}),
        ("sparse_categorical_cross_entropy", {"from_logits": True}),
    ],
)
def test_lower_orders_compute_less(
    name: str, params: dict, order: int, rng: np.random.Generator, spy: list[bool]
) -> None:
    variant = Variant(name, losskit.get(name, **params), ())
    y, x = draw(variant, rng, np.float64)
    fast = check(variant.loss, (y, x), None, np.float64, spy, order=order)
    assert (fast[1] is None) == (order < 1)
    assert fast[2] is None


def test_public_methods_take_the_fast_path(rng: np.random.Generator, spy: list[bool]) -> None:
    loss = losskit.get("huber")
    y, x = (rng.normal(size=2 * _fastpath.MIN_SIZE) for _ in range(2))
    value, grad = loss.value_and_derivative(y, x)
    assert spy == [True]
    with _fastpath.forced(False):
        value_ref, grad_ref = loss.value_and_derivative(y, x)
    assert_close(value, value_ref, np.float64, k=K, scale=0.0)
    assert_close(grad, grad_ref, np.float64, k=K, scale=max_finite(grad_ref))


def test_hinge_labels_in_zero_one(rng: np.random.Generator, spy: list[bool]) -> None:
    y = rng.integers(0, 2, size=ELEMENT_SHAPE).astype(float)
    x = rng.normal(size=ELEMENT_SHAPE)
    for name in ("hinge", "squared_hinge"):
        check(losskit.get(name), (y, x), None, np.float64, spy)


def test_integer_labels_of_any_width(rng: np.random.Generator, spy: list[bool]) -> None:
    loss = losskit.get("sparse_categorical_cross_entropy", from_logits=True, ignore_index=2)
    x = rng.normal(size=ROW_SHAPE)
    labels = rng.integers(0, 3, size=ROW_SHAPE[:-1]).astype(np.int32)
    check(loss, (labels, x), None, np.float64, spy)


def test_strided_read_only_and_fortran_inputs(rng: np.random.Generator, spy: list[bool]) -> None:
    loss = losskit.get("log_cosh")
    big = rng.normal(size=(2 * ELEMENT_SHAPE[0], ELEMENT_SHAPE[1]))
    strided = big[::2]
    readonly = np.broadcast_to(rng.normal(size=ELEMENT_SHAPE[1]), ELEMENT_SHAPE)
    fortran = np.asfortranarray(rng.normal(size=ELEMENT_SHAPE))
    check(loss, (readonly, strided), None, np.float64, spy)
    check(loss, (strided, fortran), np.abs(strided[:, 0]), np.float64, spy)


@pytest.mark.parametrize("shape", [(3, 40, 50), (3, 4, 500)])
def test_weights_on_leading_axes(shape: tuple, rng: np.random.Generator, spy: list[bool]) -> None:
    loss = losskit.get("quantile", quantile=0.3)
    y, x = rng.normal(size=shape), rng.normal(size=shape)
    for w in (rng.uniform(size=shape[:1]), rng.uniform(size=shape[:2]), rng.uniform(size=(1, 4))):
        w = w if w.shape != (1, 4) or shape[1] == 4 else rng.uniform(size=(1, shape[1]))
        check(loss, (y, x), w, np.float64, spy)


def test_compact_weights_keeps_broadcasts_compact() -> None:
    n, m = 5, 7
    w, rep = _fastpath._compact_weights(None, (n, m), np.float64)
    assert w.tolist() == [1.0]
    assert rep == n * m
    per_row = np.broadcast_to(np.arange(n, dtype=float)[:, None], (n, m))
    w, rep = _fastpath._compact_weights(per_row, (n, m), np.float64)
    assert w.tolist() == list(range(n))
    assert rep == m
    scalar = np.broadcast_to(np.float64(2.0), (n, m))
    w, rep = _fastpath._compact_weights(scalar, (n, m), np.float64)
    assert w.tolist() == [2.0]
    assert rep == n * m
    per_column = np.broadcast_to(np.arange(m, dtype=float), (n, m))  # expanded: rep 1
    w, rep = _fastpath._compact_weights(per_column, (n, m), np.float64)
    assert rep == 1
    assert np.array_equal(w.reshape(n, m), per_column)


def test_all_zero_weights_give_zero_loss_and_gradient(
    rng: np.random.Generator, spy: list[bool]
) -> None:
    loss = losskit.get("sparse_categorical_cross_entropy", from_logits=True)
    x = rng.normal(size=ROW_SHAPE)
    labels = rng.integers(0, 3, size=ROW_SHAPE[:-1])
    value, grad, hess = check(loss, (labels, x), np.zeros(ROW_SHAPE[:-1]), np.float64, spy)
    assert float(value) == 0.0
    assert not grad.any()
    assert not hess.any()
    ignored = loss.replace(ignore_index=1)
    value, grad, _ = check(ignored, (np.ones_like(labels), x), None, np.float64, spy)
    assert float(value) == 0.0
    assert not grad.any()


# --------------------------------------------------------------------------
# SPEC §4: extreme inputs give what the reference gives
# --------------------------------------------------------------------------


def tiled(*columns: Any, dtype: Any) -> tuple[np.ndarray, ...]:
    """Each column of special values repeated past one kernel block, aligned with the others."""
    reps = -(-(_kernels.BLOCK + 7) // len(columns[0]))
    return tuple(np.tile(np.asarray(c, dtype=dtype), reps) for c in columns)


INF = np.inf


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("binary_cross_entropy", {"from_logits": True}),
        ("binary_cross_entropy", {"from_logits": True, "pos_weight": 3.0}),
        ("focal", {"from_logits": True}),
        ("focal", {"from_logits": True, "gamma": 0.5, "alpha": 0.25}),
        ("weighted_cross_entropy", {"from_logits": True, "class_weights": (2.0, 0.5)}),
    ],
)
def test_extreme_logits(name: str, params: dict, dtype: Any, spy: list[bool]) -> None:
    logits = [-INF, -1e4, -80.0, -20.0, -1e-3, 0.0, 1e-3, 20.0, 80.0, 1e4, INF]
    y, x = tiled([0.0] * 11 + [1.0] * 11 + [0.3] * 11, logits * 3, dtype=dtype)
    loss = losskit.get(name, **params)
    value, grad, hess = check(loss.replace(reduction="none"), (y, x), None, dtype, spy)
    finite = np.isfinite(x) | (y == np.sign(x) * 0.5 + 0.5)  # SPEC: 0 at the right infinity
    assert np.isfinite(value[finite]).all()
    assert np.isfinite(grad).all()
    assert np.isfinite(hess).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("binary_cross_entropy", {}),
        ("binary_cross_entropy", {"label_smoothing": 0.1}),
        ("focal", {}),
        ("focal", {"gamma": 0.5}),
        ("focal", {"gamma": 1.0, "alpha": 0.25}),
        ("weighted_cross_entropy", {"class_weights": (1.0, 5.0)}),
    ],
)
def test_probabilities_exactly_zero_and_one(
    name: str, params: dict, dtype: Any, spy: list[bool]
) -> None:
    probs = [0.0, 1e-30, 1e-7, 0.5, 1 - 1e-7, 1.0]
    y, p = tiled([0.0] * 6 + [1.0] * 6 + [0.25] * 6, probs * 3, dtype=dtype)
    loss = losskit.get(name, **params).replace(reduction="none")
    value, grad, _ = check(loss, (y, p), None, dtype, spy)
    assert np.isfinite(value).all()
    assert np.isfinite(grad).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_extreme_residuals(dtype: Any, spy: list[bool]) -> None:
    big = 1e300 if dtype == np.float64 else 1e30
    r = [-INF, -big, -1e4, -1.0, -0.999, -1e-8, 0.0, 1e-8, 0.5, 1.0, 40.0, 1e4, big, INF, np.nan]
    y, x = tiled(np.zeros(len(r)), r, dtype=dtype)
    for name in ("log_cosh", "huber", "smooth_l1", "mae", "mse", "quantile", "hinge"):
        loss = losskit.get(name).replace(reduction="none")
        yy = np.ones_like(y) if name == "hinge" else y
        value, _, _ = check(loss, (yy, x), None, dtype, spy)
        if name == "log_cosh":
            assert np.isfinite(value[np.isfinite(x)]).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_softmax_extremes(dtype: Any, rng: np.random.Generator, spy: list[bool]) -> None:
    n_rows, n_classes = _kernels.BLOCK // 2 + 5, 4
    x = rng.normal(size=(n_rows, n_classes)).astype(dtype)
    labels = rng.integers(0, n_classes, size=n_rows)
    onehot = np.eye(n_classes, dtype=dtype)[labels]
    x[0::5, 1] = -INF
    labels[0::5] = 0  # a masked class with target 0 adds nothing
    onehot[0::5] = np.eye(n_classes, dtype=dtype)[0]
    x[1::5] = [1e4, -1e4, 0.0, 5.0]
    x[2::5, 2] = INF
    x[3::5] = np.nan
    sparse = losskit.get("sparse_categorical_cross_entropy", from_logits=True, reduction="none")
    dense = losskit.get("categorical_cross_entropy", from_logits=True, reduction="none")
    for loss, target in ((sparse, labels), (dense, onehot)):
        fast, ref = both(loss, (target, x), None, 2, spy)
        for part, part_ref in zip(fast, ref, strict=True):
            np.testing.assert_array_equal(np.isnan(part), np.isnan(part_ref))
            np.testing.assert_array_equal(np.isinf(part), np.isinf(part_ref))
        ok = np.isfinite(np.asarray(ref[0]))
        assert ok[0::5].all()
        assert ok[1::5].all()
        ordinary = ok.copy()
        ordinary[1::5] = False
        check(loss, (target[ordinary], x[ordinary]), None, dtype, spy)
        check(loss, (target[1::5], x[1::5]), None, dtype, spy, spread=0.0)  # exact there


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_softmax_large_shared_offset(dtype: Any, rng: np.random.Generator, spy: list[bool]) -> None:
    offset = 1e8 if dtype == np.float32 else 1e15
    x = (rng.normal(size=ROW_SHAPE) * 4).astype(dtype)
    labels = rng.integers(0, 3, size=ROW_SHAPE[:-1])
    loss = losskit.get("sparse_categorical_cross_entropy", from_logits=True)
    shifted = (x.astype(np.float64) + offset).astype(dtype)
    check(loss, (labels, shifted), None, dtype, spy)


def test_nan_propagates(rng: np.random.Generator, spy: list[bool]) -> None:
    for variant in COVERED:
        if isinstance(variant.loss, losskit.RowwiseLoss):
            continue
        y, x = draw(variant, rng, np.float64)
        x = x.copy()
        x.flat[::97] = np.nan
        value, grad, _ = check(
            variant.loss.replace(reduction="none"), (y, x), None, np.float64, spy
        )
        assert np.isnan(value.flat[::97]).all(), variant.id
        assert np.isnan(grad.flat[::97]).all(), variant.id


# --------------------------------------------------------------------------
# when the fast path steps aside
# --------------------------------------------------------------------------


def test_invalid_hinge_labels_fall_back_to_the_reference_error(
    rng: np.random.Generator, spy: list[bool]
) -> None:
    x = rng.normal(size=ELEMENT_SHAPE)
    mixed = rng.choice([-1.0, 0.0, 1.0], size=ELEMENT_SHAPE)
    loss = losskit.get("hinge")
    with _fastpath.forced(True), pytest.raises(ValueError, match="mix -1 and 0"):
        loss.compute(mixed, x)
    assert spy == [False]
    with _fastpath.forced(True), losskit.validation("never"):
        value = loss.compute(mixed, x)
    with _fastpath.forced(False), losskit.validation("never"):
        np.testing.assert_allclose(value, loss.compute(mixed, x), rtol=1e-14)


@pytest.mark.parametrize(
    "loss",
    [
        losskit.get("binary_cross_entropy", pos_weight=(1.0, 2.0, 3.0)),
        losskit.get("categorical_focal"),
        losskit.get("kl_divergence"),
        losskit.get("dice"),
    ],
    ids=repr,
)
def test_uncovered_losses_fall_back(loss: losskit.LossFunction) -> None:
    assert _fastpath.plan(loss) is None


def test_subclasses_are_not_covered() -> None:
    class Mine(losskit.MeanSquaredError):  # may override anything
        pass

    assert _fastpath.plan(Mine()) is None
    assert _fastpath.plan(losskit.MeanSquaredError()) is not None


def test_small_inputs_and_the_switches(
    rng: np.random.Generator, spy: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    loss = losskit.get("mse")
    small = rng.normal(size=_fastpath.MIN_SIZE - 1)
    large = rng.normal(size=_fastpath.MIN_SIZE)
    loss.compute(small, small)
    loss.compute(large, large)
    assert spy == [False, True]
    monkeypatch.setenv("LOSSKIT_FASTPATH", "0")
    loss.compute(large, large)
    with _fastpath.forced(True):
        loss.compute(small, small)
    assert spy == [False, True, False, True]


def test_without_numba_everything_falls_back(
    rng: np.random.Generator, spy: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("numba", "losskit._kernels", "losskit._vecmath"):
        monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    monkeypatch.delattr(losskit, "_kernels", raising=False)
    monkeypatch.delattr(losskit, "_vecmath", raising=False)
    _fastpath.kernels.cache_clear()
    try:
        assert _fastpath.kernels() is None
        loss = losskit.get("binary_cross_entropy", from_logits=True)
        y = rng.integers(0, 2, size=ELEMENT_SHAPE).astype(float)
        x = rng.normal(size=ELEMENT_SHAPE)
        with _fastpath.forced(True):
            value = loss.compute(y, x)
        assert spy == [False]
        with _fastpath.forced(False):
            assert float(value) == float(loss.compute(y, x))
    finally:
        _fastpath.kernels.cache_clear()
    monkeypatch.undo()
    assert _fastpath.kernels() is _kernels


# --------------------------------------------------------------------------
# the input checks' bounds: one parallel pass
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_bounds_equal_numpy_and_flag_nan_and_inf(dtype: Any, rng: np.random.Generator) -> None:
    n = ELEMENT_SHAPE[0] * ELEMENT_SHAPE[1]
    x = rng.normal(size=n).astype(dtype)
    assert _fastpath.bounds(x) == (float(x.min()), float(x.max()))
    assert _fastpath.bounds(x.reshape(ELEMENT_SHAPE).T) == (float(x.min()), float(x.max()))
    zeros = np.full(n, -0.0, dtype)
    assert _fastpath.bounds(zeros) == (0.0, 0.0)
    for special in (np.nan, np.inf, -np.inf):
        for at in (0, _kernels.BLOCK - 1, n - 1):
            y = x.copy()
            y[at] = special
            lo, hi = _fastpath.bounds(y)
            assert np.isnan(lo)
            assert np.isnan(hi)


def test_bounds_cover_only_large_contiguous_floats(rng: np.random.Generator) -> None:
    x = rng.normal(size=2 * _fastpath.MIN_SIZE)
    assert _fastpath.bounds(x[::2]) is None  # strided: the array library reduces it
    assert _fastpath.bounds(x[: _fastpath.MIN_SIZE - 1]) is None
    assert _fastpath.bounds(x.astype(np.int64)) is None
    assert _fastpath.bounds(x.astype(">f8")) is None
    with _fastpath.forced(True):
        assert _fastpath.bounds(x[:0]) is None  # nothing to reduce
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(x)
    assert _fastpath.bounds(t) == (float(x.min()), float(x.max()))
    with torch.enable_grad():
        assert _fastpath.bounds(t.clone().requires_grad_(True)) is None


@pytest.mark.parametrize("nonfinite", [np.nan, np.inf])
def test_large_inputs_are_still_checked_exactly(nonfinite: float, rng: np.random.Generator) -> None:
    n = 2 * _fastpath.MIN_SIZE
    y = (rng.uniform(size=n) < 0.5).astype(float)
    p = rng.uniform(size=n)
    bce = losskit.BinaryCrossEntropy(reduction="none")
    bad = p.copy()
    bad[-1] = 1.5
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        bce.compute(y, bad)
    odd = p.copy()
    odd[n // 2] = nonfinite
    if np.isnan(nonfinite):  # NaN passes the check and propagates
        assert np.isnan(bce.compute(y, odd)[n // 2])
    else:
        with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
            bce.compute(y, odd)
    counts = rng.poisson(3.0, size=n).astype(float)
    counts[7] = -1.0
    with pytest.raises(ValueError, match="must be non-negative"):
        losskit.PoissonLoss().compute(counts, p)


# --------------------------------------------------------------------------
# PyTorch CPU tensors: through NumPy views, unless autograd or a tracer must see it
# --------------------------------------------------------------------------


def _tensors(*arrays: Any) -> tuple:
    torch = pytest.importorskip("torch")
    return tuple(None if a is None else torch.from_numpy(np.asarray(a)) for a in arrays)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("variant", COVERED, ids=lambda v: v.id)
def test_torch_cpu_tensors_match_reference(
    variant: Variant, dtype: Any, rng: np.random.Generator, spy: list[bool]
) -> None:
    torch = pytest.importorskip("torch")
    y, x = draw(variant, rng, dtype)
    for reduction in ("mean", "none"):
        loss = variant.loss.replace(reduction=reduction)
        weights = weight_cases(loss, x, rng, dtype)
        for case in ("none", "per-row"):
            ty, tx, tw = _tensors(y, x, weights[case])
            fast = check(loss, (ty, tx), tw, dtype, spy)
            for part in fast:
                assert part is None or (isinstance(part, torch.Tensor) and part.dtype == tx.dtype)


def test_torch_half_precision_and_strided_tensors(
    rng: np.random.Generator, spy: list[bool]
) -> None:
    torch = pytest.importorskip("torch")
    loss = losskit.get("binary_cross_entropy", from_logits=True)
    y = torch.from_numpy(rng.integers(0, 2, size=ELEMENT_SHAPE).astype(np.float32))
    x = torch.from_numpy(rng.normal(size=ELEMENT_SHAPE[::-1]).astype(np.float32)).T  # strided
    check(loss, (y, x), None, np.float32, spy)
    for half in (torch.float16, torch.bfloat16):  # computed in float32, returned in ``half``
        spy.clear()
        value, grad = loss.value_and_derivative(y.to(half), x.to(half))
        assert spy == [True]
        assert value.dtype == grad.dtype == half
        with _fastpath.forced(False):
            value_ref, grad_ref = loss.value_and_derivative(y.to(half), x.to(half))
        assert torch.equal(value, value_ref)
        assert torch.equal(grad, grad_ref)


def test_host_view_shares_memory_only_where_allowed() -> None:
    torch = pytest.importorskip("torch")
    from losskit._compat import host_view

    t = torch.arange(6.0).reshape(2, 3)
    view = host_view(t)
    assert view is not None
    assert np.shares_memory(view, t.numpy())
    view[0, 0] = 7.0
    assert float(t[0, 0]) == 7.0  # the same memory, not a copy
    assert host_view(t.T) is not None  # strided
    w = t.clone().requires_grad_(True)
    assert host_view(w) is None  # autograd must see it
    with torch.no_grad():
        assert host_view(w) is not None
    assert host_view(torch.nn.Parameter(t.clone()).detach()) is not None
    assert host_view(torch.empty(3, device="meta")) is None
    assert host_view(torch._neg_view(t)) is None
    assert host_view(t.to_sparse()) is None
    assert host_view(t.to(torch.bfloat16)) is None  # NumPy has no bfloat16
    assert host_view(np.ones(3)) is None


def test_torch_autograd_and_transforms_take_the_reference_path(
    rng: np.random.Generator, spy: list[bool]
) -> None:
    torch = pytest.importorskip("torch")
    loss = losskit.get("binary_cross_entropy", from_logits=True)
    y = torch.from_numpy(rng.integers(0, 2, size=ELEMENT_SHAPE).astype(float))
    x = torch.from_numpy(rng.normal(size=ELEMENT_SHAPE))
    want = loss.derivative(y, x)
    assert spy == [True]
    spy.clear()
    with _fastpath.forced(True):
        xg = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(loss.compute(y, xg), [xg])
        assert spy == []  # autograd traces the formula: no view was taken
        torch.testing.assert_close(grad, want)
        grad = torch.func.grad(lambda z: loss.compute(y, z))(x)
        torch.testing.assert_close(grad, want)
        values = torch.func.vmap(lambda z: loss.compute(y[0], z))(x)
        assert values.shape == (ELEMENT_SHAPE[0],)
        compiled = torch.compile(loss.derivative, fullgraph=True, backend="eager")
        torch._dynamo.reset()
        torch.testing.assert_close(compiled(y, x), want)  # fullgraph: no graph break
    assert spy == []


def test_torch_module_backward_takes_the_fast_path(
    rng: np.random.Generator, spy: list[bool]
) -> None:
    torch = pytest.importorskip("torch")
    from losskit.torch import as_module

    loss = losskit.get("huber", delta=0.5)
    y = torch.from_numpy(rng.normal(size=ELEMENT_SHAPE))
    x = torch.from_numpy(rng.normal(size=ELEMENT_SHAPE)).requires_grad_(True)
    for recompute in (True, False):
        spy.clear()
        x.grad = None
        as_module(loss, recompute=recompute)(x, y).backward()
        assert spy == ([True, True] if recompute else [True])  # forward, backward
        with _fastpath.forced(False):
            want = loss.derivative(y, x.detach())
        torch.testing.assert_close(x.grad, want)


def test_import_does_not_load_numba() -> None:
    code = "import sys, losskit; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------
# threads
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "shape"),
    [
        ("log_cosh", {}, (3, 200_000)),
        ("sparse_categorical_cross_entropy", {"from_logits": True}, (150_000, 5)),
    ],
)
def test_results_do_not_depend_on_the_thread_count(
    name: str, params: dict, shape: tuple, rng: np.random.Generator
) -> None:
    variant = Variant(name, losskit.get(name, **params), shape)
    y, x = variant.inputs(rng)
    w = rng.uniform(size=shape[:1])
    assert x.size >= _fastpath._PARALLEL_MIN_COSTLY  # threads, and several chunks each
    results = []
    try:
        for threads in (1, 2, 3):
            _fastpath.set_num_threads(threads)
            results.append(variant.loss._run((y, x), w, 2))
    finally:
        _fastpath.set_num_threads(None)
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


def test_parallel_chunks_cover_every_block_once() -> None:
    n_blocks = 1000
    seen: list[tuple[int, int]] = []
    try:
        _fastpath.set_num_threads(3)
        results = _fastpath._parallel(
            lambda b0, b1: seen.append((b0, b1)) or (b0, b1), n_blocks, 1 << 30, True
        )
    finally:
        _fastpath.set_num_threads(None)
    assert len(results) > 3  # several chunks per thread
    assert [b for r in results for b in range(*r)] == list(range(n_blocks))
    assert sorted(seen) == results


# --------------------------------------------------------------------------
# the building blocks
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_kernels_compute_in_the_input_precision(dtype: Any) -> None:
    """Every point function maps float32 to float32 (no silent float64 promotion)."""
    t = numba.from_dtype(np.dtype(dtype))

    def caller(point: Any) -> Any:
        @numba.njit
        def call(y: Any, x: Any, prm: Any) -> Any:
            return point(y, x, prm)

        return call

    for name in dir(_kernels):
        if not name.endswith("_point"):
            continue
        call = caller(getattr(_kernels, name))
        prm = tuple(dtype(v) for v in (2.0, 1.0, 0.25, 0.75, 2.0, 4.0, 1.0))
        call(dtype(0.5), dtype(0.25), prm)
        (signature,) = call.nopython_signatures
        assert signature.return_type == numba.types.UniTuple(t, 3), name


def _vec(f: Any) -> Any:
    @numba.njit(error_model="numpy")
    def apply(a: Any, out: Any) -> None:
        for i in range(a.size):
            out[i] = f(a[i])

    return apply


VEC = {"exp": _vec(_vecmath.exp), "log": _vec(_vecmath.log), "log1p": _vec(_vecmath.log1p)}
REFERENCE = {
    "exp": (np.exp, mpmath.exp),
    "log": (np.log, mpmath.log),
    "log1p": (np.log1p, mpmath.log1p),
}
DOMAINS = {
    "exp": [(-745.0, 709.0), (-30.0, 30.0), (-1e-6, 1e-6)],
    "log": [(0.0, 4.0), (1e-300, 1e-290), (0.5, 2.0), (1e300, 1e308)],
    "log1p": [(-1.0, 1.0), (-1e-6, 1e-6), (0.0, 1e4)],
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", sorted(VEC))
def test_vecmath_within_an_ulp(name: str, dtype: Any, rng: np.random.Generator) -> None:
    """Against mpmath on random points of each domain: at most 1.5 ulp (1.0 is typical)."""
    mpmath.mp.prec = 120
    info = np.finfo(dtype)
    for lo, hi in DOMAINS[name]:
        with np.errstate(over="ignore"):
            x = rng.uniform(lo, hi, size=400).astype(dtype)
        x = x[np.isfinite(x) & (x > -1 if name == "log1p" else True)]
        out = np.empty_like(x)
        VEC[name](x, out)
        for xi, oi in zip(x, out, strict=True):
            exact = REFERENCE[name][1](mpmath.mpf(float(xi)))
            if not (abs(exact) > info.tiny and abs(exact) < info.max):
                continue
            ulp = float(np.spacing(dtype(abs(float(exact)))))
            err = abs(float((mpmath.mpf(float(oi)) - exact) / ulp))
            assert err <= 1.5, (name, xi, oi)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", sorted(VEC))
def test_vecmath_special_values_as_numpy(name: str, dtype: Any) -> None:
    info = np.finfo(dtype)
    specials = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -2.0, 88.7, 88.8, -87.3, -103.9, 709.78]
    specials += [709.79, 710.0, -745.1, -745.2, -708.5, -720.0, 1e-40, 5e-324, 1e-310]
    specials += [float(info.tiny), float(info.max), float(info.smallest_subnormal)]
    specials += [INF, -INF, np.nan, -1.0000001, 1e-20, -1e-20]
    x = np.array(specials, dtype=np.float64).astype(dtype)
    out = np.empty_like(x)
    VEC[name](x, out)
    with np.errstate(all="ignore"):
        expected = REFERENCE[name][0](x)
    np.testing.assert_allclose(out, expected, rtol=2 * float(info.eps), atol=0)
