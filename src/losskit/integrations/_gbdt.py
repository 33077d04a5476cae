"""``GBDTModel``: boosted trees trained with a losskit loss (``losskit compare --model gbdt``)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from .._base import LossFunction, check_choice, check_real
from .._numerics import sigmoid, softmax
from ..models import _as_matrix, _check_count, _fit_inputs, output_width
from ._common import (
    HESSIAN_FLOOR,
    HessianPolicy,
    check_floor,
    check_hessian,
    gradient_hessian,
    initial_score,
    margin_loss,
    takes_probabilities,
)

__all__ = ["GBDTModel"]

Library = Literal["lightgbm", "xgboost"]
GradHess = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class GBDTModel:
    """Gradient-boosted trees (LightGBM or XGBoost) fitted with a losskit loss's derivatives.

    The booster gets the loss's per-sample gradient and Hessian with respect
    to its raw output (:mod:`losskit.integrations`, Hessian policy
    ``hessian``), computed in float64 from the targets as given (not rounded
    to the library's float32 labels). It follows the protocol of
    :mod:`losskit.models` (``fit``, ``decision_function``, ``history``).

    Parameters
    ----------
    loss : LossFunction
        A loss of ``(y_true, y_pred)``. A loss with ``from_logits`` is
        trained on logits; ``decision_function`` returns probabilities when
        the loss takes them (``from_logits=False``) and logits otherwise.
    library : {"lightgbm", "xgboost"}, default "lightgbm"
    n_estimators : int, default 100
        Boosting rounds.
    learning_rate : float, default 0.1
    max_depth : int, default 6
        Depth of each tree (LightGBM also keeps its ``num_leaves=31``).
    hessian : {"exact", "clip", "constant"}, optional
        Default :func:`losskit.integrations.default_hessian`.
    floor : float, default 1e-6
        The floor of ``hessian="clip"``.
    boost_from_average : bool, default True
        Start from the best constant (:func:`losskit.integrations.initial_score`)
        instead of 0.
    n_classes : int, optional
        The number of outputs of a row-wise loss with integer labels
        (default ``max(y) + 1``).
    random_state : int, default 0
    n_jobs : int, optional
        Threads (default: the library's).
    params : dict, optional
        More parameters for the library, which win over the ones above.

    Attributes
    ----------
    history : list of float
        The mean training loss (on margins, with the sample weights) at the
        initial score and after each round.
    booster_ : xgboost.Booster or lightgbm.Booster
    init_score_ : float or ndarray
        The constant the trees are added to.

    Examples
    --------
    >>> import numpy as np, losskit
    >>> from losskit.integrations import GBDTModel
    >>> X = np.linspace(0.0, 1.0, 200)[:, None]; y = 3.0 * X[:, 0]
    >>> model = GBDTModel(losskit.HuberLoss(), n_estimators=50).fit(X, y)
    >>> bool(np.abs(model.decision_function(X) - y).mean() < 0.05)
    True
    """

    def __init__(
        self,
        loss: LossFunction,
        *,
        library: Library = "lightgbm",
        n_estimators: int = 100,
        learning_rate: float = 0.1,
        max_depth: int = 6,
        hessian: HessianPolicy | None = None,
        floor: float = HESSIAN_FLOOR,
        boost_from_average: bool = True,
        n_classes: int | None = None,
        random_state: int = 0,
        n_jobs: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.loss = loss
        self._margin_loss = margin_loss(loss, "none")
        self._mean_loss = margin_loss(loss, "mean")
        self.library = check_choice("library", library, ("lightgbm", "xgboost"))
        if importlib.util.find_spec(library) is None:
            raise ImportError(
                f"GBDTModel(library={library!r}) needs it: pip install 'losskit[{library}]'"
            )
        self.n_estimators = _check_count("n_estimators", n_estimators)
        self.learning_rate = check_real("learning_rate", learning_rate, low=0.0, low_open=True)
        self.max_depth = _check_count("max_depth", max_depth)
        self.hessian = check_hessian(hessian, loss)
        self.floor = check_floor(floor)
        self.boost_from_average = boost_from_average
        self.n_classes = None if n_classes is None else _check_count("n_classes", n_classes)
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.params = dict(params or {})
        self.history: list[float] = []

    def __repr__(self) -> str:
        return f"GBDTModel({self.loss!r}, library={self.library!r}, hessian={self.hessian!r})"

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> GBDTModel:
        """Boost ``n_estimators`` rounds; ``y`` has the form of the loss's ``y_true``."""
        X, y, w = _fit_inputs(X, y, sample_weight)
        self._width = output_width(self.loss, y, self.n_classes)
        self.init_score_ = (
            initial_score(self.loss, y, w, n_classes=self._width)
            if self.boost_from_average
            else (0.0 if self._width is None else np.zeros(self._width))
        )
        shape = (X.shape[0],) if self._width is None else (X.shape[0], self._width)
        self.history = []

        def grad_hess(margins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            f = np.asarray(margins, dtype=np.float64).reshape(shape)
            self.history.append(float(self._mean_loss.compute(y, f, w)))
            return gradient_hessian(self._margin_loss, y, f, w, self.hessian, self.floor)

        train = _train_lightgbm if self.library == "lightgbm" else _train_xgboost
        self.booster_ = train(self, X, shape, grad_hess)
        self.history.append(float(self._mean_loss.compute(y, self._margins(X), w)))
        return self

    def _margins(self, X: np.ndarray) -> np.ndarray:
        n = X.shape[0]
        base = np.broadcast_to(self.init_score_, (n,) if self._width is None else (n, self._width))
        if self.library == "lightgbm":
            raw = self.booster_.predict(np.ascontiguousarray(X), raw_score=True)
        else:
            import xgboost as xgb

            raw = self.booster_.predict(xgb.DMatrix(X), output_margin=True)
        return np.asarray(raw, dtype=np.float64).reshape(base.shape) + base

    def decision_function(self, X: Any) -> np.ndarray:
        """The outputs in the loss's ``y_pred`` space: ``(n,)`` or ``(n, C)``."""
        if not hasattr(self, "booster_"):
            raise RuntimeError("GBDTModel is not fitted yet; call fit first")
        f = self._margins(_as_matrix(X))
        if not takes_probabilities(self.loss):
            return f
        return np.asarray(sigmoid(f) if self._width is None else softmax(f, axis=-1))


def _train_lightgbm(
    model: GBDTModel, X: np.ndarray, shape: tuple[int, ...], grad_hess: GradHess
) -> Any:
    import lightgbm as lgb

    params: dict[str, Any] = {
        "learning_rate": model.learning_rate,
        "max_depth": model.max_depth,
        "seed": model.random_state,
        "verbose": -1,
        # LightGBM's default of 20 rows per leaf leaves no feature splittable below ~80
        # rows (its pre-filter then drops them all and training fails): a quarter of them.
        "min_data_in_leaf": min(20, max(1, shape[0] // 4)),
    }
    if model._width is not None:
        params["num_class"] = model._width
    if model.n_jobs is not None:
        params["num_threads"] = model.n_jobs
    params.update(model.params)
    params["objective"] = lambda preds, _data: grad_hess(preds)
    # The objective closes over the float64 targets: the label only sizes the data set.
    init = np.ascontiguousarray(np.broadcast_to(model.init_score_, shape))
    data = lgb.Dataset(np.ascontiguousarray(X), label=np.zeros(shape[0]), init_score=init)
    return lgb.train(params, data, num_boost_round=model.n_estimators)


def _train_xgboost(
    model: GBDTModel, X: np.ndarray, shape: tuple[int, ...], grad_hess: GradHess
) -> Any:
    import xgboost as xgb

    params: dict[str, Any] = {
        "eta": model.learning_rate,
        "max_depth": model.max_depth,
        "seed": model.random_state,
        "base_score": 0.0,
        "disable_default_eval_metric": True,
    }
    if model.n_jobs is not None:
        params["nthread"] = model.n_jobs
    params.update(model.params)
    # The objective closes over the float64 targets: the label only gives the number of outputs.
    data = xgb.DMatrix(
        X, label=np.zeros(shape), base_margin=np.broadcast_to(model.init_score_, shape)
    )
    return xgb.train(
        params, data, num_boost_round=model.n_estimators, obj=lambda preds, _d: grad_hess(preds)
    )
