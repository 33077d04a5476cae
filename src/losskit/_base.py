"""``LossFunction``: reductions, sample weights, validation and dtype handling.

A loss defines its per-sample value, derivative and Hessian diagonal in one
method, ``_terms``; everything else is shared and lives here:

* inputs of any array-API library become arrays of ``y_pred``'s library and
  device; half precisions are computed in float32 and cast back;
* bad inputs raise before any arithmetic (``_prepare``);
* ``reduction`` and ``sample_weight`` turn per-sample values into the result,
  and the same weights scale the derivative and the Hessian diagonal.

Users write their own losses by subclassing :class:`ElementwiseLoss` (or
:class:`RowwiseLoss`) and implementing ``per_sample`` and
``per_sample_derivative`` (and optionally ``per_sample_hessian``).
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal, NamedTuple

from . import _fastpath
from ._compat import (
    Array,
    Namespace,
    as_array,
    compute_dtype,
    fp_errors_ignored,
    is_floating,
    is_integral,
    is_numpy,
    is_torch,
    namespace,
    should_validate,
)

__all__ = [
    "CompositeLoss",
    "ElementwiseLoss",
    "LossFunction",
    "Reduction",
    "RowwiseLoss",
]

Reduction = Literal["mean", "sum", "none"]
_REDUCTIONS = ("mean", "sum", "none")


class Terms(NamedTuple):
    """What a loss's ``_terms`` returns.

    ``value`` has the per-sample shape; ``grad`` and ``hess`` have the shape of
    the differentiated input (a tuple of arrays for several inputs) and hold
    the derivatives of each sample's own loss. ``norm`` is each sample's share
    of the denominator of ``"mean"`` (None: 1 each), which is how class weights
    and ``ignore_index`` divide like PyTorch.
    """

    value: Array
    grad: Any = None
    hess: Any = None
    norm: Array | None = None


# --------------------------------------------------------------------------
# parameter validation, shared by every constructor
# --------------------------------------------------------------------------


def check_real(
    name: str,
    value: Any,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a float, or ``ValueError`` naming ``name`` and the allowed range."""
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    allowed = f"a real number in {lo}{low:g}, {high:g}{hi}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    v = float(value)
    ok = (
        not math.isnan(v)
        and (v > low if low_open else v >= low)
        and (v < high if high_open else v <= high)
    )
    if not ok:
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return v


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    if isinstance(value, bool) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}; got {value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return value


def check_weights(name: str, value: Any, *, length: int | None = None) -> tuple[float, ...] | None:
    """A sequence of non-negative finite weights as a tuple (None stays None)."""
    if value is None:
        return None
    try:
        weights = tuple(value)
    except TypeError:
        raise ValueError(
            f"{name} must be a sequence of non-negative numbers; got {value!r}"
        ) from None
    if length is not None and len(weights) != length:
        raise ValueError(f"{name} must have {length} entries; got {len(weights)}")
    if not weights:
        raise ValueError(f"{name} must not be empty")
    return tuple(
        check_real(f"{name}[{i}]", w, low=0.0, high=math.inf, high_open=True)
        for i, w in enumerate(weights)
    )


# --------------------------------------------------------------------------
# input validation helpers
# --------------------------------------------------------------------------


def _shape(x: Array) -> tuple[int, ...]:
    return tuple(x.shape)


def require_values(
    xp: Namespace,
    x: Array,
    bad: Callable[[], Array],
    message: Callable[[], str],
    within: tuple[float, float] | None = None,
) -> None:
    """Raise ``ValueError(message())`` if any element of the boolean mask ``bad()`` is set.

    Runs only where the validation mode allows for the input ``x`` (see
    ``losskit.set_validation``); elsewhere the mask is not even built, so a
    skipped check costs no pass over the data. With ``within=(low, high)``, an
    ``x`` whose values all lie in ``[low, high]`` is accepted by a quick bounds
    pass (:func:`_within`) before any mask is built.
    """
    if not should_validate(x) or (within is not None and _within(xp, x, *within)):
        return
    if bool(xp.any(bad())):
        raise ValueError(message())


def first_where(xp: Namespace, mask: Array, x: Array) -> Array:
    """The first element of ``x`` (in C order) where ``mask`` is set, for an error message.

    ``argmax`` instead of ``x[mask]``: no data-dependent shape, so it also works
    on lazy arrays (Dask).
    """
    flat = xp.reshape(xp.astype(mask, xp.int8), (-1,))
    return xp.reshape(x, (-1,))[int(xp.argmax(flat))]


def _within(xp: Namespace, x: Array, low: float, high: float) -> bool:
    """Quick acceptance: ``low <= min(x)`` and ``max(x) <= high``.

    At most two reads of ``x`` (one, on every thread, on the fast path) and no
    temporaries, where the element-wise mask of a failed check would build
    several full-size boolean arrays; a NaN fails it (and then passes the
    exact mask check: it propagates), as may an infinity on the fast path.
    """
    if math.prod(x.shape) == 0:
        return True
    found = _fastpath.bounds(x)
    if found is not None:
        return found[0] >= low and found[1] <= high
    return bool(xp.min(x) >= low) and (high == math.inf or bool(xp.max(x) <= high))


def check_unit_interval(xp: Namespace, x: Array, what: str, hint: str = "") -> None:
    """Values in [0, 1] (NaN passes: it propagates instead of raising)."""

    def message() -> str:
        lo, hi = float(xp.min(x)), float(xp.max(x))
        return f"{what} must lie in [0, 1]{hint}; found values in [{lo:g}, {hi:g}]"

    require_values(xp, x, lambda: (x < 0) | (x > 1), message, within=(0.0, 1.0))


def check_nonnegative(xp: Namespace, x: Array, what: str) -> None:
    """Values >= 0 (NaN passes)."""
    require_values(
        xp,
        x,
        lambda: x < 0,
        lambda: f"{what} must be non-negative; found {float(xp.min(x)):g}",
        within=(0.0, math.inf),
    )


def to_float(xp: Namespace, x: Array, dtype: Any, what: str) -> Array:
    """``x`` (real floating, integer or bool) in ``dtype``; ``TypeError`` otherwise."""
    if not (is_floating(xp, x) or is_integral(xp, x)):
        raise TypeError(f"{what} must be a real numeric array; got dtype {x.dtype}")
    return x if x.dtype == dtype else xp.astype(x, dtype)


def check_same_shape(a: Array, b: Array, a_name: str = "y_true", b_name: str = "y_pred") -> None:
    if _shape(a) != _shape(b):
        raise ValueError(
            f"{a_name} has shape {_shape(a)} but {b_name} has shape {_shape(b)}; "
            "the shapes must match exactly (losskit never broadcasts them)"
        )


# --------------------------------------------------------------------------
# the base class
# --------------------------------------------------------------------------


class _Frozen(type):
    """Freezes every loss once its constructor has returned."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        obj = super().__call__(*args, **kwargs)
        object.__setattr__(obj, "_frozen", True)
        return obj


class LossFunction(metaclass=_Frozen):
    """Base class of every loss.

    A loss is immutable; its parameters are keyword-only and validated by its
    constructor. ``compute``, ``derivative`` and ``hessian`` take the truth
    first and the prediction second (the seed's and Keras' order).

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default "mean"
        ``"mean"``: the (weighted) average of the per-sample losses,
        ``sum(w * l) / sum(w)``; ``"sum"``: ``sum(w * l)``; ``"none"``: ``w * l``.
        ``derivative`` and ``hessian`` with ``"none"`` give the derivatives of
        the weighted sum.
    """

    #: Registry name of a built-in loss (None for a user's loss).
    name: ClassVar[str | None] = None
    #: Number of array inputs (2: ``y_true, y_pred``; 3 for triplet).
    _n_inputs: ClassVar[int] = 2
    #: Which input is differentiated and sets library, device and dtype.
    _ref: ClassVar[int] = 1

    def __init__(self, *, reduction: Reduction = "mean") -> None:
        self.reduction: Reduction = check_choice("reduction", reduction, _REDUCTIONS)

    # ---- immutability, parameters, representation ------------------------

    def __setattr__(self, key: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError(
                f"{type(self).__name__} is immutable; use .replace({key}=...) for a changed copy"
            )
        object.__setattr__(self, key, value)

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY]

    @property
    def params(self) -> dict[str, Any]:
        """The constructor's keyword arguments that rebuild this loss."""
        return {k: getattr(self, k) for k in self._param_names()}

    def replace(self, **changes: Any) -> LossFunction:
        """A new loss of the same class with some parameters changed."""
        return type(self)(**{**self.params, **changes})

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        shown = []
        for k, v in self.params.items():
            default = sig.parameters[k].default
            if v != default:
                shown.append(f"{k}={v!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.params == self.params  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(self.params.items()))))

    # ---- public API ---------------------------------------------------------

    def compute(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Array:
        """The loss: a 0-d array for ``"mean"`` and ``"sum"``, per-sample values for ``"none"``."""
        return self._run((y_true, y_pred), sample_weight, 0)[0]

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Array:
        return self.compute(y_true, y_pred, sample_weight)

    def derivative(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Array:
        """``d compute / d y_pred``, of ``y_pred``'s shape (of the weighted sum for ``"none"``)."""
        return self._run((y_true, y_pred), sample_weight, 1)[1]

    def hessian(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Array:
        """The diagonal of ``d² compute / d y_pred²``, of ``y_pred``'s shape."""
        return self._run((y_true, y_pred), sample_weight, 2)[2]

    def value_and_derivative(
        self, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> tuple[Array, Array]:
        """``(compute(...), derivative(...))`` from one evaluation."""
        value, grad, _ = self._run((y_true, y_pred), sample_weight, 1)
        return value, grad

    def derivative_and_hessian(
        self, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> tuple[Array, Array]:
        """``(derivative(...), hessian(...))`` from one evaluation (what boosting needs)."""
        _, grad, hess = self._run((y_true, y_pred), sample_weight, 2)
        return grad, hess

    # ---- loss algebra ---------------------------------------------------------

    def __add__(self, other: object) -> LossFunction:
        if not isinstance(other, LossFunction):
            return NotImplemented
        return CompositeLoss(_terms_of(self) + _terms_of(other))

    def __radd__(self, other: object) -> LossFunction:
        if isinstance(other, numbers.Number) and other == 0:  # so that sum([...]) works
            return self
        return NotImplemented

    def __mul__(self, factor: object) -> LossFunction:
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
            return NotImplemented
        c = check_real(
            "a loss's factor", factor, low=-math.inf, high=math.inf, low_open=True, high_open=True
        )
        return CompositeLoss(tuple((c * w, loss) for w, loss in _terms_of(self)))

    __rmul__ = __mul__

    def __truediv__(self, divisor: object) -> LossFunction:
        if isinstance(divisor, bool) or not isinstance(divisor, numbers.Real) or divisor == 0:
            return NotImplemented
        return self * (1.0 / float(divisor))

    def __neg__(self) -> LossFunction:
        return self * -1.0

    def __sub__(self, other: object) -> LossFunction:
        if not isinstance(other, LossFunction):
            return NotImplemented
        return self + (-other)

    # ---- the machinery --------------------------------------------------------

    def _run(self, inputs: tuple[Any, ...], sample_weight: Any, order: int) -> tuple[Any, Any, Any]:
        arrays = _as_arrays(inputs, self._ref)
        xp = namespace(*arrays)
        ref = arrays[self._ref]
        if not is_floating(xp, ref):
            what = "y_pred" if self._n_inputs == 2 else "the embeddings"
            raise TypeError(f"{what} must be a real floating-point array; got dtype {ref.dtype}")
        out_dtype = ref.dtype
        dtype = compute_dtype(xp, out_dtype)
        with fp_errors_ignored(xp):
            prepared = self._prepare(xp, arrays, dtype)
            sample_shape = self._sample_shape(prepared)
            n = math.prod(sample_shape)
            if self.reduction == "mean" and n == 0:
                raise ValueError(
                    f"cannot take the mean over an empty batch (input of shape {_shape(ref)}); "
                    "use reduction='sum' or 'none'"
                )
            weights = _sample_weights(xp, sample_weight, sample_shape, dtype, ref)
            fast = None
            if is_numpy(xp):
                fast = _fastpath.run(self, prepared, weights, order)
            elif is_torch(xp):
                fast = _fastpath.run_on_tensors(self, prepared, weights, order)
            if fast is not None:  # computed in ``dtype``: return the input's dtype
                return tuple(_cast(xp, r, out_dtype) for r in fast)
            terms = self._terms(xp, *prepared, order=order)
            return _reduce(xp, terms, weights, sample_shape, n, self.reduction, order, out_dtype)

    def _prepare(self, xp: Namespace, arrays: tuple[Array, ...], dtype: Any) -> tuple[Array, ...]:
        """Validate the inputs and cast them to the compute ``dtype``."""
        raise NotImplementedError

    def _sample_shape(self, arrays: tuple[Array, ...]) -> tuple[int, ...]:
        """The per-sample shape: always a leading part of the differentiated input's shape."""
        raise NotImplementedError

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        """Per-sample value and, for ``order >= 1, 2``, derivative and Hessian diagonal."""
        raise NotImplementedError

    def _sample(self, rng: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
        """NumPy float64 inputs from this loss's domain, away from its kinks (for checks)."""
        raise NotImplementedError(f"{type(self).__name__} has no input sampler")


def _as_arrays(inputs: tuple[Any, ...], ref: int) -> tuple[Array, ...]:
    """Every input as an array of the reference input's library and device."""
    main = as_array(inputs[ref])
    return tuple(main if i == ref else as_array(x, like=main) for i, x in enumerate(inputs))


def _sample_weights(
    xp: Namespace, sample_weight: Any, sample_shape: tuple[int, ...], dtype: Any, ref: Array
) -> Array | None:
    """``sample_weight`` broadcast to ``sample_shape``, its axes aligned with the leading axes."""
    if sample_weight is None:
        return None
    w = as_array(sample_weight, like=ref)
    w = to_float(xp, w, dtype, "sample_weight")
    shape = _shape(w)
    k = len(sample_shape)
    fits = len(shape) <= k and all(
        s in (1, t) for s, t in zip(shape, sample_shape[: len(shape)], strict=True)
    )
    if not fits:
        raise ValueError(
            f"sample_weight has shape {shape}, which does not fit the per-sample shape "
            f"{sample_shape} of this loss: give a scalar, one weight per sample, or weights "
            "aligned with the leading axes (one per row)"
        )
    w = xp.reshape(w, shape + (1,) * (k - len(shape)))
    return xp.broadcast_to(w, sample_shape)


def _expand(xp: Namespace, scale: Any, ndim: int) -> Any:
    """Per-sample ``scale`` with trailing unit axes, to multiply a full-shape array."""
    if not hasattr(scale, "shape"):
        return scale
    extra = ndim - scale.ndim
    return xp.reshape(scale, _shape(scale) + (1,) * extra) if extra else scale


def _scaled(xp: Namespace, deriv: Any, scale: Any) -> Any:
    if deriv is None:
        return None
    if isinstance(deriv, tuple):
        return tuple(_scaled(xp, d, scale) for d in deriv)
    return deriv if scale is None else deriv * _expand(xp, scale, deriv.ndim)


def _cast(xp: Namespace, x: Any, dtype: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, tuple):
        return tuple(_cast(xp, d, dtype) for d in x)
    if is_numpy(xp):  # NumPy reductions give scalars (np.float64): make them 0-d arrays
        x = xp.asarray(x)
    # Other libraries' arrays pass through: ``asarray`` on a torch tensor that
    # requires grad warns (torch 2.13).
    return x if x.dtype == dtype else xp.astype(x, dtype)


def _reduce(
    xp: Namespace,
    terms: Terms,
    w: Array | None,
    sample_shape: tuple[int, ...],
    n: int,
    reduction: str,
    order: int,
    out_dtype: Any,
) -> tuple[Any, Any, Any]:
    value = terms.value
    weighted = value if w is None else w * value
    scale: Any
    if reduction == "none":
        result, scale = weighted, w
    elif reduction == "sum":
        result, scale = xp.sum(weighted), w
    else:
        if terms.norm is None and w is None:
            result, scale = xp.sum(weighted) / n, 1.0 / n
        else:
            share = terms.norm if w is None else (w if terms.norm is None else w * terms.norm)
            if share is None:  # pragma: no cover - excluded by the branch above
                raise AssertionError
            denom = xp.sum(share)
            # 0/0 (every sample ignored or weighted 0) is defined as loss 0, gradient 0.
            safe = xp.where(denom == 0, xp.ones_like(denom), denom)
            result = xp.sum(weighted) / safe
            scale = (1.0 if w is None else w) / safe
    grad = _scaled(xp, terms.grad, scale) if order >= 1 else None
    hess = _scaled(xp, terms.hess, scale) if order >= 2 else None
    return _cast(xp, result, out_dtype), _cast(xp, grad, out_dtype), _cast(xp, hess, out_dtype)


# --------------------------------------------------------------------------
# families: element-wise and row-wise (class axis)
# --------------------------------------------------------------------------


class _PerSampleLoss(LossFunction):
    """The hooks a user's loss implements: per-sample value, derivative, Hessian.

    "Per sample" is per element for :class:`ElementwiseLoss` and per row for
    :class:`RowwiseLoss`; derivatives have ``y_pred``'s shape.
    """

    def _check_values(self, xp: Namespace, y_true: Array, y_pred: Array) -> None:
        """Domain checks on values (override); run only where the validation mode allows."""

    def _terms(self, xp: Namespace, *arrays: Array, order: int) -> Terms:
        y_true, y_pred = arrays
        value = self.per_sample(y_true, y_pred)
        grad = self.per_sample_derivative(y_true, y_pred) if order >= 1 else None
        hess = self.per_sample_hessian(y_true, y_pred) if order >= 2 else None
        return Terms(value, grad, hess)

    def per_sample(self, y_true: Array, y_pred: Array) -> Array:
        """The loss of each sample (implement in a subclass)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement per_sample")

    def per_sample_derivative(self, y_true: Array, y_pred: Array) -> Array:
        """``d per_sample / d y_pred``, of ``y_pred``'s shape (implement in a subclass)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement per_sample_derivative")

    def per_sample_hessian(self, y_true: Array, y_pred: Array) -> Array:
        """The diagonal of ``d² per_sample / d y_pred²`` (optional in a subclass)."""
        raise NotImplementedError(f"the Hessian of {type(self).__name__} is not implemented")


class ElementwiseLoss(_PerSampleLoss):
    """A loss with one term per element of ``y_pred``.

    Subclass it for your own loss: implement ``per_sample(y_true, y_pred)`` and
    ``per_sample_derivative(y_true, y_pred)`` (and ``per_sample_hessian`` for
    the Hessian) with array-API operations; reductions, sample weights,
    validation and dtype handling come from here, and
    :func:`losskit.check_gradients` checks your derivative.

    Examples
    --------
    >>> import losskit
    >>> class Cubic(losskit.ElementwiseLoss):
    ...     def per_sample(self, y_true, y_pred):
    ...         return abs(y_pred - y_true) ** 3
    ...     def per_sample_derivative(self, y_true, y_pred):
    ...         r = y_pred - y_true
    ...         return 3 * r * abs(r)
    >>> float(Cubic().compute([0.0, 0.0], [1.0, 2.0]))
    4.5
    """

    def _prepare(self, xp: Namespace, arrays: tuple[Array, ...], dtype: Any) -> tuple[Array, ...]:
        y_true, y_pred = arrays
        check_same_shape(y_true, y_pred)
        y_true = to_float(xp, y_true, dtype, "y_true")
        y_pred = to_float(xp, y_pred, dtype, "y_pred")
        self._check_values(xp, y_true, y_pred)
        return y_true, y_pred

    def _sample_shape(self, arrays: tuple[Array, ...]) -> tuple[int, ...]:
        return _shape(arrays[1])

    def _sample(self, rng: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
        return rng.normal(size=shape), rng.normal(size=shape)


class RowwiseLoss(_PerSampleLoss):
    """A loss with one term per row: the last axis of ``y_pred`` holds the classes.

    ``y_true`` has ``y_pred``'s shape (probability or one-hot targets), or,
    for a subclass that sets ``_labels = True``, ``y_pred``'s shape without
    the class axis (integer class labels). A 1-d ``y_pred`` is one sample.
    For your own loss implement ``per_sample`` (one value per row) and
    ``per_sample_derivative`` (``y_pred``'s shape).
    """

    #: Integer class labels instead of probability targets.
    _labels: ClassVar[bool] = False
    #: Smallest number of classes that makes sense (2 for a softmax).
    _min_classes: ClassVar[int] = 1
    #: Label value excluded from the loss (``ignore_index``), if the loss has one.
    ignore_index: int | None = None

    def _prepare(self, xp: Namespace, arrays: tuple[Array, ...], dtype: Any) -> tuple[Array, ...]:
        y_true, y_pred = arrays
        if y_pred.ndim < 1:
            raise ValueError(
                "y_pred must have at least one axis, the class axis (last); "
                f"got shape {_shape(y_pred)}"
            )
        n_classes = y_pred.shape[-1]
        if n_classes < self._min_classes:
            raise ValueError(
                f"{type(self).__name__} needs at least {self._min_classes} classes on the last "
                f"axis of y_pred; got shape {_shape(y_pred)}"
                + (
                    " (use binary_cross_entropy for one logit per sample)"
                    if self._min_classes == 2
                    else ""
                )
            )
        y_pred = to_float(xp, y_pred, dtype, "y_pred")
        if self._labels:
            y_true = self._check_labels(xp, y_true, y_pred)
        else:
            check_same_shape(y_true, y_pred)
            y_true = to_float(xp, y_true, dtype, "y_true")
        self._check_values(xp, y_true, y_pred)
        return y_true, y_pred

    def _check_labels(self, xp: Namespace, labels: Array, y_pred: Array) -> Array:
        expected = _shape(y_pred)[:-1]
        if _shape(labels) != expected:
            raise ValueError(
                f"labels have shape {_shape(labels)} but y_pred has shape {_shape(y_pred)}; "
                f"class labels must have y_pred's shape without its last (class) axis, {expected}"
            )
        if not xp.isdtype(labels.dtype, "integral"):
            raise TypeError(
                f"class labels must be an integer array; got dtype {labels.dtype} "
                "(use categorical_cross_entropy for probability targets)"
            )
        n_classes = y_pred.shape[-1]

        def bad() -> Array:
            out = (labels < 0) | (labels >= n_classes)
            return out if self.ignore_index is None else out & (labels != self.ignore_index)

        def message() -> str:
            extra = (
                f" or equal ignore_index={self.ignore_index}"
                if self.ignore_index is not None
                else ""
            )
            found = int(first_where(xp, bad(), labels))
            return f"class labels must lie in [0, {n_classes}){extra}; found {found}"

        require_values(xp, labels, bad, message, within=(0, n_classes - 1))
        return labels

    def _sample_shape(self, arrays: tuple[Array, ...]) -> tuple[int, ...]:
        return _shape(arrays[1])[:-1]


# --------------------------------------------------------------------------
# loss algebra
# --------------------------------------------------------------------------


def _terms_of(loss: LossFunction) -> tuple[tuple[float, LossFunction], ...]:
    if isinstance(loss, CompositeLoss):
        return loss.terms
    return ((1.0, loss),)


class CompositeLoss(LossFunction):
    r"""A weighted sum of losses: ``sum_i c_i * loss_i``.

    Built by the loss algebra (``0.5 * MeanSquaredError() + 0.5 * MeanAbsoluteError()``,
    the seed's ``CustomRegressionLoss``). ``compute``, ``derivative`` and
    ``hessian`` are the same weighted sums of the terms' results; every term
    keeps its own reduction, which must be the same for all.

    Parameters
    ----------
    terms : sequence of (float, LossFunction)
        The coefficients and losses.
    """

    def __init__(self, terms: Sequence[tuple[float, LossFunction]]) -> None:
        items = tuple((float(c), loss) for c, loss in terms)
        if not items:
            raise ValueError("terms must hold at least one (coefficient, loss) pair")
        for _, loss in items:
            if not isinstance(loss, LossFunction):
                raise ValueError(f"terms must hold losses; got {loss!r}")
        reductions = {loss.reduction for _, loss in items}
        if len(reductions) > 1:
            raise ValueError(
                f"the terms of a composite loss must share one reduction; got {sorted(reductions)}"
            )
        inputs = {loss._n_inputs for _, loss in items}
        if len(inputs) > 1:
            raise ValueError("the terms of a composite loss must take the same inputs")
        self.terms = items
        object.__setattr__(self, "_n_inputs", inputs.pop())
        object.__setattr__(self, "_ref", items[0][1]._ref)
        super().__init__(reduction=reductions.pop())

    @property
    def params(self) -> dict[str, Any]:
        return {"terms": self.terms}

    def replace(self, **changes: Any) -> LossFunction:
        if "reduction" in changes:
            r = changes.pop("reduction")
            terms = tuple((c, loss.replace(reduction=r)) for c, loss in self.terms)
            return CompositeLoss(terms).replace(**changes) if changes else CompositeLoss(terms)
        if set(changes) - {"terms"}:
            raise ValueError(f"CompositeLoss has no parameters {sorted(set(changes) - {'terms'})}")
        return CompositeLoss(changes.get("terms", self.terms))

    def __repr__(self) -> str:
        return " + ".join(f"{c:g} * {loss!r}" for c, loss in self.terms)

    def _sample(self, rng: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
        """Inputs from the first term's domain (the terms share their inputs)."""
        return self.terms[0][1]._sample(rng, shape)

    # The public methods take the terms' inputs: (y_true, y_pred), or the three
    # embeddings of a triplet loss; sample_weight may follow them positionally.

    def _split(self, inputs: tuple[Any, ...], sample_weight: Any) -> tuple[tuple[Any, ...], Any]:
        n = self._n_inputs
        if len(inputs) == n + 1 and sample_weight is None:
            return inputs[:n], inputs[n]
        if len(inputs) != n:
            raise TypeError(f"this composite loss takes {n} input arrays; got {len(inputs)}")
        return inputs, sample_weight

    def compute(self, *inputs: Any, sample_weight: Any = None) -> Array:  # type: ignore[override]
        return self._run(*self._split(inputs, sample_weight), 0)[0]

    def __call__(self, *inputs: Any, sample_weight: Any = None) -> Array:  # type: ignore[override]
        return self.compute(*inputs, sample_weight=sample_weight)

    def derivative(self, *inputs: Any, sample_weight: Any = None) -> Any:  # type: ignore[override]
        return self._run(*self._split(inputs, sample_weight), 1)[1]

    def hessian(self, *inputs: Any, sample_weight: Any = None) -> Any:  # type: ignore[override]
        return self._run(*self._split(inputs, sample_weight), 2)[2]

    def value_and_derivative(self, *inputs: Any, sample_weight: Any = None) -> Any:  # type: ignore[override]
        value, grad, _ = self._run(*self._split(inputs, sample_weight), 1)
        return value, grad

    def derivative_and_hessian(self, *inputs: Any, sample_weight: Any = None) -> Any:  # type: ignore[override]
        _, grad, hess = self._run(*self._split(inputs, sample_weight), 2)
        return grad, hess

    def __hash__(self) -> int:
        return hash((CompositeLoss, self.terms))

    def _run(self, inputs: tuple[Any, ...], sample_weight: Any, order: int) -> tuple[Any, Any, Any]:
        total: list[Any] = [None, None, None]
        for c, loss in self.terms:
            parts = loss._run(inputs, sample_weight, order)
            for k in range(order + 1):
                part = _mul(parts[k], c)
                total[k] = part if total[k] is None else _add(total[k], part)
        return total[0], total[1], total[2]


def _mul(x: Any, c: float) -> Any:
    return tuple(_mul(d, c) for d in x) if isinstance(x, tuple) else x * c


def _add(x: Any, y: Any) -> Any:
    return tuple(_add(a, b) for a, b in zip(x, y, strict=True)) if isinstance(x, tuple) else x + y
