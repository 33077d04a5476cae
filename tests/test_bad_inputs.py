"""Bad inputs and bad parameters (SPEC §2, §3): one catalogue, replayed by one test each.

PyTorch's ``error_inputs_func`` is the model: every row names the loss, the inputs, the
exception type and a regex its message must match, so a wrong message fails as surely
as a missing check. NaN is not a bad input: it propagates (last tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import losskit
from conftest import Variant, variant_params
from losskit import LossFunction

rng = np.random.default_rng(7)
P = rng.uniform(0.05, 0.95, size=(4, 3))  # valid probabilities
Y = (rng.uniform(size=(4, 3)) < 0.5).astype(float)  # hard binary labels
X = rng.normal(size=(4, 3))  # logits / real predictions
ROWS = P / P.sum(-1, keepdims=True)  # probability rows
LABELS = np.array([0, 2, 1, 1])


@dataclass(frozen=True)
class Bad:
    """One catalogue row: calling ``loss.<method>(*inputs, **kwargs)`` must raise."""

    id: str
    loss: LossFunction
    inputs: tuple[Any, ...]
    error: type[Exception]
    match: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    method: str = "compute"


L = losskit
CATALOGUE = [
    # --- shapes never match by broadcasting; the message names both shapes
    Bad(
        "mse (3,) vs (4,)",
        L.MeanSquaredError(),
        (np.zeros(3), np.zeros(4)),
        ValueError,
        r"\(3,\).*\(4,\)",
    ),
    Bad(
        "mse (4,1) vs (4,)",
        L.MeanSquaredError(),
        (np.zeros((4, 1)), np.zeros(4)),
        ValueError,
        r"\(4, 1\).*\(4,\)",
    ),
    Bad(
        "bce (4,) vs (4,1)",
        L.BinaryCrossEntropy(),
        (np.zeros(4), np.full((4, 1), 0.5)),
        ValueError,
        r"\(4,\).*\(4, 1\)",
    ),
    Bad(
        "cce (4,3) vs (4,2)",
        L.CategoricalCrossEntropy(),
        (ROWS, ROWS[:, :2]),
        ValueError,
        r"\(4, 3\).*\(4, 2\)",
    ),
    Bad(
        "scce labels (4,1)",
        L.SparseCategoricalCrossEntropy(),
        (LABELS[:, None], ROWS),
        ValueError,
        r"labels have shape \(4, 1\) but y_pred has shape \(4, 3\)",
    ),
    Bad(
        "scce labels (3,)",
        L.SparseCategoricalCrossEntropy(),
        (LABELS[:3], ROWS),
        ValueError,
        r"\(3,\).*\(4, 3\)",
    ),
    Bad(
        "multiclass hinge labels (4,3)",
        L.MulticlassHingeLoss(),
        (Y.astype(int), X),
        ValueError,
        r"\(4, 3\).*\(4, 3\).*without its last",
    ),
    Bad("dice", L.DiceLoss(), (Y, P[:, :2]), ValueError, r"\(4, 3\).*\(4, 2\)"),
    Bad("medical", L.MedicalImagingLoss(), (Y[:3], P), ValueError, r"\(3, 3\).*\(4, 3\)"),
    Bad(
        "triplet anchor vs positive",
        L.TripletLoss(),
        (X, X[:3], X),
        ValueError,
        r"anchor has shape \(4, 3\) but positive has shape \(3, 3\)",
    ),
    Bad(
        "triplet anchor vs negative",
        L.TripletLoss(),
        (X, X, X[:, :2]),
        ValueError,
        r"anchor.*\(4, 3\).*negative.*\(4, 2\)",
    ),
    Bad("kl", L.KLDivergence(), (ROWS[:2], ROWS), ValueError, r"\(2, 3\).*\(4, 3\)"),
    # --- probabilities outside [0, 1] with from_logits=False
    Bad(
        "bce p > 1",
        L.BinaryCrossEntropy(),
        (Y, P + 1.0),
        ValueError,
        r"y_pred must lie in \[0, 1\].*from_logits=True",
    ),
    Bad(
        "bce p < 0",
        L.BinaryCrossEntropy(),
        (np.array([1.0, 0.0]), np.array([-0.5, 0.25])),
        ValueError,
        r"y_pred must lie in \[0, 1\].*found values in \[-0\.5, 0\.25\]",
    ),
    Bad("focal p > 1", L.FocalLoss(), (Y, P * 2), ValueError, r"y_pred must lie in \[0, 1\]"),
    Bad(
        "weighted ce logits as p",
        L.WeightedCrossEntropy(),
        (Y, X),
        ValueError,
        r"y_pred must lie in \[0, 1\]",
    ),
    Bad(
        "cce p > 1",
        L.CategoricalCrossEntropy(),
        (ROWS, ROWS + 1),
        ValueError,
        r"y_pred must lie in \[0, 1\]",
    ),
    Bad(
        "scce p < 0",
        L.SparseCategoricalCrossEntropy(),
        (LABELS, -ROWS),
        ValueError,
        r"y_pred must lie in \[0, 1\]",
    ),
    Bad(
        "categorical focal logits as p",
        L.CategoricalFocalLoss(),
        (ROWS, X),
        ValueError,
        r"y_pred must lie in \[0, 1\]",
    ),
    Bad("kl p > 1", L.KLDivergence(), (ROWS, ROWS * 4), ValueError, r"y_pred must lie in \[0, 1\]"),
    Bad("dice p > 1", L.DiceLoss(), (Y, P + 1), ValueError, r"y_pred must lie in \[0, 1\]"),
    Bad(
        "medical p < 0", L.MedicalImagingLoss(), (Y, -P), ValueError, r"y_pred must lie in \[0, 1\]"
    ),
    # --- labels and targets outside their domain
    Bad(
        "bce label 2 (torch: silently -2.95)",
        L.BinaryCrossEntropy(from_logits=True),
        (Y * 2, X),
        ValueError,
        r"labels y_true must lie in \[0, 1\]",
    ),
    Bad(
        "focal label -1",
        L.FocalLoss(from_logits=True),
        (Y - 1, X),
        ValueError,
        r"labels y_true must lie in \[0, 1\]",
    ),
    Bad(
        "weighted ce label 3",
        L.WeightedCrossEntropy(),
        (Y * 3, P),
        ValueError,
        r"labels y_true must lie in \[0, 1\]",
    ),
    Bad(
        "cce target 2",
        L.CategoricalCrossEntropy(from_logits=True),
        (ROWS * 2 + 1, X),
        ValueError,
        r"targets y_true must lie in \[0, 1\]",
    ),
    Bad(
        "kl target -0.1",
        L.KLDivergence(from_logits=True),
        (ROWS - 0.5, X),
        ValueError,
        r"y_true must lie in \[0, 1\]",
    ),
    Bad("dice mask 2", L.DiceLoss(), (Y * 2, P), ValueError, r"masks y_true must lie in \[0, 1\]"),
    Bad(
        "contrastive pair label 2",
        L.ContrastiveLoss(),
        (Y[0] * 2, P[0]),
        ValueError,
        r"pair labels y_true must lie in \[0, 1\]",
    ),
    Bad(
        "scce label = C",
        L.SparseCategoricalCrossEntropy(from_logits=True),
        (np.array([0, 3, 1, 1]), X),
        ValueError,
        r"class labels must lie in \[0, 3\); found 3",
    ),
    Bad(
        "scce label -1",
        L.SparseCategoricalCrossEntropy(from_logits=True),
        (np.array([0, -1, 1, 1]), X),
        ValueError,
        r"\[0, 3\); found -1",
    ),
    Bad(
        "scce label -1 with ignore_index=-100",
        L.SparseCategoricalCrossEntropy(from_logits=True, ignore_index=-100),
        (np.array([0, -1, -100, 1]), X),
        ValueError,
        r"\[0, 3\) or equal ignore_index=-100; found -1",
    ),
    Bad(
        "multiclass hinge label 5",
        L.MulticlassHingeLoss(),
        (np.array([0, 5, 1, 1]), X),
        ValueError,
        r"\[0, 3\); found 5",
    ),
    Bad(
        "scce float labels",
        L.SparseCategoricalCrossEntropy(),
        (LABELS.astype(float), ROWS),
        TypeError,
        r"class labels must be an integer array; got dtype float64",
    ),
    Bad(
        "multiclass hinge float labels",
        L.MulticlassHingeLoss(),
        (LABELS.astype(float), X),
        TypeError,
        r"integer array",
    ),
    Bad(
        "hinge label 2",
        L.HingeLoss(),
        (np.array([1.0, -1.0, 2.0]), X[0]),
        ValueError,
        r"hinge labels must lie in \{-1, 1\} \(or all in \{0, 1\}\); found 2",
    ),
    Bad(
        "hinge label 0.5",
        L.SquaredHingeLoss(),
        (np.array([1.0, 0.5, 0.0]), X[0]),
        ValueError,
        r"found 0\.5",
    ),
    Bad(
        "hinge labels mix -1 and 0",
        L.HingeLoss(),
        (np.array([1.0, -1.0, 0.0]), X[0]),
        ValueError,
        r"mix -1 and 0",
    ),
    Bad(
        "poisson negative count",
        L.PoissonLoss(),
        (np.array([1.0, -2.0]), np.zeros(2)),
        ValueError,
        r"Poisson targets \(counts\) must be non-negative; found -2",
    ),
    Bad(
        "poisson negative rate",
        L.PoissonLoss(log_input=False),
        (np.ones(2), np.array([0.5, -0.1])),
        ValueError,
        r"rates.*must be non-negative; found -0\.1",
    ),
    Bad(
        "contrastive negative distance",
        L.ContrastiveLoss(),
        (np.ones(3), np.array([0.1, -0.5, 1.0])),
        ValueError,
        r"distances y_pred must be non-negative; found -0\.5",
    ),
    # --- dtypes
    Bad(
        "mse integer predictions",
        L.MeanSquaredError(),
        (np.ones(3), np.ones(3, dtype=int)),
        TypeError,
        r"y_pred must be a real floating-point array; got dtype int64",
    ),
    Bad(
        "bce bool predictions",
        L.BinaryCrossEntropy(),
        (np.ones(3), np.ones(3, dtype=bool)),
        TypeError,
        r"y_pred must be a real floating-point array; got dtype bool",
    ),
    Bad(
        "cce integer predictions",
        L.CategoricalCrossEntropy(),
        (ROWS, np.ones((4, 3), dtype=int)),
        TypeError,
        r"floating-point",
    ),
    Bad(
        "triplet integer anchor",
        L.TripletLoss(),
        (np.ones((2, 3), dtype=int), X[:2], X[:2]),
        TypeError,
        r"embeddings must be a real floating-point array",
    ),
    Bad(
        "triplet integer negative",
        L.TripletLoss(),
        (X[:2], X[:2], np.ones((2, 3), dtype=int)),
        TypeError,
        r"negative must be a real floating-point array",
    ),
    Bad(
        "mse complex predictions",
        L.MeanSquaredError(),
        (np.ones(2), np.ones(2, dtype=complex)),
        TypeError,
        r"real floating-point",
    ),
    Bad(
        "mse string targets",
        L.MeanSquaredError(),
        (np.array(["a", "b"]), np.ones(2)),
        TypeError,
        r"y_true must be a real numeric array",
    ),
    # --- empty input, reductions, sample weights
    Bad(
        "mse empty mean",
        L.MeanSquaredError(),
        (np.zeros(0), np.zeros(0)),
        ValueError,
        r"cannot take the mean over an empty batch.*reduction='sum'",
    ),
    Bad(
        "cce empty batch mean",
        L.CategoricalCrossEntropy(from_logits=True),
        (np.zeros((0, 3)), np.zeros((0, 3))),
        ValueError,
        r"empty batch",
    ),
    Bad("triplet empty mean", L.TripletLoss(), (np.zeros((0, 3)),) * 3, ValueError, r"empty batch"),
    Bad(
        "sample_weight wrong length",
        L.MeanSquaredError(),
        (np.zeros(4), np.zeros(4)),
        ValueError,
        r"sample_weight has shape \(3,\).*per-sample shape \(4,\)",
        {"sample_weight": np.ones(3)},
    ),
    Bad(
        "sample_weight too many axes",
        L.CategoricalCrossEntropy(),
        (ROWS, ROWS),
        ValueError,
        r"sample_weight has shape \(4, 3\).*per-sample shape \(4,\)",
        {"sample_weight": np.ones((4, 3))},
    ),
    Bad(
        "sample_weight for a global dice",
        L.DiceLoss(),
        (Y, P),
        ValueError,
        r"sample_weight has shape \(4,\).*per-sample shape \(\)",
        {"sample_weight": np.ones(4)},
    ),
    Bad(
        "sample_weight strings",
        L.MeanSquaredError(),
        (np.zeros(2), np.zeros(2)),
        TypeError,
        r"sample_weight must be a real numeric array",
        {"sample_weight": np.array(["a", "b"])},
    ),
    # --- class-axis losses: at least one axis, enough classes, per-class parameters that fit
    Bad(
        "cce 0-d",
        L.CategoricalCrossEntropy(),
        (np.float64(1.0), np.float64(1.0)),
        ValueError,
        r"at least one axis, the class axis",
    ),
    Bad(
        "scce 0-d",
        L.SparseCategoricalCrossEntropy(),
        (np.int64(0), np.float64(1.0)),
        ValueError,
        r"at least one axis",
    ),
    Bad(
        "kl 0-d",
        L.KLDivergence(),
        (np.float64(1.0), np.float64(1.0)),
        ValueError,
        r"at least one axis",
    ),
    Bad("triplet 0-d", L.TripletLoss(), (np.float64(1.0),) * 3, ValueError, r"at least one axis"),
    Bad(
        "medical 0-d",
        L.MedicalImagingLoss(),
        (np.float64(1.0), np.float64(0.5)),
        ValueError,
        r"not a 0-d array",
    ),
    Bad(
        "dice per_sample per_class on 1-d",
        L.DiceLoss(per_sample=True, per_class=True),
        (Y[0], P[0]),
        ValueError,
        r"needs y_pred with at least 2 axes",
    ),
    Bad(
        "softmax over one class",
        L.CategoricalCrossEntropy(from_logits=True),
        (np.ones((4, 1)), X[:, :1]),
        ValueError,
        r"at least 2 classes.*binary_cross_entropy",
    ),
    Bad(
        "sparse softmax over one class",
        L.SparseCategoricalCrossEntropy(from_logits=True),
        (np.zeros(4, dtype=int), X[:, :1]),
        ValueError,
        r"at least 2 classes",
    ),
    Bad(
        "cce class_weight length",
        L.CategoricalCrossEntropy(class_weight=(1.0, 2.0)),
        (ROWS, ROWS),
        ValueError,
        r"class_weight has 2 entries but y_pred has 3 classes",
    ),
    Bad(
        "scce class_weight length",
        L.SparseCategoricalCrossEntropy(class_weight=(1.0, 2.0, 3.0, 4.0)),
        (LABELS, ROWS),
        ValueError,
        r"class_weight has 4 entries but y_pred has 3 classes",
    ),
    Bad(
        "multiclass hinge class_weight length",
        L.MulticlassHingeLoss(class_weight=(1.0, 2.0)),
        (LABELS, X),
        ValueError,
        r"class_weight has 2 entries",
    ),
    Bad(
        "categorical focal alpha length",
        L.CategoricalFocalLoss(alpha=(0.5, 0.5)),
        (ROWS, ROWS),
        ValueError,
        r"alpha has 2 entries but y_pred has 3 classes",
    ),
    Bad(
        "bce pos_weight length",
        L.BinaryCrossEntropy(pos_weight=(1.0, 2.0)),
        (Y, P),
        ValueError,
        r"pos_weight has 2 entries but y_pred has 3 classes",
    ),
    Bad(
        "bce pos_weight sequence on 0-d",
        L.BinaryCrossEntropy(pos_weight=(1.0,)),
        (np.float64(1.0), np.float64(0.5)),
        ValueError,
        r"sequence pos_weight needs y_pred with a last axis",
    ),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CATALOGUE])
def test_bad_input_raises(case: Bad) -> None:
    for method in ("compute", "derivative", "hessian"):
        with pytest.raises(case.error, match=case.match):
            getattr(case.loss, method)(*case.inputs, **case.kwargs)


# --------------------------------------------------------------------------
# constructor parameters: ValueError naming the parameter and its range
# --------------------------------------------------------------------------

BAD_PARAMS: list[tuple[str, dict[str, Any], str]] = [
    ("huber", {"delta": 0.0}, r"delta must be a real number in \(0, inf\]; got 0\.0"),
    ("huber", {"delta": -1.0}, r"delta must be .* \(0, inf\]"),
    ("huber", {"delta": float("nan")}, r"delta must be"),
    ("huber", {"delta": "1"}, r"delta must be a real number.*got '1'"),
    ("huber", {"delta": True}, r"delta must be a real number.*got True"),
    ("smooth_l1", {"beta": -0.1}, r"beta must be a real number in \[0, inf\]; got -0\.1"),
    ("quantile", {"quantile": 0.0}, r"quantile must be a real number in \(0, 1\); got 0\.0"),
    ("quantile", {"quantile": 1.0}, r"quantile must be .*\(0, 1\)"),
    ("quantile", {"quantile": 1.5}, r"quantile must be .*\(0, 1\)"),
    ("quantile", {"quantile": None}, r"quantile must be .*got None"),
    ("poisson", {"eps": 0.0}, r"eps must be a real number in \(0, inf\]"),
    ("poisson", {"log_input": 1}, r"log_input must be True or False; got 1"),
    ("poisson", {"full": "no"}, r"full must be True or False"),
    ("binary_cross_entropy", {"from_logits": 1}, r"from_logits must be True or False; got 1"),
    (
        "binary_cross_entropy",
        {"label_smoothing": -0.1},
        r"label_smoothing must be a real number in \[0, 1\]; got -0\.1",
    ),
    ("binary_cross_entropy", {"label_smoothing": 1.5}, r"label_smoothing must be .*\[0, 1\]"),
    (
        "binary_cross_entropy",
        {"pos_weight": -1.0},
        r"pos_weight must be a real number in \[0, inf\]",
    ),
    (
        "binary_cross_entropy",
        {"pos_weight": (1.0, -2.0)},
        r"pos_weight\[1\] must be a real number in \[0, inf\)",
    ),
    ("binary_cross_entropy", {"pos_weight": ()}, r"pos_weight must not be empty"),
    ("categorical_cross_entropy", {"class_weight": (1.0, -1.0)}, r"class_weight\[1\] must be"),
    (
        "categorical_cross_entropy",
        {"class_weight": (1.0, float("inf"))},
        r"class_weight\[1\] must be .*\[0, inf\)",
    ),
    (
        "categorical_cross_entropy",
        {"class_weight": 3.0},
        r"class_weight must be a sequence of non-negative numbers",
    ),
    ("categorical_cross_entropy", {"label_smoothing": -0.1}, r"label_smoothing must be .*\[0, 1\]"),
    ("categorical_cross_entropy", {"from_logits": "yes"}, r"from_logits must be True or False"),
    ("sparse_categorical_cross_entropy", {"from_logits": 0}, r"from_logits must be True or False"),
    (
        "sparse_categorical_cross_entropy",
        {"ignore_index": 1.5},
        r"ignore_index must be an integer or None; got 1\.5",
    ),
    (
        "sparse_categorical_cross_entropy",
        {"ignore_index": True},
        r"ignore_index must be an integer or None",
    ),
    (
        "sparse_categorical_cross_entropy",
        {"label_smoothing": 2.0},
        r"label_smoothing must be .*\[0, 1\]",
    ),
    (
        "sparse_categorical_cross_entropy",
        {"class_weight": ("a", "b")},
        r"class_weight\[0\] must be a real number",
    ),
    ("hinge", {"margin": -1.0}, r"margin must be a real number in \[0, inf\]; got -1\.0"),
    ("squared_hinge", {"margin": -0.5}, r"margin must be"),
    ("multiclass_hinge", {"p": 3}, r"p must be one of 1, 2; got 3"),
    ("multiclass_hinge", {"p": True}, r"p must be one of 1, 2; got True"),
    ("multiclass_hinge", {"margin": -1.0}, r"margin must be"),
    ("multiclass_hinge", {"class_weight": (-1.0, 1.0, 1.0)}, r"class_weight\[0\] must be"),
    ("focal", {"gamma": -1.0}, r"gamma must be a real number in \[0, inf\]; got -1\.0"),
    ("focal", {"alpha": 1.5}, r"alpha must be a real number in \[0, 1\]; got 1\.5"),
    ("focal", {"alpha": -0.1}, r"alpha must be .*\[0, 1\]"),
    ("categorical_focal", {"gamma": -0.5}, r"gamma must be"),
    ("categorical_focal", {"alpha": -1.0}, r"alpha must be a real number in \[0, inf\]"),
    ("categorical_focal", {"alpha": (0.5, -0.5)}, r"alpha\[1\] must be"),
    ("categorical_focal", {"label_smoothing": 1.1}, r"label_smoothing must be"),
    (
        "weighted_cross_entropy",
        {"class_weights": (1.0,)},
        r"class_weights must have 2 entries; got 1",
    ),
    (
        "weighted_cross_entropy",
        {"class_weights": (1.0, 2.0, 3.0)},
        r"class_weights must have 2 entries; got 3",
    ),
    ("weighted_cross_entropy", {"class_weights": (-1.0, 1.0)}, r"class_weights\[0\] must be"),
    ("weighted_cross_entropy", {"class_weights": None}, r"class_weights"),
    ("dice", {"smooth": -1.0}, r"smooth must be a real number in \[0, inf\]; got -1\.0"),
    ("dice", {"per_sample": "yes"}, r"per_sample must be True or False"),
    ("jaccard", {"per_class": 1}, r"per_class must be True or False; got 1"),
    ("tversky", {"alpha": -1.0}, r"alpha must be a real number in \[0, inf\]"),
    ("tversky", {"beta": -0.5}, r"beta must be"),
    (
        "medical_imaging",
        {"boundary_weight": -0.3},
        r"boundary_weight must be a real number in \[0, inf\]",
    ),
    ("kl_divergence", {"from_logits": None}, r"from_logits must be True or False"),
    ("contrastive", {"margin": -1.0}, r"margin must be"),
    ("triplet", {"margin": -1.0}, r"margin must be"),
    ("triplet", {"p": 0.5}, r"p must be a real number in \[1, inf\]; got 0\.5"),
    ("triplet", {"eps": -1e-6}, r"eps must be"),
    ("triplet", {"swap": "no"}, r"swap must be True or False"),
    ("focal", {"from_logits": "true"}, r"from_logits must be True or False"),
    ("categorical_focal", {"from_logits": 1.0}, r"from_logits must be True or False"),
    ("weighted_cross_entropy", {"from_logits": None}, r"from_logits must be True or False"),
    ("dice", {"per_class": "no"}, r"per_class must be True or False"),
    ("jaccard", {"smooth": -0.1}, r"smooth must be a real number in \[0, inf\]"),
    ("jaccard", {"per_sample": 0}, r"per_sample must be True or False; got 0"),
    ("tversky", {"smooth": float("nan")}, r"smooth must be"),
    ("tversky", {"per_sample": None}, r"per_sample must be True or False"),
    ("tversky", {"per_class": []}, r"per_class must be True or False"),
    *(
        (name, {"reduction": "avg"}, r"reduction must be one of 'mean', 'sum', 'none'; got 'avg'")
        for name in losskit.names()
    ),
    ("mse", {"reduction": None}, r"reduction must be one of .*got None"),
    ("mse", {"reduction": "MEAN"}, r"reduction must be one of"),
]


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [pytest.param(n, p, m, id=f"{n}-{p}") for n, p, m in BAD_PARAMS],
)
def test_bad_parameter_raises(name: str, params: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        losskit.get(name, **params)


def test_every_parameter_is_checked() -> None:
    """Each constructor parameter of each loss has at least one bad-value row above."""
    covered = {(name, key) for name, params, _ in BAD_PARAMS for key in params}
    for name in losskit.names():
        for key in losskit.info(name).defaults:
            assert (name, key) in covered, f"no bad value tested for {name}({key}=...)"


@pytest.mark.parametrize("name", losskit.names())
def test_parameters_are_keyword_only(name: str) -> None:
    cls = losskit.REGISTRY[name].cls
    with pytest.raises(TypeError):
        cls("mean")
    with pytest.raises(TypeError, match="unexpected keyword"):
        cls(not_a_parameter=1)


def test_unknown_loss_name_lists_close_matches() -> None:
    with pytest.raises(ValueError, match=r"unknown loss 'hubber'; did you mean 'huber'"):
        losskit.get("hubber")
    with pytest.raises(ValueError, match=r"did you mean .*'binary_cross_entropy'"):
        losskit.get("binary_crossentropy")
    with pytest.raises(
        ValueError, match=r"unknown loss 'zzz' \(losskit.names\(\) lists them all\)"
    ):
        losskit.info("zzz")
    with pytest.raises(ValueError, match=r"unknown task 'vision'"):
        losskit.names(task="vision")


# --------------------------------------------------------------------------
# NaN is not an error: it propagates
# --------------------------------------------------------------------------


@pytest.mark.parametrize("variant", variant_params())
def test_nan_propagates(variant: Variant) -> None:
    """A NaN in any floating input gives a NaN loss and a NaN derivative, and raises nothing
    (like NumPy and PyTorch); for element-wise losses exactly the NaN element is NaN."""
    for k, x in enumerate(variant.inputs(np.random.default_rng(3))):
        if np.asarray(x).dtype.kind != "f":
            continue
        inputs = [np.array(v) for v in variant.inputs(np.random.default_rng(3))]
        inputs[k].flat[0] = np.nan
        assert np.isnan(variant.loss.compute(*inputs))
        grad = variant.loss.derivative(*inputs)
        grads = grad if isinstance(grad, tuple) else (grad,)
        assert any(np.isnan(g).any() for g in grads)
        if isinstance(variant.loss, losskit.ElementwiseLoss):
            none = variant.loss.replace(reduction="none")
            nan_at = np.isnan(none.compute(*inputs))
            np.testing.assert_array_equal(nan_at, np.isnan(inputs[k]))
            np.testing.assert_array_equal(np.isnan(none.derivative(*inputs)), nan_at)


def test_validation_never_skips_value_checks_only() -> None:
    """Under ``validation("never")`` value checks are skipped, shape and dtype checks are not."""
    with losskit.validation("never"):
        losskit.BinaryCrossEntropy()(Y, P + 1.0)  # out of range, unchecked: no raise
        with pytest.raises(ValueError, match="shape"):
            losskit.MeanSquaredError()(np.zeros(3), np.zeros(4))
        with pytest.raises(TypeError, match="floating-point"):
            losskit.MeanSquaredError()(np.zeros(3), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="must lie in"):
        losskit.BinaryCrossEntropy()(Y, P + 1.0)
