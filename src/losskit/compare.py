"""Which loss for my data? Train one model with each candidate loss, cross-validated, and measure.

:func:`compare` fits the same model (:mod:`losskit.models`) with every
candidate loss on the same folds and returns every fold's metrics as plain
data (:meth:`Comparison.to_dict`); ``losskit compare`` is a thin shell around
it. It needs the ``cli`` extra (scikit-learn for folds, metrics and the
built-in data sets); scikit-learn is imported when it is first needed.

How a comparison is run
-----------------------
* **Folds.** ``k``-fold cross-validation shuffled with ``seed``, stratified for
  classification. Every loss sees the same folds, so differences are paired:
  the "gap to the best" is the mean and standard deviation over folds of
  ``metric(loss) - metric(best loss)``.
* **Candidates.** The registry's losses for the task (:func:`default_candidates`),
  built from logits wherever the loss has ``from_logits``.
  ``weighted_cross_entropy`` gets the training fold's balanced class weights
  ``n / (2 n_c)``.
* **Regression targets** are scaled with the training fold's median and
  normalised MAD (``1.4826 MAD``; the standard deviation if the MAD is 0), so
  scale-dependent parameters such as Huber's ``delta=1`` are in units of a
  robust standard deviation. Predictions are mapped back; metrics are in the
  target's units. Poisson (non-negative targets only) divides the targets by
  their training mean and predicts ``mean * exp(score)``.
* **Outliers.** A data set with ``train_outliers = s`` (the built-in
  regression scenario) has a share ``s`` of each *training* fold's targets
  moved by ``±U(3, 6)`` standard deviations of that fold's targets, sign at
  random; the test targets stay clean.
* **Probabilities** for log-loss, ECE, ROC-AUC and PR-AUC are the sigmoid
  (binary) or softmax (multi-class) of the model's output. For losses with no
  probability model (hinge, squared_hinge, multiclass_hinge) this maps a
  score, uncalibrated; such results are marked ``probabilistic = False``.
* **Metrics.** Regression: MAE, RMSE, R². Classification: accuracy, balanced
  accuracy, F1 (of the positive class; macro for multi-class), ROC-AUC and
  PR-AUC (average precision; one-vs-rest macro averages for multi-class),
  log-loss, and the expected calibration error over 10 equal-width bins (of the
  positive class's probability for binary data, of the top-label confidence
  for multi-class data). The predicted class is ``p >= 0.5`` (binary) or the
  arg-max.
* **Primary metric** (the ranking): regression MAE (lower is better);
  imbalanced binary data (minority share below ``IMBALANCE_SHARE``) PR-AUC of
  the minority class; other binary data ROC-AUC; multi-class balanced
  accuracy. The positive class of binary data is its minority class.
"""

from __future__ import annotations

import ast
import csv
import html
import io
import json
import math
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ._base import LossFunction, RowwiseLoss
from ._classification import HingeLoss
from ._numerics import sigmoid, softmax
from ._registry import REGISTRY, get, info
from ._regression import PoissonLoss
from .models import LinearModel, MLPModel, Model

__all__ = [
    "IMBALANCE_SHARE",
    "MAX_CLASSES",
    "METRICS",
    "MODELS",
    "SCENARIOS",
    "TASKS",
    "Candidate",
    "Comparison",
    "DataError",
    "Dataset",
    "LossResult",
    "build_loss",
    "builtin_scenarios",
    "candidates",
    "compare",
    "default_candidates",
    "expected_calibration_error",
    "footnotes",
    "load_dataset",
    "make_model",
    "parse_spec",
    "ranking_table",
    "report_json",
    "task_of",
    "time_losses",
    "write_report",
]

#: Binary data whose minority class holds less than this share counts as imbalanced.
IMBALANCE_SHARE = 0.25
#: A numeric target with more distinct values than this is a regression target.
MAX_CLASSES = 20
#: The built-in scenarios of :func:`builtin_scenarios`, in order.
SCENARIOS = ("diabetes-outliers", "breast-cancer-imbalanced", "digits")
#: Model kinds of :func:`make_model`.
MODELS = ("linear", "mlp", "gbdt")

#: The tasks :func:`compare` handles.
TASKS = ("regression", "binary", "multiclass")


@dataclass(frozen=True)
class Metric:
    """A metric's display name and direction."""

    label: str
    higher_is_better: bool


#: Every metric :func:`compare` reports, by key.
METRICS: dict[str, Metric] = {
    "mae": Metric("MAE", False),
    "rmse": Metric("RMSE", False),
    "r2": Metric("R²", True),
    "accuracy": Metric("acc.", True),
    "balanced_accuracy": Metric("bal. acc.", True),
    "f1": Metric("F1", True),
    "roc_auc": Metric("ROC-AUC", True),
    "pr_auc": Metric("PR-AUC", True),
    "log_loss": Metric("log-loss", False),
    "ece": Metric("ECE", False),
}
_TASK_METRICS = {
    "regression": ("mae", "rmse", "r2"),
    "binary": ("accuracy", "balanced_accuracy", "f1", "roc_auc", "pr_auc", "log_loss", "ece"),
}
_TASK_METRICS["multiclass"] = _TASK_METRICS["binary"]


class DataError(ValueError):
    """Bad user data or options; the message is one line naming the problem."""


