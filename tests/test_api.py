"""The public API: ``__all__``, the registry (``get``, ``names``, ``info``) and validation modes."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import types

import numpy as np
import pytest

import losskit
from losskit._registry import ALIASES, TASKS

HESSIAN_KINDS = {"exact", "exact almost everywhere", "zero almost everywhere", "not available"}


def test_all_is_exactly_the_public_names() -> None:
    public = {
        name
        for name in dir(losskit)
        if not name.startswith("_") and not isinstance(getattr(losskit, name), types.ModuleType)
    }
    assert public <= set(losskit.__all__)
    assert len(losskit.__all__) == len(set(losskit.__all__))
    namespace: dict[str, object] = {}
    exec("from losskit import *", namespace)  # the star import gives __all__, nothing more
    assert set(namespace) - {"__builtins__"} == set(losskit.__all__)
    for name in losskit.__all__:
        assert getattr(losskit, name) is namespace[name]
    # public attributes that are modules are losskit's own subpackages (imported lazily or not)
    for name in dir(losskit):
        value = getattr(losskit, name)
        if not name.startswith("_") and isinstance(value, types.ModuleType):
            assert value.__name__ == f"losskit.{name}"


def test_numerics_all() -> None:
    expected = {"clip_grad_norm", "log_sigmoid", "log_softmax", "logsumexp", "sigmoid", "softmax"}
    assert expected | {"softplus", "xlogy"} == set(losskit.numerics.__all__)
    for name in losskit.numerics.__all__:
        assert callable(getattr(losskit.numerics, name))


def test_version_is_the_distribution_version() -> None:
    assert losskit.__version__ == importlib.metadata.version("losskit")


@pytest.mark.parametrize("name", losskit.names())
def test_every_registry_class_is_exported(name: str) -> None:
    cls = losskit.REGISTRY[name].cls
    assert getattr(losskit, cls.__name__) is cls
    assert cls.__name__ in losskit.__all__
    assert cls.name == name
    assert issubclass(cls, losskit.LossFunction)
    assert cls.__doc__, "every loss documents its formulas"


def test_names() -> None:
    names = losskit.names()
    assert len(names) == 23
    assert len(set(names)) == 23
    assert names == list(losskit.REGISTRY)
    by_task = [n for task in TASKS for n in losskit.names(task=task)]
    assert sorted(by_task) == sorted(names)  # every loss has exactly one task
    assert losskit.names(task="regression") == [
        "mse", "mae", "huber", "smooth_l1", "log_cosh", "quantile", "poisson"
    ]  # fmt: skip


def test_get_with_aliases_and_params() -> None:
    assert losskit.get("mse") == losskit.MeanSquaredError()
    assert losskit.get("l2") == losskit.MeanSquaredError()
    assert losskit.get("L1") == losskit.MeanAbsoluteError()
    assert losskit.get("Binary-Cross-Entropy") == losskit.BinaryCrossEntropy()
    assert losskit.get(" bce ", from_logits=True) == losskit.BinaryCrossEntropy(from_logits=True)
    assert losskit.get("huber", delta=0.5, reduction="sum") == losskit.HuberLoss(
        delta=0.5, reduction="sum"
    )
    assert losskit.get("iou", per_sample=True) == losskit.JaccardLoss(per_sample=True)
    for alias, target in ALIASES.items():
        assert target in losskit.REGISTRY
        assert type(losskit.get(alias)) is losskit.REGISTRY[target].cls
        assert losskit.info(alias) is losskit.info(target)
    with pytest.raises(ValueError, match="must be a string"):
        losskit.get(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", losskit.names())
def test_info_fields(name: str) -> None:
    entry = losskit.info(name)
    assert entry.name == name
    assert entry.task in TASKS
    for text in (entry.summary, entry.inputs, entry.formula, entry.derivative, entry.hessian):
        assert isinstance(text, str)
        assert text.strip()
    for flag in (entry.convex, entry.robust, entry.smooth, entry.bounded):
        assert isinstance(flag, bool)
    assert entry.hessian_kind in HESSIAN_KINDS
    assert entry.has_hessian == (entry.hessian_kind != "not available")
    assert entry.references
    assert all(isinstance(r, str) and r for r in entry.references)
    assert set(entry.params) == set(entry.defaults), "every parameter is documented"
    assert entry.defaults == entry.cls().params
    data = entry.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["cls"] == f"losskit.{entry.cls.__name__}"
    assert data["has_hessian"] == entry.has_hessian


@pytest.mark.parametrize("name", losskit.names())
def test_info_hessian_kind_matches_the_loss(name: str, rng: np.random.Generator) -> None:
    """ "zero almost everywhere" Hessians are 0 on a draw away from kinks; the others are not;
    every loss whose info says it has a Hessian implements it."""
    entry = losskit.info(name)
    loss = entry.cls()
    inputs = loss._sample(rng, (4, 3))
    hess = loss.hessian(*inputs)
    flat = np.concatenate([np.ravel(h) for h in (hess if isinstance(hess, tuple) else (hess,))])
    if entry.hessian_kind == "zero almost everywhere":
        np.testing.assert_array_equal(flat, 0.0)
    elif entry.hessian_kind == "exact":  # (multiclass hinge's is 0 for p = 1, not for p = 2)
        assert np.any(flat != 0)


@pytest.mark.parametrize("name", [n for n in losskit.names() if losskit.info(n).bounded])
def test_bounded_losses_stay_in_the_unit_interval(name: str, rng: np.random.Generator) -> None:
    loss = losskit.info(name).cls(reduction="none")
    values = np.concatenate([np.ravel(loss(*loss._sample(rng, (20, 3)))) for _ in range(5)])
    assert np.all(values >= 0)
    assert np.all(values <= 1)


def test_validation_mode_api() -> None:
    assert losskit.validation_mode() == "auto"
    old = losskit.set_validation("never")
    try:
        assert old == "auto"
        assert losskit.validation_mode() == "never"
        with losskit.validation("always"):
            assert losskit.validation_mode() == "always"
            with losskit.validation(False):
                assert losskit.validation_mode() == "never"
            assert losskit.validation_mode() == "always"
        assert losskit.validation_mode() == "never"
        assert losskit.set_validation(True) == "never"
        assert losskit.validation_mode() == "always"
    finally:
        losskit.set_validation("auto")
    with pytest.raises(ValueError, match="validation mode must be"):
        losskit.set_validation("sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="validation mode must be"), losskit.validation("x"):  # type: ignore[arg-type]
        pass
    assert losskit.validation_mode() == "auto"


def test_validation_mode_controls_value_checks() -> None:
    bad = (np.array([1.0, 0.0]), np.array([1.5, 0.5]))
    with pytest.raises(ValueError, match="must lie in"):
        losskit.BinaryCrossEntropy()(*bad)
    with losskit.validation("never"), np.errstate(invalid="ignore"):
        losskit.BinaryCrossEntropy()(*bad)  # unchecked: no error
    with losskit.validation("always"), pytest.raises(ValueError, match="must lie in"):
        losskit.BinaryCrossEntropy()(*bad)


def test_gradient_check_result() -> None:
    check = losskit.check_gradients(losskit.HuberLoss(delta=0.5))
    assert isinstance(check, losskit.GradientCheck)
    assert check.ok
    assert bool(check)
    assert check.n_checked == 5
    assert check.loss == "HuberLoss(delta=0.5)"
    failing = losskit.GradientCheck(loss="x", grad_error=2.0, hess_error=None, n_checked=1)
    assert not failing
    with pytest.raises(TypeError, match="needs a losskit loss"):
        losskit.check_gradients(lambda y, p: 0.0)  # type: ignore[arg-type]


def test_package_imports_without_optional_extras() -> None:
    """The core imports only numpy, scipy and array-api-compat (SPEC §1)."""
    code = (
        "import sys, losskit; "
        "heavy = {'torch', 'matplotlib', 'sklearn', 'rich', 'jax', 'xgboost', 'lightgbm'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
