"""Shared test data: the registry's option variants, input draws and dtype tolerances.

Other test files import these names (``from conftest import VARIANTS``); keep them stable.
``VARIANTS`` is the one list of losses the invariant, stability and backend suites iterate:
every registry name with its defaults, plus each option that changes the mathematics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import settings

import losskit
from losskit import LossFunction, RowwiseLoss

__all__ = [
    "VARIANTS",
    "Variant",
    "assert_allclose_dtype",
    "default_shape",
    "per_sample_shape",
    "rng",
    "variant_params",
]

settings.register_profile(
    "losskit", max_examples=40, deadline=None, derandomize=True, database=None
)
settings.load_profile("losskit")


def default_shape(loss: LossFunction) -> tuple[int, ...]:
    """A small input shape that exercises the loss (a class axis, a batch where needed)."""
    if isinstance(loss, RowwiseLoss | losskit.TripletLoss):
        return (4, 3)
    if isinstance(loss, losskit.MedicalImagingLoss):
        return (3, 4)
    if isinstance(loss, losskit.DiceLoss | losskit.JaccardLoss | losskit.TverskyLoss):
        return (3, 4, 2) if loss.per_class else (3, 4) if loss.per_sample else (5,)
    return (5,)


@dataclass(frozen=True)
class Variant:
    """One loss configuration and the input shape the suites draw for it."""

    id: str
    loss: LossFunction
    shape: tuple[int, ...]

    @property
    def name(self) -> str:
        """The registry name of the loss."""
        assert self.loss.name is not None
        return self.loss.name

    def inputs(self, rng: np.random.Generator, shape: tuple[int, ...] | None = None) -> tuple:
        """NumPy float64 inputs (integer labels where the loss takes labels), away from kinks."""
        return tuple(self.loss._sample(rng, shape or self.shape))


def _variant(name: str, shape: tuple[int, ...] | None = None, **params: Any) -> Variant:
    loss = losskit.get(name, **params)
    label = name + "".join(f"-{k}={v}" for k, v in params.items()).replace(" ", "")
    if shape is not None:
        label += "-shape=" + "x".join(map(str, shape))
    return Variant(label, loss, shape or default_shape(loss))


#: Every registry name with its defaults, then the options that change the formulas.
VARIANTS: list[Variant] = [
    *(_variant(name) for name in losskit.names()),
    _variant("huber", delta=0.3),
    _variant("smooth_l1", beta=0.5),
    _variant("smooth_l1", beta=0.0),
    _variant("quantile", quantile=0.1),
    _variant("quantile", quantile=0.9),
    _variant("poisson", log_input=False),
    _variant("poisson", full=True),
    _variant("poisson", log_input=False, full=True),
    _variant("binary_cross_entropy", from_logits=True),
    _variant("binary_cross_entropy", from_logits=True, pos_weight=3.0),
    _variant("binary_cross_entropy", (4, 3), from_logits=True, pos_weight=(0.5, 1.0, 4.0)),
    _variant("binary_cross_entropy", pos_weight=2.0),
    _variant("binary_cross_entropy", label_smoothing=0.1),
    _variant("binary_cross_entropy", from_logits=True, label_smoothing=0.2),
    _variant("categorical_cross_entropy", from_logits=True),
    _variant("categorical_cross_entropy", class_weight=(1.0, 2.0, 0.5)),
    _variant("categorical_cross_entropy", from_logits=True, class_weight=(1.0, 2.0, 0.5)),
    _variant("categorical_cross_entropy", label_smoothing=0.1),
    _variant("categorical_cross_entropy", from_logits=True, label_smoothing=0.1),
    _variant("sparse_categorical_cross_entropy", from_logits=True),
    _variant("sparse_categorical_cross_entropy", class_weight=(1.0, 2.0, 0.5)),
    _variant("sparse_categorical_cross_entropy", from_logits=True, class_weight=(1.0, 2.0, 0.5)),
    _variant("sparse_categorical_cross_entropy", from_logits=True, ignore_index=1),
    _variant("sparse_categorical_cross_entropy", from_logits=True, label_smoothing=0.1),
    _variant(
        "sparse_categorical_cross_entropy",
        from_logits=True,
        class_weight=(1.0, 2.0, 0.5),
        ignore_index=0,
        label_smoothing=0.2,
    ),
    _variant("sparse_categorical_cross_entropy", ignore_index=2, label_smoothing=0.1),
    _variant("hinge", margin=0.5),
    _variant("squared_hinge", margin=2.0),
    _variant("multiclass_hinge", p=2),
    _variant("multiclass_hinge", margin=0.5, class_weight=(1.0, 2.0, 0.5)),
    _variant("multiclass_hinge", p=2, margin=2.0, class_weight=(1.0, 2.0, 0.5)),
    _variant("focal", from_logits=True),
    _variant("focal", gamma=0.5),
    _variant("focal", gamma=0.5, from_logits=True),
    _variant("focal", gamma=1.0),
    _variant("focal", gamma=0.0, from_logits=True),
    _variant("focal", alpha=0.25),
    _variant("focal", alpha=0.25, gamma=3.0, from_logits=True),
    _variant("categorical_focal", from_logits=True),
    _variant("categorical_focal", gamma=0.5),
    _variant("categorical_focal", gamma=0.5, from_logits=True),
    _variant("categorical_focal", alpha=0.25, from_logits=True),
    _variant("categorical_focal", alpha=(0.2, 0.5, 0.3)),
    _variant("categorical_focal", from_logits=True, label_smoothing=0.1),
    _variant("weighted_cross_entropy", class_weights=(1.0, 5.0)),
    _variant("weighted_cross_entropy", class_weights=(2.0, 0.5), from_logits=True),
    _variant("dice", smooth=1.0),
    _variant("dice", per_sample=True),
    _variant("dice", per_class=True),
    _variant("dice", per_sample=True, per_class=True),
    _variant("jaccard", per_sample=True),
    _variant("tversky", alpha=0.3, beta=0.7),
    _variant("tversky", alpha=0.7, beta=0.3, per_sample=True, per_class=True),
    _variant("medical_imaging", (2, 3, 4)),
    _variant("medical_imaging", (6,), boundary_weight=1.0),
    _variant("medical_imaging", boundary_weight=0.0),
    _variant("kl_divergence", from_logits=True),
    _variant("contrastive", margin=2.0),
    _variant("triplet", p=1.0),
    _variant("triplet", p=3.0),
    _variant("triplet", swap=True),
    _variant("triplet", margin=0.5, eps=0.0),
]


def variant_params(variants: list[Variant] | None = None) -> list[Any]:
    """``VARIANTS`` (or a subset) as ``pytest.param`` objects with readable ids."""
    return [pytest.param(v, id=v.id) for v in (VARIANTS if variants is None else variants)]


def per_sample_shape(loss: LossFunction, inputs: tuple) -> tuple[int, ...]:
    """The shape of ``compute`` with ``reduction="none"`` (and of ``sample_weight``)."""
    return tuple(loss._sample_shape(tuple(np.asarray(x) for x in inputs)))


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: every test draws the same inputs on every run."""
    return np.random.default_rng(20240607)


def assert_allclose_dtype(
    actual: Any, desired: Any, dtype: Any, *, k: float = 8.0, scale: float | None = None
) -> None:
    """``|actual - desired| <= k eps (|desired| + scale)`` with ``eps`` of ``dtype``.

    ``scale`` (default: the largest ``|desired|``, at least 1) sets the absolute
    part for entries that cancel to near zero.
    """
    desired = np.asarray(desired, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    eps = float(np.finfo(dtype).eps)
    if scale is None:
        finite = desired[np.isfinite(desired)]
        scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
    np.testing.assert_allclose(actual, desired, rtol=k * eps, atol=k * eps * scale)
