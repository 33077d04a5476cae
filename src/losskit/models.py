"""Models trained with a losskit loss through the loss's own derivatives.

Every model here follows one protocol, which ``losskit compare --model`` relies
on (the gradient-boosting model of :mod:`losskit.integrations` follows it too):

``Model(loss, **options)``
    ``loss`` is any :class:`~losskit.LossFunction`; options are keyword-only.
``fit(X, y, sample_weight=None) -> self``
    ``X`` is an ``(n, d)`` real array; ``y`` is given in the form the loss's
    ``y_true`` takes: real targets ``(n,)`` for regression, labels ``(n,)``
    for binary losses (``{0, 1}``, or ``{-1, 1}`` for hinge losses), integer
    class labels ``(n,)`` for row-wise losses with labels
    (``sparse_categorical_cross_entropy``, ``multiclass_hinge``) and target
    rows ``(n, C)`` for row-wise losses with probability targets
    (``categorical_cross_entropy``, ``categorical_focal``, ``kl_divergence``).
    ``sample_weight`` is passed on to the loss.
``decision_function(X)``
    The raw outputs in the space the loss's ``y_pred`` expects: ``(n,)`` for
    element-wise losses, ``(n, C)`` for row-wise losses; logits when the loss
    has ``from_logits=True``, probabilities when it takes probabilities.
``history``
    The training curve: the objective after each iteration (a list of floats,
    starting with the objective at the initial parameters).

The number of outputs ``C`` of a row-wise loss with integer labels is the
``n_classes`` option, or ``max(y) + 1`` when it is not given (see
:func:`output_width`).

The models minimise the mean loss (the loss's own ``reduction`` is replaced
by ``"mean"``) plus ``alpha / 2`` times the squared norm of the weights (not
of the intercepts). Features are standardised with the training set's mean
and standard deviation. A loss that takes probabilities gets the model's
outputs through a link: a sigmoid for an element-wise loss and a softmax for a
row-wise one (``link="auto"`` picks it from the loss's ``from_logits``); the
chain rule carries the loss's derivative through it, so
``decision_function`` returns probabilities for such a loss. Prefer logit
losses for training: they are exact where probabilities saturate.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal, Protocol

import numpy as np

from ._base import CompositeLoss, LossFunction, RowwiseLoss, check_choice, check_real
from ._numerics import sigmoid, softmax

__all__ = ["LinearModel", "MLPModel", "Model", "output_width"]

Link = Literal["auto", "identity", "sigmoid", "softmax"]
Activation = Literal["tanh", "relu"]
Solver = Literal["adam", "lbfgs"]


class Model(Protocol):
    """The protocol every model of ``losskit compare`` follows (see the module docstring)."""

    history: list[float]

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Model: ...

    def decision_function(self, X: Any) -> np.ndarray: ...


def _leading_loss(loss: LossFunction) -> LossFunction:
    """The first term of a composite loss (terms share their inputs), else the loss itself."""
    while isinstance(loss, CompositeLoss):
        loss = loss.terms[0][1]
    return loss


def output_width(loss: LossFunction, y: np.ndarray, n_classes: int | None = None) -> int | None:
    """How many outputs per sample a model needs for ``loss`` and targets ``y``.

    None for an element-wise loss (one output per sample, shape ``(n,)``);
    ``C`` for a row-wise loss: the width of 2-d targets, else ``n_classes``,
    else ``max(y) + 1`` for integer labels.
    """
    if not isinstance(_leading_loss(loss), RowwiseLoss):
        if y.ndim != 1:
            raise ValueError(f"an element-wise loss needs 1-d targets; got shape {y.shape}")
        return None
    if y.ndim == 2:
        return int(y.shape[1])
    if y.ndim != 1:
        raise ValueError(f"targets of a row-wise loss must be 1-d or 2-d; got shape {y.shape}")
    if n_classes is not None:
        return n_classes
    if y.size == 0 or y.dtype.kind not in "iu":
        raise ValueError("integer class labels are needed to infer the number of classes")
    return int(y.max()) + 1


def _resolve_link(link: str, loss: LossFunction, width: int | None) -> str:
    if link != "auto":
        return link
    if getattr(_leading_loss(loss), "from_logits", True) is False:
        return "sigmoid" if width is None else "softmax"
    return "identity"


def _apply_link(link: str, z: np.ndarray) -> np.ndarray:
    if link == "sigmoid":
        return sigmoid(z)
    if link == "softmax":
        return softmax(z, axis=-1)
    return z


def _link_backward(link: str, out: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``dL/dz`` from ``g = dL/d out`` where ``out = link(z)``."""
    if link == "sigmoid":
        return g * out * (1.0 - out)
    if link == "softmax":
        return out * (g - np.sum(g * out, axis=-1, keepdims=True))
    return g