# --------------------------------------------------------------------------
# data sets
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """A table ready for :func:`compare`: features, target and task.

    ``y`` holds real targets for regression and class indices ``0..C-1`` for
    classification (``class_names[i]`` names class ``i``; for binary data
    class 1 is the positive, minority class).
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    feature_names: tuple[str, ...]
    target_name: str
    class_names: tuple[str, ...] = ()
    description: str = ""
    #: Share of each training fold's targets turned into outliers (regression).
    train_outliers: float = 0.0
    notes: tuple[str, ...] = ()

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def class_counts(self) -> tuple[int, ...]:
        if self.task == "regression":
            return ()
        return tuple(int(c) for c in np.bincount(self.y, minlength=self.n_classes))

    @property
    def minority_share(self) -> float | None:
        counts = self.class_counts
        return min(counts) / sum(counts) if counts else None

    @property
    def imbalanced(self) -> bool:
        share = self.minority_share
        return share is not None and share < IMBALANCE_SHARE

    @property
    def primary_metric(self) -> str:
        if self.task == "regression":
            return "mae"
        if self.task == "binary":
            return "pr_auc" if self.imbalanced else "roc_auc"
        return "balanced_accuracy"


def _sklearn_datasets() -> Any:
    try:
        import sklearn.datasets
    except ImportError:
        raise DataError(
            "the built-in scenarios need scikit-learn: pip install 'losskit[cli]'"
        ) from None
    return sklearn.datasets


def builtin_scenarios(seed: int = 0) -> list[Dataset]:
    """The three scenarios of ``losskit compare``, on data sets shipped with scikit-learn.

    * ``diabetes-outliers``: regression (442 patients, 10 features); 10 % of
      each training fold's targets are gross errors (``train_outliers``).
    * ``breast-cancer-imbalanced``: binary; the malignant tumours (positive)
      are subsampled with ``seed`` to 10 % of the data (40 of 397 rows).
    * ``digits``: multi-class (1797 8×8 images, 64 features, 10 classes).
    """
    datasets = _sklearn_datasets()
    X, y = datasets.load_diabetes(return_X_y=True)
    diabetes = Dataset(
        name=SCENARIOS[0],
        X=X,
        y=y.astype(np.float64),
        task="regression",
        feature_names=tuple(datasets.load_diabetes().feature_names),
        target_name="disease progression",
        description=(
            "scikit-learn's diabetes data (442 patients, 10 features); 10% of each "
            "training fold's targets moved by ±3–6 standard deviations; "
            "metrics on the clean test targets"
        ),
        train_outliers=0.10,
    )
    cancer = datasets.load_breast_cancer()
    malignant = np.flatnonzero(cancer.target == 0)
    benign = np.flatnonzero(cancer.target == 1)
    n_pos = round(len(benign) * 0.10 / 0.90)
    keep = np.sort(
        np.concatenate([benign, np.random.default_rng(seed).choice(malignant, n_pos, False)])
    )
    breast = Dataset(
        name=SCENARIOS[1],
        X=cancer.data[keep],
        y=(cancer.target[keep] == 0).astype(np.int64),
        task="binary",
        feature_names=tuple(cancer.feature_names),
        target_name="diagnosis",
        class_names=("benign", "malignant"),
        description=(
            f"Wisconsin breast cancer (30 features); malignant tumours subsampled to "
            f"{n_pos} of {len(keep)} rows (10%)"
        ),
    )
    X, y = datasets.load_digits(return_X_y=True)
    digits = Dataset(
        name=SCENARIOS[2],
        X=X,
        y=y.astype(np.int64),
        task="multiclass",
        feature_names=tuple(f"pixel_{i}" for i in range(X.shape[1])),
        target_name="digit",
        class_names=tuple(str(d) for d in range(10)),
        description="8×8 handwritten digits (1797 images, 64 features, 10 balanced classes)",
    )
    return [diabetes, breast, digits]


_MISSING = frozenset({"", "na", "nan", "n/a", "null", "none", "?"})


@dataclass
class _Table:
    """A text table read from a file: columns of strings and where each row came from."""

    path: Path
    columns: dict[str, list[str]]
    rows: list[int]  # line (CSV) or row (Parquet) number of each data row
    unit: str  # "line" or "row"

    def where(self, i: int) -> str:
        return f"{self.path.name} {self.unit} {self.rows[i]}"


def _read_csv(path: Path) -> _Table:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a UTF-8 text (CSV) file") from None
    if not text.strip():
        raise DataError(f"{path} is empty")
    first = text.splitlines()[0]
    try:
        dialect: Any = csv.Sniffer().sniff(first, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header: list[str] = []
    records: list[list[str]] = []
    rows: list[int] = []
    try:
        for record in reader:
            if not any(field.strip() for field in record):
                continue
            if not header:
                header = [h.strip() for h in record]
                continue
            if len(record) != len(header):
                raise DataError(
                    f"{path}: line {reader.line_num}: expected {len(header)} fields "
                    f"as in the header, found {len(record)}"
                )
            records.append([v.strip() for v in record])
            rows.append(reader.line_num)
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: malformed CSV ({exc})") from None
    return _Table(path, _columns(path, header, records), rows, "line")


def _read_parquet(path: Path) -> _Table:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            f"reading {path.name} needs pyarrow (pip install pyarrow), or save it as CSV"
        ) from None
    try:
        data = pq.read_table(path).to_pydict()
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise DataError(f"{path} is not a readable Parquet file ({exc})") from None
    header = list(data)
    n = len(next(iter(data.values()), []))
    records = [["" if data[c][i] is None else str(data[c][i]) for c in header] for i in range(n)]
    return _Table(path, _columns(path, header, records), list(range(1, n + 1)), "row")


def _columns(path: Path, header: list[str], records: list[list[str]]) -> dict[str, list[str]]:
    if not header:
        raise DataError(f"{path} is empty")
    seen: set[str] = set()
    for name in header:
        if not name:
            raise DataError(f"{path}: the header has an empty column name")
        if name in seen:
            raise DataError(f"{path}: column {name!r} appears twice in the header")
        seen.add(name)
    if not records:
        raise DataError(f"{path} has a header but no data rows")
    return {name: [r[j] for r in records] for j, name in enumerate(header)}


def _number(text: str) -> float | None:
    """The value of a numeric cell (NaN when missing), or None when it is not a number."""
    if text.lower() in _MISSING:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _numeric(values: list[str]) -> tuple[np.ndarray | None, int]:
    """The column as floats (NaN for missing), or None and the first non-numeric index."""
    out = np.empty(len(values))
    for i, v in enumerate(values):
        x = _number(v)
        if x is None:
            return None, i
        out[i] = x
    return out, -1


def _detect_task(values: list[str], numeric: np.ndarray | None) -> str:
    distinct = len(set(values)) if numeric is None else len(np.unique(numeric))
    if distinct < 2:
        raise DataError("the target column has a single value: there is nothing to learn")
    if numeric is not None and distinct > MAX_CLASSES:
        return "regression"
    return "binary" if distinct == 2 else "multiclass"


def load_dataset(path: str | Path, target: str, task: str | None = None) -> Dataset:
    """Read a CSV (or, with pyarrow, Parquet) file and prepare it for :func:`compare`.

    The task is detected unless given: a numeric target with more than
    ``MAX_CLASSES`` distinct values is regression; otherwise classification,
    binary when there are two classes. Rows with a missing target are
    dropped. Numeric feature columns keep their values, missing ones are
    imputed with the column's median; a text column with at most
    ``MAX_CLASSES`` distinct values is one-hot encoded, others are dropped.
    Each such step is listed in ``Dataset.notes``.

    Raises
    ------
    DataError
        A missing or malformed file, an unknown column, a target that does
        not fit ``task``, or no usable feature.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path} is a directory, not a data file")
    if task is not None and task not in TASKS:
        raise DataError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    is_parquet = path.suffix.lower() in (".parquet", ".pq")
    table = _read_parquet(path) if is_parquet else _read_csv(path)
    if target not in table.columns:
        known = ", ".join(list(table.columns)[:20])
        raise DataError(f"no column {target!r} in {path.name}; its columns are {known}")
    notes: list[str] = []
    raw = table.columns[target]
    keep = [i for i, v in enumerate(raw) if v.lower() not in _MISSING]
    if len(keep) < len(raw):
        notes.append(f"dropped {len(raw) - len(keep)} rows with a missing target")
    raw = [raw[i] for i in keep]
    numeric, bad = _numeric(raw)
    task = task or _detect_task(raw, numeric)
    if task == "regression":
        if numeric is None:
            raise DataError(
                f"target column {target!r} is not numeric ({table.where(keep[bad])}: "
                f"{raw[bad]!r}), so it cannot be a regression target"
            )
        y: np.ndarray = numeric
        class_names: tuple[str, ...] = ()
    else:
        y, class_names = _encode_classes(raw, numeric, task, target)
    X, names = _features(table, target, keep, notes)
    return Dataset(
        name=path.stem,
        X=X,
        y=y,
        task=task,
        feature_names=names,
        target_name=target,
        class_names=class_names,
        description=f"{path.name}: {len(y)} rows, {X.shape[1]} features, target {target!r}",
        notes=tuple(notes),
    )


