"""The documentation's examples run: README.md and every module's docstrings (doctest)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import losskit

ROOT = Path(__file__).resolve().parents[1]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

#: Modules whose examples need an optional library.
OPTIONAL = {
    "losskit.integrations.xgboost": "xgboost",
    "losskit.integrations.lightgbm": "lightgbm",
    "losskit.integrations._gbdt": "lightgbm",
    "losskit.torch": "torch",
}


def _modules() -> list[str]:
    """Every module but ``__main__``, which runs the command line when imported."""
    names = (m.name for m in pkgutil.walk_packages(losskit.__path__, "losskit."))
    return sorted(n for n in names if n != "losskit.__main__")


def test_readme_examples() -> None:
    for library in ("torch", "jax", "xgboost"):
        pytest.importorskip(library)
    result = doctest.testfile(str(ROOT / "README.md"), module_relative=False, optionflags=FLAGS)
    assert result.attempted > 20
    assert result.failed == 0


@pytest.mark.parametrize("name", _modules())
def test_module_docstring_examples(name: str) -> None:
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name])
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=FLAGS)
    assert result.failed == 0


def test_seed_errata_cite_existing_tests() -> None:
    """Every test that docs/seed-errata.md names exists in tests/test_seed.py."""
    errata = (ROOT / "docs" / "seed-errata.md").read_text()
    seed_tests = (ROOT / "tests" / "test_seed.py").read_text()
    cited = set(re.findall(r"`(test_\w+)`", errata))
    assert len(cited) >= 10
    for name in cited:
        assert f"def {name}(" in seed_tests, name


def test_readme_lists_every_loss() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in losskit.names():
        assert f"`{name}`" in readme, name