def _activate(kind: str, a: np.ndarray) -> np.ndarray:
    return np.tanh(a) if kind == "tanh" else np.maximum(a, 0.0)


def _activation_grad(kind: str, h: np.ndarray) -> np.ndarray:
    """The activation's derivative, from its output ``h``."""
    return 1.0 - h * h if kind == "tanh" else (h > 0.0).astype(h.dtype)


class _NetworkModel:
    """A fully connected network (no hidden layer: a linear model) fitted with a losskit loss."""

    def __init__(
        self,
        loss: LossFunction,
        *,
        hidden: tuple[int, ...],
        activation: Activation,
        solver: Solver,
        alpha: float,
        max_iter: int,
        tol: float,
        learning_rate: float,
        batch_size: int,
        validation_fraction: float,
        seed: int,
        standardize: bool,
        n_classes: int | None,
        link: Link,
    ) -> None:
        if not isinstance(loss, LossFunction):
            raise TypeError(f"loss must be a losskit LossFunction; got {type(loss).__name__}")
        self.loss = loss.replace(reduction="mean")
        self.hidden = hidden
        self.activation = check_choice("activation", activation, ("tanh", "relu"))
        self.solver = check_choice("solver", solver, ("adam", "lbfgs"))
        self.alpha = check_real("alpha", alpha, low=0.0, high=math.inf, high_open=True)
        self.max_iter = _check_count("max_iter", max_iter)
        self.tol = check_real("tol", tol, low=0.0)
        self.learning_rate = check_real("learning_rate", learning_rate, low=0.0, low_open=True)
        self.batch_size = _check_count("batch_size", batch_size)
        self.validation_fraction = check_real(
            "validation_fraction", validation_fraction, low=0.0, high=1.0, high_open=True
        )
        self.seed = seed
        self.standardize = standardize
        self.n_classes = None if n_classes is None else _check_count("n_classes", n_classes)
        self.link = check_choice("link", link, ("auto", "identity", "sigmoid", "softmax"))
        self.history: list[float] = []

    # ---- the network -------------------------------------------------------

    def _init_layers(self, n_in: int, n_out: int) -> list[tuple[np.ndarray, np.ndarray]]:
        rng = np.random.default_rng(self.seed)
        sizes = [n_in, *self.hidden, n_out]
        layers = []
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            if i == len(sizes) - 2:
                w = np.zeros((a, b))  # the output layer starts at 0: a linear model's usual start
            else:
                limit = math.sqrt(6.0 / (a + b))  # Glorot & Bengio (2010)
                w = rng.uniform(-limit, limit, size=(a, b))
            layers.append((w, np.zeros(b)))
        return layers

    def _forward(
        self, layers: list[tuple[np.ndarray, np.ndarray]], Z: np.ndarray
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """The network's raw output ``(n, k)`` and the input of every layer."""
        inputs = [Z]
        h = Z
        for i, (w, b) in enumerate(layers):
            h = h @ w + b
            if i < len(layers) - 1:
                h = _activate(self.activation, h)
                inputs.append(h)
        return h, inputs

    def _output(self, raw: np.ndarray) -> np.ndarray:
        out = _apply_link(self._link, raw)
        return out[:, 0] if self._width is None else out

    def _penalty(self, layers: list[tuple[np.ndarray, np.ndarray]]) -> float:
        return 0.5 * self.alpha * sum(float(np.sum(wt * wt)) for wt, _ in layers)

    def _value(
        self,
        layers: list[tuple[np.ndarray, np.ndarray]],
        Z: np.ndarray,
        y: np.ndarray,
        w: np.ndarray | None,
    ) -> float:
        """The objective: the mean loss plus the L2 penalty."""
        out = self._output(self._forward(layers, Z)[0])
        return float(self.loss.compute(y, out, w)) + self._penalty(layers)

    def _value_and_grad(
        self,
        layers: list[tuple[np.ndarray, np.ndarray]],
        Z: np.ndarray,
        y: np.ndarray,
        w: np.ndarray | None,
    ) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]]:
        """The objective and its gradient per layer, by backpropagation of the loss's derivative."""
        raw, inputs = self._forward(layers, Z)
        out = self._output(raw)
        value, g = self.loss.value_and_derivative(y, out, w)
        g = np.asarray(g).reshape(raw.shape)
        delta = _link_backward(self._link, out.reshape(raw.shape), g)
        grads: list[tuple[np.ndarray, np.ndarray]] = []
        for i in range(len(layers) - 1, -1, -1):
            wt, _ = layers[i]
            grads.append((inputs[i].T @ delta + self.alpha * wt, delta.sum(axis=0)))
            if i > 0:
                delta = (delta @ wt.T) * _activation_grad(self.activation, inputs[i])
        grads.reverse()
        return float(value) + self._penalty(layers), grads

    # ---- the protocol --------------------------------------------------------

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _NetworkModel:
        """Fit the network to ``(X, y)``; see the module docstring for the forms of ``y``."""
        X, y, w = _fit_inputs(X, y, sample_weight)
        self._width = output_width(self.loss, y, self.n_classes)
        self._link = _resolve_link(self.link, self.loss, self._width)
        self._mean = X.mean(axis=0) if self.standardize else np.zeros(X.shape[1])
        std = X.std(axis=0) if self.standardize else np.ones(X.shape[1])
        self._scale = np.where(std > 0.0, std, 1.0)
        Z = (X - self._mean) / self._scale
        layers = self._init_layers(X.shape[1], self._width or 1)
        self.history = []
        if self.solver == "lbfgs":
            self.layers_ = self._fit_lbfgs(layers, Z, y, w)
        else:
            self.layers_ = self._fit_adam(layers, Z, y, w)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """The outputs in the loss's ``y_pred`` space: ``(n,)`` or ``(n, C)``."""
        if not hasattr(self, "layers_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet; call fit first")
        Z = (_as_matrix(X) - self._mean) / self._scale
        return self._output(self._forward(self.layers_, Z)[0])

    # ---- solvers ---------------------------------------------------------------

    def _fit_lbfgs(
        self,
        layers: list[tuple[np.ndarray, np.ndarray]],
        Z: np.ndarray,
        y: np.ndarray,
        w: np.ndarray | None,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        shapes = [(wt.shape, b.shape) for wt, b in layers]
        last: dict[str, Any] = {}

        def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
            value, grads = self._value_and_grad(_unflatten(theta, shapes), Z, y, w)
            last["theta"], last["value"] = theta.copy(), value
            return value, _flatten(grads)

        def record(theta: np.ndarray) -> None:
            # L-BFGS-B's last evaluation is at the accepted iterate; evaluate only if not.
            if "theta" in last and np.array_equal(theta, last["theta"]):
                self.history.append(last["value"])
            else:
                self.history.append(self._value(_unflatten(theta, shapes), Z, y, w))

        from scipy.optimize import minimize  # here: ~0.1 s to import, unused by most commands

        theta0 = _flatten(layers)
        record(theta0)
        result = minimize(
            fun,
            theta0,
            jac=True,
            method="L-BFGS-B",
            callback=record,
            options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 64 * np.finfo(float).eps},
        )
        self.n_iter_ = int(result.nit)
        self.converged_ = bool(result.success)
        return _unflatten(result.x, shapes)

    def _fit_adam(
        self,
        layers: list[tuple[np.ndarray, np.ndarray]],
        Z: np.ndarray,
        y: np.ndarray,
        w: np.ndarray | None,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Mini-batch Adam (Kingma & Ba, 2015) with early stopping; keeps the best epoch.

        A share ``validation_fraction`` of the rows is held out and its mean
        loss watched (without it, the training objective is); training stops
        after 10 epochs that improve it by less than ``tol`` times its size.
        """
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(Z.shape[0])
        n_val = int(self.validation_fraction * Z.shape[0])
        val, fit = order[:n_val], order[n_val:]

        def rows(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
            return Z[idx], y[idx], None if w is None else w[idx]

        def watched() -> float:
            if not n_val:
                return self.history[-1]
            Zv, yv, wv = rows(val)
            return float(self.loss.compute(yv, self._output(self._forward(layers, Zv)[0]), wv))

        params = [p for layer in layers for p in layer]
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        step, stale = 0, 0
        self.history.append(self._value(layers, *rows(fit)))
        best, kept = watched(), [p.copy() for p in params]
        for _ in range(self.max_iter):
            batches = rng.permutation(fit)
            for start in range(0, len(batches), self.batch_size):
                _, grads = self._value_and_grad(
                    layers, *rows(batches[start : start + self.batch_size])
                )
                step += 1
                flat = [g for layer in grads for g in layer]
                for p, g, mi, vi in zip(params, flat, m, v, strict=True):
                    mi *= beta1
                    mi += (1 - beta1) * g
                    vi *= beta2
                    vi += (1 - beta2) * g * g
                    m_hat = mi / (1 - beta1**step)
                    v_hat = vi / (1 - beta2**step)
                    p -= self.learning_rate * m_hat / (np.sqrt(v_hat) + eps)
            self.history.append(self._value(layers, *rows(fit)))
            score = watched()
            if score < best - self.tol * max(1.0, abs(best)):
                best, stale, kept = score, 0, [p.copy() for p in params]
            else:
                stale += 1
                if stale >= 10:
                    break
        for p, k in zip(params, kept, strict=True):
            p[...] = k
        self.n_iter_ = len(self.history) - 1
        self.converged_ = stale >= 10
        return layers


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def _as_matrix(X: Any) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-d array (samples, features); got shape {X.shape}")
    return X


def _fit_inputs(X: Any, y: Any, sample_weight: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """``(X, y, w)`` for ``fit``: a float64 matrix, targets with as many rows (float64
    when floating, labels as given) and float64 weights or None."""
    X = _as_matrix(X)
    y = np.asarray(y)
    if y.shape[:1] != X.shape[:1]:
        raise ValueError(f"X has {X.shape[0]} rows but y has shape {y.shape}")
    if X.shape[0] == 0:
        raise ValueError("cannot fit a model to 0 samples")
    if y.dtype.kind == "f":
        y = y.astype(np.float64, copy=False)
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    return X, y, w


def _flatten(layers: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    return np.concatenate([p.ravel() for layer in layers for p in layer])


def _unflatten(
    theta: np.ndarray, shapes: list[tuple[tuple[int, ...], tuple[int, ...]]]
) -> list[tuple[np.ndarray, np.ndarray]]:
    layers, pos = [], 0
    for w_shape, b_shape in shapes:
        sizes = (math.prod(w_shape), math.prod(b_shape))
        wt = theta[pos : pos + sizes[0]].reshape(w_shape)
        b = theta[pos + sizes[0] : pos + sizes[0] + sizes[1]].reshape(b_shape)
        layers.append((wt, b))
        pos += sizes[0] + sizes[1]
    return layers


class LinearModel(_NetworkModel):
    """A linear model ``X W + b`` fitted by L-BFGS-B with a losskit loss's value and gradient.

    Minimises ``loss.compute(y, link(Z W + b)) + alpha/2 ‖W‖²`` over ``W, b``
    with ``scipy.optimize.minimize(method="L-BFGS-B", jac=True)``; the gradient
    is ``Zᵀ g + alpha W`` and ``Σ g`` with ``g`` the loss's derivative (through
    the link), ``Z`` the standardised features. With a convex loss there is
    one optimum, so differences between losses are the losses', not the
    optimiser's.

    Parameters
    ----------
    loss : LossFunction
    alpha : float, default 1e-3
        L2 penalty on the weights (``0`` for none).
    max_iter : int, default 500
        L-BFGS-B iterations.
    tol : float, default 1e-6
        Stop when the largest gradient entry is below ``tol`` (``gtol``).
    standardize : bool, default True
        Standardise the features with the training mean and standard deviation.
    n_classes : int, optional
        Number of outputs of a row-wise loss with integer labels.
    link : {"auto", "identity", "sigmoid", "softmax"}, default "auto"
        Map from the linear output to the loss's ``y_pred`` (see the module).

    Attributes
    ----------
    history : list of float
        The objective at the start and after each L-BFGS-B iteration.
    n_iter_ : int
    converged_ : bool
        Whether L-BFGS-B reported success.

    Examples
    --------
    >>> import numpy as np, losskit
    >>> from losskit.models import LinearModel
    >>> X = np.arange(8.0).reshape(4, 2); y = X @ [1.0, -1.0] + 0.5
    >>> model = LinearModel(losskit.MeanSquaredError(), alpha=0.0).fit(X, y)
    >>> bool(np.allclose(model.decision_function(X), y, atol=1e-5))
    True
    """

    def __init__(
        self,
        loss: LossFunction,
        *,
        alpha: float = 1e-3,
        max_iter: int = 500,
        tol: float = 1e-6,
        standardize: bool = True,
        n_classes: int | None = None,
        link: Link = "auto",
    ) -> None:
        super().__init__(
            loss,
            hidden=(),
            activation="tanh",
            solver="lbfgs",
            alpha=alpha,
            max_iter=max_iter,
            tol=tol,
            learning_rate=1.0,
            batch_size=1,
            validation_fraction=0.0,
            seed=0,
            standardize=standardize,
            n_classes=n_classes,
            link=link,
        )

    def __repr__(self) -> str:
        return f"LinearModel({self.loss!r}, alpha={self.alpha:g})"


class MLPModel(_NetworkModel):
    """A network with one hidden layer, trained by backpropagating a losskit loss's derivative.

    ``out = link(act(Z W₁ + b₁) W₂ + b₂)``; the loss's ``derivative`` with
    respect to ``out`` is carried back through the link, the output layer
    and the activation by the chain rule. Hidden weights start from a Glorot
    uniform draw with ``seed``, the output layer from zero, so a fit is
    reproducible.

    Parameters
    ----------
    loss : LossFunction
    hidden : int, default 32
        Width of the hidden layer.
    activation : {"tanh", "relu"}, default "tanh"
    solver : {"adam", "lbfgs"}, default "adam"
        Mini-batch Adam, or full-batch L-BFGS-B.
    alpha : float, default 1e-4
        L2 penalty on the weights.
    max_iter : int, default 200
        Epochs (Adam) or iterations (L-BFGS-B).
    tol : float, default 1e-6
        Adam stops after 10 epochs that improve the watched loss by less than
        ``tol`` times its size, and keeps the best epoch's weights; L-BFGS-B
        uses it as ``gtol``.
    learning_rate : float, default 0.01
        Adam's step size.
    batch_size : int, default 64
    validation_fraction : float, default 0.1
        Share of the rows Adam holds out to watch for early stopping (their
        mean loss); 0 watches the training objective instead.
    seed : int, default 0
        Seeds the initial weights, the held-out rows and the mini-batches.
    standardize, n_classes, link
        As for :class:`LinearModel`.

    Attributes
    ----------
    history : list of float
        The objective on the rows trained on, at the start and after each
        epoch (Adam) or iteration (L-BFGS-B).
    n_iter_ : int
    converged_ : bool
    """

    def __init__(
        self,
        loss: LossFunction,
        *,
        hidden: int = 32,
        activation: Activation = "tanh",
        solver: Solver = "adam",
        alpha: float = 1e-4,
        max_iter: int = 200,
        tol: float = 1e-6,
        learning_rate: float = 0.01,
        batch_size: int = 64,
        validation_fraction: float = 0.1,
        seed: int = 0,
        standardize: bool = True,
        n_classes: int | None = None,
        link: Link = "auto",
    ) -> None:
        super().__init__(
            loss,
            hidden=(_check_count("hidden", hidden),),
            activation=activation,
            solver=solver,
            alpha=alpha,
            max_iter=max_iter,
            tol=tol,
            learning_rate=learning_rate,
            batch_size=batch_size,
            validation_fraction=validation_fraction,
            seed=seed,
            standardize=standardize,
            n_classes=n_classes,
            link=link,
        )

    def __repr__(self) -> str:
        return f"MLPModel({self.loss!r}, hidden={self.hidden[0]}, solver={self.solver!r})"