def _encode_classes(
    raw: list[str], numeric: np.ndarray | None, task: str, target: str
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class indices and names; for binary data class 1 is the minority class."""
    if numeric is not None:
        values, index = np.unique(numeric, return_inverse=True)
        names = [f"{v:g}" for v in values]
    else:
        labels, index = np.unique(np.asarray(raw, dtype=object).astype(str), return_inverse=True)
        names = [str(v) for v in labels]
    if task == "binary":
        if len(names) != 2:
            raise DataError(
                f"target column {target!r} has {len(names)} classes, so it is not binary"
            )
        counts = np.bincount(index, minlength=2)
        if counts[0] < counts[1]:  # make the minority class the positive class 1
            index = 1 - index
            names.reverse()
    return index.astype(np.int64), tuple(names)


def _features(
    table: _Table, target: str, keep: list[int], notes: list[str]
) -> tuple[np.ndarray, tuple[str, ...]]:
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for name, column in table.columns.items():
        if name == target:
            continue
        values = [column[i] for i in keep]
        numeric, bad = _numeric(values)
        if numeric is not None:
            missing = np.isnan(numeric)
            if missing.all():
                notes.append(f"dropped column {name!r}: no values")
                continue
            if missing.any():
                numeric[missing] = np.median(numeric[~missing])
                notes.append(f"imputed {int(missing.sum())} missing values of {name!r}")
            blocks.append(numeric[:, None])
            names.append(name)
            continue
        levels = sorted(set(values))
        if len(levels) > MAX_CLASSES:
            notes.append(
                f"dropped column {name!r}: not numeric ({table.where(keep[bad])}: "
                f"{values[bad]!r}) and {len(levels)} distinct values"
            )
            continue
        blocks.append(np.asarray([[v == level for level in levels] for v in values], float))
        names.extend(f"{name}={level}" for level in levels)
        notes.append(f"one-hot encoded column {name!r} ({len(levels)} values)")
    if not blocks:
        raise DataError(f"{table.path.name} has no usable feature column besides {target!r}")
    return np.hstack(blocks), tuple(names)


# --------------------------------------------------------------------------
# candidate losses
# --------------------------------------------------------------------------


def task_of(name: str) -> str | None:
    """The task of ``TASKS`` a registered loss trains a model for (None: none of them)."""
    entry = REGISTRY[name]
    if entry.task == "regression":
        return "regression"
    if entry.task in (
        "binary classification",
        "multi-class classification",
        "imbalanced classification",
    ):
        return "multiclass" if issubclass(entry.cls, RowwiseLoss) else "binary"
    return None


@dataclass(frozen=True)
class Candidate:
    """A loss to compare: a registry name and its constructor parameters.

    ``weighted_cross_entropy`` without ``class_weights`` gets the training
    fold's balanced weights from :meth:`build`.
    """

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        shown = {k: v for k, v in self.params.items() if k != "from_logits"}
        if not shown:
            return self.name
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    def build(self, y_train: np.ndarray) -> LossFunction:
        """The loss for one training fold (``y_train``: the fold's class indices or targets)."""
        params = dict(self.params)
        if self.name == "weighted_cross_entropy" and "class_weights" not in params:
            counts = np.bincount(y_train.astype(np.int64), minlength=2)
            params["class_weights"] = tuple(
                float(len(y_train) / (2 * c)) if c else 1.0 for c in counts
            )
        return build_loss(self.name, params)


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"name"`` or ``"name:key=value:key=value"`` as the registry name and parameters.

    Values are Python literals (``2.0``, ``True``, ``(1, 5)``); anything else
    is taken as a string.

    >>> parse_spec("huber:delta=2")
    ('huber', {'delta': 2})
    """
    name, _, rest = spec.strip().partition(":")
    try:
        name = info(name).name
    except ValueError as exc:
        raise DataError(str(exc)) from None
    params: dict[str, Any] = {}
    for item in filter(None, rest.split(":")):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise DataError(f"bad option {item!r} in {spec!r}; write name:key=value")
        try:
            params[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            params[key.strip()] = value.strip()
    return name, params


def build_loss(name: str, params: Mapping[str, Any] | None = None) -> LossFunction:
    """``losskit.get(name, **params)`` with a bad name or parameter as a :class:`DataError`."""
    try:
        return get(name, **dict(params or {}))
    except (ValueError, TypeError) as exc:
        raise DataError(f"{name}: {exc}") from None


def _candidate(name: str, params: Mapping[str, Any] | None = None) -> Candidate:
    """A candidate, with ``from_logits=True`` where the loss has it unless ``params`` say else."""
    defaults = {"from_logits": True} if "from_logits" in REGISTRY[name].cls._param_names() else {}
    return Candidate(name, {**defaults, **(params or {})})


def default_candidates(task: str) -> list[Candidate]:
    """The registry's losses for ``task``, from logits where they allow it.

    Regression takes every regression loss but ``poisson``, which needs
    count targets (ask for it with ``losses=["poisson", ...]``).
    ``categorical_cross_entropy`` (one-hot targets) and
    ``sparse_categorical_cross_entropy`` (labels) are the same loss reached
    through two code paths; both are compared, and agree.
    """
    if task not in TASKS:
        raise DataError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    return [_candidate(n) for n in REGISTRY if task_of(n) == task and n != "poisson"]


def candidates(specs: str | Sequence[str], task: str) -> list[Candidate]:
    """Candidates for ``task`` from loss specs (see :func:`parse_spec`).

    ``specs`` is a list or a comma-separated string (``"mse,huber:delta=2"``).
    A loss that does not fit the task, an unknown name or a bad parameter is
    a :class:`DataError`.
    """
    if isinstance(specs, str):
        specs = [s for s in (s.strip() for s in specs.split(",")) if s]
    if not specs:
        raise DataError("no loss names given")
    out = []
    for spec in specs:
        name, params = parse_spec(spec)
        if task_of(name) != task:
            fits = ", ".join(n for n in REGISTRY if task_of(n) == task)
            raise DataError(f"loss {name!r} does not fit {task} data; losses that do: {fits}")
        candidate = _candidate(name, params)
        build_loss(name, candidate.params)  # a bad parameter fails now, not after some folds
        out.append(candidate)
    return out


def _targets(loss: LossFunction, y: np.ndarray, task: str, n_classes: int) -> np.ndarray:
    """``y`` (scaled targets or class indices) in the form the loss's ``y_true`` takes."""
    if task == "regression":
        return y
    if task == "binary":
        if isinstance(loss, HingeLoss):  # squared_hinge too
            return 2.0 * y - 1.0  # labels in {-1, 1}
        return y.astype(np.float64)
    if isinstance(loss, RowwiseLoss) and loss._labels:
        return y
    return np.eye(n_classes)[y]


# --------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------


def make_model(
    kind: str, loss: LossFunction, *, n_classes: int | None, seed: int, **options: Any
) -> Model:
    """A model of ``kind`` ("linear", "mlp" or "gbdt") for ``loss`` (the model protocol)."""
    if kind == "linear":
        return LinearModel(loss, n_classes=n_classes, **options)
    if kind == "mlp":
        return MLPModel(loss, n_classes=n_classes, seed=seed, **options)
    if kind == "gbdt":
        try:
            from .integrations import GBDTModel
        except ImportError as exc:
            raise DataError(f"--model gbdt needs LightGBM or XGBoost ({exc})") from None
        return GBDTModel(loss, n_classes=n_classes, random_state=seed, **options)
    raise DataError(f"unknown model {kind!r}; choose one of {', '.join(MODELS)}")


# --------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------


def expected_calibration_error(y: np.ndarray, proba: np.ndarray, n_bins: int = 10) -> float:
    """Expected calibration error over ``n_bins`` equal-width bins.

    Binary (``proba`` of shape ``(n,)``, the positive class's probability):
    ``Σ_b (n_b / n) |mean(y)_b - mean(p)_b|``. Multi-class (``(n, C)``): the
    same with the top-label confidence ``max_c p_c`` and whether the arg-max
    is right (Guo et al., 2017, On calibration of modern neural networks).
    """
    if proba.ndim == 1:
        conf, hit = proba, y.astype(np.float64)
    else:
        conf, hit = proba.max(axis=1), (proba.argmax(axis=1) == y).astype(np.float64)
    bins = np.minimum((conf * n_bins).astype(np.int64), n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        inside = bins == b
        total += inside.sum() * abs(hit[inside].mean() - conf[inside].mean())
    return float(total / len(y))


def _classification_metrics(y: np.ndarray, proba: np.ndarray, n_classes: int) -> dict[str, float]:
    from sklearn import metrics

    labels = list(range(n_classes))
    if n_classes == 2:
        pred = (proba >= 0.5).astype(np.int64)
        two = np.column_stack([1.0 - proba, proba])
        f1 = metrics.f1_score(y, pred, zero_division=0)
        roc = metrics.roc_auc_score(y, proba)
        pr = metrics.average_precision_score(y, proba)
    else:
        pred, two = proba.argmax(axis=1), proba
        f1 = metrics.f1_score(y, pred, average="macro", labels=labels, zero_division=0)
        roc = metrics.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=labels)
        onehot = np.eye(n_classes)[y]
        pr = metrics.average_precision_score(onehot, proba, average="macro")
    return {
        "accuracy": float(metrics.accuracy_score(y, pred)),
        "balanced_accuracy": float(metrics.balanced_accuracy_score(y, pred)),
        "f1": float(f1),
        "roc_auc": float(roc),
        "pr_auc": float(pr),
        "log_loss": float(metrics.log_loss(y, two, labels=labels)),
        "ece": expected_calibration_error(y, proba),
    }


def _regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    err = pred - y
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "r2": 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else math.nan,
    }


def _probabilities(loss: LossFunction, out: np.ndarray) -> tuple[np.ndarray, bool]:
    """Class probabilities from a model's output, and whether the loss models probabilities."""
    from_logits = getattr(loss, "from_logits", None)
    if from_logits is False:  # the model's link already gives probabilities
        return out, True
    proba = sigmoid(out) if out.ndim == 1 else softmax(out, axis=-1)
    return proba, from_logits is True


@dataclass(frozen=True)
class _Scale:
    """The affine (or, for Poisson, multiplicative) map of regression targets."""

    center: float
    scale: float
    log_link: bool

    @classmethod
    def fit(cls, loss: LossFunction, y: np.ndarray) -> _Scale:
        if isinstance(loss, PoissonLoss):
            if np.any(y < 0):
                raise DataError("poisson needs non-negative targets; this training fold has some")
            mean = float(np.mean(y))
            return cls(0.0, mean if mean > 0 else 1.0, loss.log_input)
        median = float(np.median(y))
        mad = 1.4826 * float(np.median(np.abs(y - median)))
        scale = mad if mad > 0 else float(np.std(y))
        return cls(median, scale if scale > 0 else 1.0, False)

    def forward(self, y: np.ndarray) -> np.ndarray:
        return (y - self.center) / self.scale

    def inverse(self, out: np.ndarray) -> np.ndarray:
        return self.scale * (np.exp(out) if self.log_link else out) + self.center


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------


@dataclass
class LossResult:
    """One candidate loss across the folds."""

    candidate: Candidate
    probabilistic: bool = True
    metrics: dict[str, list[float]] = field(default_factory=dict)
    history: list[list[float]] = field(default_factory=list)
    fit_seconds: list[float] = field(default_factory=list)
    converged: list[bool] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.candidate.label

    def mean(self, metric: str) -> float:
        return float(np.mean(self.metrics[metric]))

    def std(self, metric: str) -> float:
        """Standard deviation over folds (``ddof=1``)."""
        values = self.metrics[metric]
        return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


@dataclass
class Comparison:
    """The outcome of :func:`compare`: every fold's metrics for every candidate."""

    dataset: Dataset
    model: str
    model_options: dict[str, Any]
    folds: int
    seed: int
    results: list[LossResult]
    seconds: float = 0.0

    @property
    def primary(self) -> str:
        return self.dataset.primary_metric

    @property
    def metric_names(self) -> tuple[str, ...]:
        return _TASK_METRICS[self.dataset.task]

    def ranked(self) -> list[LossResult]:
        """The results, best first by the primary metric's mean (ties keep candidate order)."""
        sign = -1.0 if METRICS[self.primary].higher_is_better else 1.0
        return sorted(self.results, key=lambda r: sign * r.mean(self.primary))

    def gap(self, result: LossResult) -> tuple[float, float]:
        """Mean and std over folds of the primary metric's ``result - best`` (paired by fold)."""
        metric = self.primary
        best = self.ranked()[0]
        diff = np.asarray(result.metrics[metric]) - np.asarray(best.metrics[metric])
        return float(diff.mean()), float(diff.std(ddof=1)) if len(diff) > 1 else 0.0

    def summary(self) -> str:
        """One sentence: the winner (or the losses tied on every fold) and the gap to the next.

        The gap's verdict is a paired t-test over folds at 5 %; folds share
        training rows, so read it as a rough guide.
        """
        ranked = self.ranked()
        label = METRICS[self.primary].label
        best = ranked[0]
        tied = [r for r in ranked if r.metrics[self.primary] == best.metrics[self.primary]]
        score = _fmt(best.mean(self.primary), best.std(self.primary))
        if len(tied) == 1:
            text = f"{best.label} has the best {label}: {score}"
        else:
            names = ", ".join(r.label for r in tied)
            text = f"{names} tie for the best {label} on every fold: {score}"
        if len(tied) == len(ranked):
            return text
        runner = ranked[len(tied)]
        mean, std = self.gap(runner)
        from scipy import stats

        t = abs(mean) / (std / math.sqrt(self.folds)) if std > 0 else math.inf
        clear = t > stats.t.ppf(0.975, self.folds - 1)
        verdict = "a clear difference" if clear else "within fold-to-fold noise"
        gap = "+" * (mean >= 0) + _fmt(mean, std)
        return (
            f"{text}; the next, {runner.label}, differs by {gap} "
            f"({verdict}, paired t-test over folds)"
        )

    def to_dict(self, *, history: bool = True) -> dict[str, Any]:
        """Plain data (JSON-ready); ``history=False`` leaves out the training curves."""
        d = self.dataset
        ranking = []
        for rank, r in enumerate(self.ranked(), 1):
            gap_mean, gap_std = self.gap(r)
            entry: dict[str, Any] = {
                "rank": rank,
                "loss": r.label,
                "name": r.candidate.name,
                "params": _plain(dict(r.candidate.params)),
                "probabilistic": r.probabilistic,
                "metrics": {
                    k: {"mean": r.mean(k), "std": r.std(k), "folds": r.metrics[k]}
                    for k in self.metric_names
                },
                "gap_to_best": {"mean": gap_mean, "std": gap_std},
                "fit_seconds": r.fit_seconds,
                "converged": r.converged,
            }
            if history:
                entry["history"] = r.history
            ranking.append(entry)
        return {
            "scenario": d.name,
            "description": d.description,
            "task": d.task,
            "n_samples": int(d.X.shape[0]),
            "n_features": int(d.X.shape[1]),
            "target": d.target_name,
            "classes": list(d.class_names),
            "class_counts": list(d.class_counts),
            "train_outliers": d.train_outliers,
            "notes": list(d.notes),
            "model": self.model,
            "model_options": _plain(self.model_options),
            "folds": self.folds,
            "seed": self.seed,
            "primary_metric": self.primary,
            "higher_is_better": {k: METRICS[k].higher_is_better for k in self.metric_names},
            "summary": self.summary(),
            "seconds": self.seconds,
            "ranking": ranking,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------
# the comparison
# --------------------------------------------------------------------------


def _folds(dataset: Dataset, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(dataset.y)
    if k < 2:
        raise DataError(f"--folds must be at least 2; got {k}")
    if dataset.task == "regression":
        if n < 2 * k:
            raise DataError(f"{n} rows are too few for {k} folds")
        return list(KFold(k, shuffle=True, random_state=seed).split(dataset.X))
    for name, count in zip(dataset.class_names, dataset.class_counts, strict=True):
        if count < k:
            raise DataError(
                f"class {name!r} has {count} rows, fewer than the {k} folds; use --folds {count}"
                if count >= 2
                else f"class {name!r} has {count} row; every class needs at least 2"
            )
    splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
    return list(splitter.split(dataset.X, dataset.y))


def _corrupt(y: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """``y`` with a ``share`` of its entries moved by ``±U(3, 6)`` standard deviations."""
    y = y.copy()
    m = round(share * len(y))
    idx = rng.choice(len(y), m, replace=False)
    y[idx] += rng.choice([-1.0, 1.0], m) * rng.uniform(3.0, 6.0, m) * np.std(y)
    return y


def compare(
    dataset: Dataset,
    losses: str | Sequence[str | Candidate] | None = None,
    *,
    model: str = "linear",
    model_options: Mapping[str, Any] | None = None,
    folds: int = 5,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Cross-validate ``model`` trained with each candidate loss on ``dataset``.

    Parameters
    ----------
    dataset : Dataset
        From :func:`load_dataset` or :func:`builtin_scenarios`.
    losses : str or sequence, optional
        Loss names (comma-separated or a list) or :class:`Candidate` objects;
        default :func:`default_candidates` for the data set's task.
    model : {"linear", "mlp", "gbdt"}, default "linear"
    model_options : mapping, optional
        Keyword options of the model (e.g. ``max_iter``).
    folds : int, default 5
    seed : int, default 0
        Seeds the folds, the outliers and the model.
    progress : callable, optional
        Called with a short description after every fit.

    Returns
    -------
    Comparison
    """
    from threadpoolctl import threadpool_limits

    if losses is None:
        chosen = default_candidates(dataset.task)
    elif isinstance(losses, str):
        chosen = candidates(losses, dataset.task)
    else:
        chosen = [
            c if isinstance(c, Candidate) else candidates([c], dataset.task)[0] for c in losses
        ]
    options = dict(model_options or {})
    splits = _folds(dataset, folds, seed)
    results = [LossResult(c) for c in chosen]
    start = time.perf_counter()
    # The matrices are small: threaded BLAS only adds synchronisation (10x slower on 2 cores).
    with threadpool_limits(limits=1, user_api="blas"):
        for f, (train, test) in enumerate(splits):
            y_train = dataset.y[train]
            if dataset.train_outliers:
                rng = np.random.default_rng([seed, f])
                y_train = _corrupt(y_train, dataset.train_outliers, rng)
            for result in results:
                _fit_fold(dataset, result, model, options, seed, train, test, y_train)
                if progress is not None:
                    progress(f"{dataset.name} · {result.label} · fold {f + 1}/{folds}")
    return Comparison(
        dataset=dataset,
        model=model,
        model_options=options,
        folds=folds,
        seed=seed,
        results=results,
        seconds=time.perf_counter() - start,
    )


def _fit_fold(
    dataset: Dataset,
    result: LossResult,
    kind: str,
    options: dict[str, Any],
    seed: int,
    train: np.ndarray,
    test: np.ndarray,
    y_train: np.ndarray,
) -> None:
    loss = result.candidate.build(y_train)
    task, n_classes = dataset.task, dataset.n_classes
    scale = _Scale.fit(loss, y_train) if task == "regression" else None
    fit_y = scale.forward(y_train) if scale else y_train
    model = make_model(
        kind, loss, n_classes=n_classes if task == "multiclass" else None, seed=seed, **options
    )
    t0 = time.perf_counter()
    model.fit(dataset.X[train], _targets(loss, fit_y, task, n_classes))
    result.fit_seconds.append(time.perf_counter() - t0)
    result.history.append([float(v) for v in model.history])
    result.converged.append(bool(getattr(model, "converged_", True)))
    out = np.asarray(model.decision_function(dataset.X[test]), dtype=np.float64)
    if scale is not None:
        scores = _regression_metrics(dataset.y[test], scale.inverse(out))
    else:
        proba, result.probabilistic = _probabilities(loss, out)
        scores = _classification_metrics(dataset.y[test], proba, n_classes)
    for k, v in scores.items():
        result.metrics.setdefault(k, []).append(v)


# --------------------------------------------------------------------------
# reports
# --------------------------------------------------------------------------


def report_json(comparisons: Sequence[Comparison], *, history: bool = True) -> dict[str, Any]:
    """Every number of ``comparisons`` with the environment that produced them."""
    from . import __version__

    return {
        "losskit": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": f"{platform.system()} {platform.machine()}, {_cpu_count()} CPUs",
        "scenarios": [c.to_dict(history=history) for c in comparisons],
    }


def _cpu_count() -> int:
    return os.cpu_count() or 1


def _fmt(mean: float, std: float | None) -> str:
    """``mean ± std``: three decimals for values below 10 (scores), else four digits."""
    small = abs(mean) < 10
    text = f"{mean:.3f}" if small else f"{mean:.4g}"
    if std is None:
        return text
    return f"{text} ± {std:.3f}" if small else f"{text} ± {std:.3g}"


def ranking_table(c: Comparison, *, all_std: bool = True) -> tuple[list[str], list[list[str]]]:
    """The ranked table as text cells ``(header, rows)``: primary metric first.

    Cells are ``mean ± std`` over folds (with ``all_std=False`` only the
    primary metric's; the others show the mean). "Δ vs best" is the primary
    metric's paired gap to the best loss (:meth:`Comparison.gap`). A loss's
    label carries † when it has no probability model and ‡ when its model did
    not converge on some fold (see :func:`footnotes`).
    """
    metric_names = [c.primary, *(m for m in c.metric_names if m != c.primary)]
    header = ["#", "loss", *(METRICS[m].label for m in metric_names)]
    header += ["Δ vs best", "fit s"]
    rows = []
    for rank, r in enumerate(c.ranked(), 1):
        gap = c.gap(r)
        mark = ("" if r.probabilistic else " †") + ("" if all(r.converged) else " ‡")
        cells = [
            _fmt(r.mean(m), r.std(m) if all_std or m == c.primary else None) for m in metric_names
        ]
        rows.append(
            [
                str(rank),
                r.label + mark,
                *cells,
                "0" if gap == (0.0, 0.0) else "+" * (gap[0] >= 0) + _fmt(*gap),
                f"{np.mean(r.fit_seconds):.3f}",
            ]
        )
    return header, rows


def footnotes(c: Comparison) -> list[str]:
    """The data set's notes and the meaning of the marks that :func:`ranking_table` used."""
    notes = list(c.dataset.notes)
    if not all(r.probabilistic for r in c.results):
        notes.append(
            "† no probability model: log-loss, ECE and the AUCs use the sigmoid (softmax) "
            "of the raw score, uncalibrated."
        )
    stopped = [
        f"{r.label} on {r.converged.count(False)} of {c.folds} folds"
        for r in c.results
        if not all(r.converged)
    ]
    if stopped:
        notes.append(
            "‡ the optimiser did not report convergence (iteration limit or failed line "
            "search): " + ", ".join(stopped)
        )
    return notes


def write_report(
    comparisons: Sequence[Comparison], directory: str | Path, *, command: str = ""
) -> list[Path]:
    """Write ``report.md``, ``report.html``, ``results.json`` and plots into ``directory``.

    Per scenario two plots: the metrics (mean ± std per loss) and the training
    curves (objective per iteration, every fold). Existing files of the same
    names are replaced; the caller decides whether that is allowed.
    """
    from . import plotting

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    md = ["# losskit compare — report", ""]
    meta = report_json(comparisons)
    md.append(
        f"Created {meta['created']} with losskit {meta['losskit']} on {meta['machine']}"
        + (f" by `{command}`" if command else "")
        + "."
    )
    body_html = [f"<h1>losskit compare — report</h1><p>{html.escape(md[-1])}</p>"]
    for c in comparisons:
        metrics_png = out / f"{c.dataset.name}-metrics.png"
        curves_png = out / f"{c.dataset.name}-training.png"
        plotting.plot_metrics(c, metrics_png)
        plotting.plot_training_curves(c, curves_png)
        written += [metrics_png, curves_png]
        header, rows = ranking_table(c)
        d = c.dataset
        intro = (
            f"{d.description}. Task: {d.task}; model: {c.model}; {c.folds}-fold "
            f"cross-validation, seed {c.seed}; primary metric {METRICS[c.primary].label} "
            f"({'higher' if METRICS[c.primary].higher_is_better else 'lower'} is better). "
            f"Mean ± std over folds; Δ is paired by fold."
        )
        notes = footnotes(c)
        md += ["", f"## {d.name}", "", intro, "", f"**{c.summary()}.**", ""]
        md.append("| " + " | ".join(header) + " |")
        md.append("|" + "---|" * len(header))
        md += ["| " + " | ".join(row) + " |" for row in rows]
        md += ["", *(f"- {n}" for n in notes), ""]
        md += [f"![metrics]({metrics_png.name})", "", f"![training curves]({curves_png.name})"]
        table = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        table += "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in rows
        )
        body_html.append(
            f"<h2>{html.escape(d.name)}</h2><p>{html.escape(intro)}</p>"
            f"<p><b>{html.escape(c.summary())}.</b></p><table><tr>{table}</table>"
            + "".join(f"<p>{html.escape(n)}</p>" for n in notes)
            + f'<img src="{metrics_png.name}" alt="metrics">'
            + f'<img src="{curves_png.name}" alt="training curves">'
        )
    style = (
        "body{font-family:sans-serif;max-width:70em;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
        "img{max-width:100%}"
    )
    pages = {
        "report.md": "\n".join(md) + "\n",
        "report.html": (
            f"<!doctype html><html><head><meta charset='utf-8'><title>losskit compare</title>"
            f"<style>{style}</style></head><body>{''.join(body_html)}</body></html>\n"
        ),
        "results.json": json.dumps(meta, indent=1) + "\n",
    }
    for name, text in pages.items():
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)
    return written


# --------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------


def time_losses(
    names: Sequence[str] | None = None,
    *,
    n: int = 1_000_000,
    dtypes: Sequence[str] = ("float32", "float64"),
    repeat: int = 5,
    classes: int = 10,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Median time of ``value_and_derivative`` per loss and dtype.

    Inputs are ``n`` elements drawn from each loss's domain (``n // classes``
    rows of ``classes`` for losses over a class axis, rows of 16 features for
    triplet). ``gb_per_s`` is the bytes of the inputs plus the derivative
    divided by the median time: the effective memory bandwidth.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for name in names or list(REGISTRY):
        entry = info(name)
        loss = get(entry.name, **_candidate(entry.name).params)
        if issubclass(entry.cls, RowwiseLoss):
            shape: tuple[int, ...] = (max(1, n // classes), classes)
        elif loss._n_inputs == 3:
            shape = (max(1, n // 16), 16)
        else:
            shape = (n,)
        drawn = loss._sample(rng, shape)
        for dtype in dtypes:
            inputs = [x.astype(dtype) if x.dtype.kind == "f" else x for x in drawn]
            loss.value_and_derivative(*inputs)  # warm-up
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                _, grad = loss.value_and_derivative(*inputs)
                times.append(time.perf_counter() - t0)
            grads = grad if isinstance(grad, tuple) else (grad,)
            nbytes = sum(x.nbytes for x in inputs) + sum(g.nbytes for g in grads)
            seconds = float(np.median(times))
            rows.append(
                {
                    "loss": entry.name,
                    "dtype": dtype,
                    "elements": int(np.prod(shape)),
                    "ms": 1e3 * seconds,
                    "gb_per_s": nbytes / seconds / 1e9 if seconds > 0 else math.inf,
                }
            )
    return rows
