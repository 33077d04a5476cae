"""The command line through its real entry points: ``main([...])``, ``python -m`` and the script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import losskit
from losskit.cli import INSTALL_HINT, main

COMMANDS = ["list", "show", "plot", "recommend", "compare", "check", "bench"]
FAST = ["--folds", "2", "--max-iter", "20"]


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    """Every command runs in its own empty directory (a plain compare writes its report there)."""
    monkeypatch.chdir(tmp_path)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def bad(capsys, *argv: str, match: str) -> str:
    """Run a command that must fail with status 2 and one line on stderr naming ``match``."""
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert match in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    """A small table: a regression target y, a binary label, a 3-class kind, a text column."""
    rng = np.random.default_rng(0)
    lines = ["a,b,color,y,label,kind"]
    for i in range(60):
        a, b = rng.normal(size=2)
        color = ["red", "green", "blue"][i % 3]
        y = 2 * a - b + 0.1 * rng.normal()
        lines.append(f"{a:.4f},{b:.4f},{color},{y:.4f},{'yes' if a > 0.8 else 'no'},k{i % 3}")
    path = tmp_path / "data.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- help


def test_help_lists_every_command(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in COMMANDS:
        assert command in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert f"losskit {command}" in out


def test_no_command_prints_help_and_version(capsys):
    code, out, _ = run(capsys)
    assert code == 0
    assert "COMMAND" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"losskit {losskit.__version__}"


def test_usage_errors_are_one_line(capsys):
    bad(capsys, "frobnicate", match="invalid choice")
    bad(capsys, "compare", "--folds", "many", match="invalid int value")
    bad(capsys, "compare", "--model", "forest", match="invalid choice")


# --------------------------------------------------------------------------- catalog


def test_list(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in losskit.names():
        assert name in out
    code, out, _ = run(capsys, "list", "--task", "regression", "--json")
    assert code == 0
    data = json.loads(out)
    assert [d["name"] for d in data] == losskit.names("regression")
    assert {"convex", "robust", "smooth", "bounded", "hessian_kind"} <= set(data[0])


def test_show(capsys):
    code, out, _ = run(capsys, "show", "huber")
    assert code == 0
    entry = losskit.info("huber")
    for text in (entry.formula, entry.derivative, entry.hessian, entry.kinks, entry.seed):
        # LaTeX shown as text, not swallowed as markup; wrapping depends on the terminal width
        assert "".join(text.split()) in "".join(out.split())
    code, out, _ = run(capsys, "show", "bce", "--json")
    assert json.loads(out)["name"] == "binary_cross_entropy"
    bad(capsys, "show", "hubr", match="did you mean 'huber'")


def test_check_passes_for_registered_losses(capsys):
    code, out, _ = run(capsys, "check", "mse", "focal", "triplet")
    assert code == 0
    assert "4 passed, 0 failed" in out  # focal is checked from probabilities and logits
    code, out, _ = run(capsys, "check", "huber:delta=0.5", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["failed"] == 0
    assert data["checks"][0]["loss"] == "HuberLoss(delta=0.5)"


def test_check_a_users_loss(capsys, tmp_path, monkeypatch):
    (tmp_path / "mylosses.py").write_text(
        "import losskit\n"
        "class Cubic(losskit.ElementwiseLoss):\n"
        "    def per_sample(self, y_true, y_pred):\n"
        "        return abs(y_pred - y_true) ** 3\n"
        "    def per_sample_derivative(self, y_true, y_pred):\n"
        "        r = y_pred - y_true\n"
        "        return 3 * r * abs(r)\n"
        "class WrongSign(Cubic):\n"
        "    def per_sample_derivative(self, y_true, y_pred):\n"
        "        return -super().per_sample_derivative(y_true, y_pred)\n"
        "class NoDerivative(losskit.ElementwiseLoss):\n"
        "    def per_sample(self, y_true, y_pred):\n"
        "        return y_pred\n"
        "cubic = Cubic(reduction='sum')\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    code, out, _ = run(
        capsys, "check", "mse", "--loss", "mylosses:Cubic", "--loss", "mylosses:cubic"
    )
    assert code == 0
    assert "Cubic()" in out
    assert "Cubic(reduction='sum')" in out
    code, out, _ = run(capsys, "check", "mse", "--loss", "mylosses:WrongSign")
    assert code == 1
    assert "FAIL" in out
    assert "1 passed, 1 failed" in out
    code, out, _ = run(capsys, "check", "mse", "--loss", "mylosses:NoDerivative")
    assert code == 1
    assert "NotImplementedError" in out
    bad(capsys, "check", "--loss", "mylosses", match="MODULE:CLASS")
    bad(capsys, "check", "--loss", "nosuchmodule:X", match="cannot import 'nosuchmodule'")
    bad(capsys, "check", "--loss", "mylosses:Nothing", match="not a losskit loss")


def test_bench(capsys):
    code, out, _ = run(capsys, "bench", "mse", "hinge", "-n", "1000", "--repeat", "1")
    assert code == 0
    assert "GB/s" in out
    code, out, _ = run(capsys, "bench", "mse", "-n", "1000", "--dtype", "float32", "--json")
    (row,) = json.loads(out)
    assert row["loss"] == "mse"
    assert row["dtype"] == "float32"
    assert row["ms"] > 0
    bad(capsys, "bench", "--dtype", "float16", match="float16")
    bad(capsys, "bench", "nope", match="unknown loss")


# --------------------------------------------------------------------------- plot


def test_plot(capsys, tmp_path):
    out_file = tmp_path / "curves.png"
    code, _, _ = run(capsys, "plot", "mse", "huber:delta=0.5", "bce", "--out", str(out_file))
    assert code == 0
    assert out_file.read_bytes().startswith(b"\x89PNG")
    before = out_file.stat().st_mtime_ns
    bad(capsys, "plot", "mse", "--out", str(out_file), match="exists; add --force")
    assert out_file.stat().st_mtime_ns == before
    code, _, _ = run(capsys, "plot", "mae", "--out", str(out_file), "--force")
    assert code == 0
    bad(capsys, "plot", "mse", "--out", str(tmp_path / "c.jpg"), match=".png, .svg, .pdf")
    bad(capsys, "plot", "nope", "--out", str(tmp_path / "n.png"), match="unknown loss 'nope'")
    bad(capsys, "plot", "huber:delta=-1", "--out", str(tmp_path / "n.png"), match="delta")
    bad(capsys, "plot", "mse", "--out", str(tmp_path / "no" / "n.png"), match="not a directory")


# --------------------------------------------------------------------------- recommend


def test_recommend_from_flags(capsys):
    code, out, _ = run(capsys, "recommend", "--task", "regression", "--outliers")
    assert code == 0
    assert "robust to outliers" in out
    code, out, _ = run(capsys, "recommend", "--task", "binary", "--imbalanced", "--json")
    data = json.loads(out)
    assert data["ranking"][0]["loss"] == "weighted_cross_entropy"
    assert data["imbalanced"] is True
    bad(capsys, "recommend", match="give --task")
    bad(capsys, "recommend", "--task", "segmentation", "--verify", match="needs a data file")


def test_recommend_from_a_file_and_verify(capsys, csv_file):
    code, out, _ = run(capsys, "recommend", str(csv_file), "--target", "label", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["profile"]["task"] == "binary"
    assert data["profile"]["imbalanced"] is True
    code, out, _ = run(
        capsys, "recommend", str(csv_file), "--target", "y", "--verify", "--top", "2", *FAST
    )
    assert code == 0
    assert "task: regression" in out
    assert "one-hot encoded column 'color'" in out
    assert "MAE" in out  # the verifying comparison's table


# --------------------------------------------------------------------------- compare


def test_compare_a_csv(capsys, csv_file):
    code, out, err = run(
        capsys, "compare", str(csv_file), "--target", "y", "--losses", "mse,mae", *FAST
    )
    assert code == 0
    assert "mse" in out
    assert "mae" in out
    assert "best MAE" in out
    assert "Traceback" not in err


def test_compare_json_and_report(capsys, csv_file, tmp_path):
    argv = ["compare", str(csv_file), "--target", "kind", *FAST]
    code, out, _ = run(capsys, *argv, "--json")
    assert code == 0
    (scenario,) = json.loads(out)["scenarios"]
    assert scenario["task"] == "multiclass"
    assert scenario["primary_metric"] == "balanced_accuracy"
    assert {r["name"] for r in scenario["ranking"]} == {
        "categorical_cross_entropy",
        "sparse_categorical_cross_entropy",
        "multiclass_hinge",
        "categorical_focal",
    }
    assert "history" not in scenario["ranking"][0]
    report = tmp_path / "report"
    code, out, _ = run(capsys, *argv, "--losses", "scce,multiclass_hinge", "--out", str(report))
    assert code == 0
    names = {p.name for p in report.iterdir()}
    assert {"report.md", "report.html", "results.json", "data-metrics.png"} <= names
    assert (
        "history" in json.loads((report / "results.json").read_text())["scenarios"][0]["ranking"][0]
    )
    bad(capsys, *argv, "--out", str(report), match="not empty; add --force")
    code, _, _ = run(capsys, *argv, "--losses", "scce", "--out", str(report), "--force")
    assert code == 0


def test_compare_builtin_scenarios(capsys):
    two = ["--scenario", "digits", "--scenario", "diabetes-outliers"]
    code, out, _ = run(capsys, "compare", *two, "--losses", "scce,mse,mae", "--json", *FAST)
    assert code == 0
    diabetes, digits = json.loads(out)["scenarios"]  # in SCENARIOS order, each with its losses
    assert diabetes["scenario"] == "diabetes-outliers"
    assert [r["name"] for r in digits["ranking"]] == ["sparse_categorical_cross_entropy"]
    assert digits["n_samples"] == 1797
    assert {r["name"] for r in diabetes["ranking"]} == {"mse", "mae"}
    bad(capsys, "compare", *two, "--losses", "dice", *FAST, match="fits none of the scenarios")
    only = ["compare", "--scenario", "digits", "--losses", "mse", *FAST]
    bad(capsys, *only, match="does not fit multiclass")
    bad(capsys, "compare", "--target", "y", match="need a data file")


def test_compare_bad_input(capsys, csv_file, tmp_path):
    data = str(csv_file)
    bad(capsys, "compare", str(tmp_path / "missing.csv"), "--target", "y", match="no such file")
    bad(capsys, "compare", data, match="needs --target")
    bad(capsys, "compare", data, "--target", "price", match="no column 'price'")
    bad(capsys, "compare", data, "--target", "label", "--task", "regression", match="not numeric")
    bad(capsys, "compare", data, "--target", "y", "--losses", "mse,hubr", match="did you mean")
    bad(capsys, "compare", data, "--target", "y", "--losses", "hinge", match="does not fit")
    bad(capsys, "compare", data, "--target", "y", "--folds", "1", match="at least 2")
    bad(capsys, "compare", data, "--target", "kind", "--folds", "30", match="fewer than the 30")
    bad(capsys, "compare", data, "--target", "y", "--scenario", "digits", match="--scenario")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    bad(capsys, "compare", str(empty), "--target", "y", match="is empty")
    broken = tmp_path / "broken.csv"
    broken.write_text("a,y\n1,2\n3,4\n5\n")
    bad(capsys, "compare", str(broken), "--target", "y", match="line 4: expected 2 fields")
    bad(capsys, "recommend", str(broken), "--target", "y", match="line 4")


def test_parquet_needs_pyarrow(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    path = tmp_path / "data.parquet"
    path.write_bytes(b"PAR1")
    bad(capsys, "compare", str(path), "--target", "y", match="pip install pyarrow")


# --------------------------------------------------------------------------- processes


def _python(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=120, **kw
    )


def test_without_the_cli_extra_one_line_says_how_to_install():
    for hidden in ("rich", "matplotlib"):
        code = (
            f"import sys; sys.modules[{hidden!r}] = None\n"
            "from losskit.cli import main\n"
            "sys.exit(main(['list']))\n"
        )
        proc = _python("-c", code)
        assert proc.returncode == 1
        assert proc.stdout == ""
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1
        assert INSTALL_HINT in lines[0]
        assert "pip install 'losskit[cli]'" in lines[0]
        assert hidden in lines[0]


def test_python_dash_m(tmp_path):
    proc = _python("-m", "losskit", "list", "--task", "segmentation")
    assert proc.returncode == 0, proc.stderr
    assert "tversky" in proc.stdout
    proc = _python("-m", "losskit", "show", "nope")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "losskit: error: unknown loss 'nope' (losskit.names() lists them all)"
    ]


def test_installed_script(tmp_path):
    script = Path(sys.executable).with_name("losskit")
    if not script.exists():
        pytest.skip("the losskit script is not installed next to this Python")
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [str(script), "compare", "--scenario", "breast-cancer-imbalanced", *FAST],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "breast-cancer-imbalanced" in proc.stdout
    assert "PR-AUC" in proc.stdout
    assert (tmp_path / "losskit-report" / "report.html").is_file()


def test_plain_compare_writes_a_report_without_overwriting(capsys, tmp_path):
    argv = ["compare", "--scenario", "diabetes-outliers", "--losses", "mse,huber", *FAST]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert "report: losskit-report/report.md" in out
    first = tmp_path / "losskit-report"
    assert {"report.md", "report.html", "results.json"} <= {p.name for p in first.iterdir()}
    assert any(p.suffix == ".png" for p in first.rglob("*"))
    before = (first / "results.json").read_text()
    code, out, _ = run(capsys, *argv)  # a second run takes the next free name
    assert code == 0
    assert "report: losskit-report-2/report.md" in out
    assert (first / "results.json").read_text() == before
    code, _, _ = run(capsys, *argv, "--no-report")
    assert code == 0
    assert not (tmp_path / "losskit-report-3").exists()
    code, _, _ = run(capsys, *argv, "--json")  # JSON on stdout, no files unless --out
    assert code == 0
    assert not (tmp_path / "losskit-report-3").exists()
