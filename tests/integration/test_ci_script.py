"""`.ci/run` cannot pass by accident: a failed step or a test that did not run fails it.

Each test copies the repository's files (tracked, and new files not ignored) to a scratch
directory, breaks one thing there and runs it. `.ci/run` runs with the knobs that keep it fast
(its header): the fresh venv sees this venv's packages, so pip installs only the project, offline
(the project's build requirements, setuptools and wheel, are fetched once per session from the
package index into a wheelhouse); pytest runs a small selection; apt is left alone. The rest of
the script is the real one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMALL_SELECTION = "-n 2 tests/unit/test_deadlines.py"


def scratch_copy(target: Path) -> Path:
    """Copy the working tree's files (as git sees them) to target; return target."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="session")
def build_wheelhouse(tmp_path_factory) -> Path:
    """A directory holding the project's build requirements, for an offline editable install."""
    wheelhouse = tmp_path_factory.mktemp("wheelhouse")
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:"]
        + ["-d", str(wheelhouse), *requires],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return wheelhouse


@pytest.fixture
def run_ci(build_wheelhouse):
    """Return a function: run `bash .ci/run` in a scratch copy, return the finished process."""

    def run(repo: Path, pytest_args: str) -> subprocess.CompletedProcess:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("MERITO_", "PYTEST_", "PIP_")) and key != "VIRTUAL_ENV"
        }
        env |= {
            "MERITO_CI_PYTEST_ARGS": pytest_args,
            "MERITO_CI_REUSE_SITE_PACKAGES": sysconfig.get_paths()["purelib"],
            "MERITO_CI_APT": "0",
            "PIP_FIND_LINKS": str(build_wheelhouse),
            # What the scratch venv lacks (ruff) comes from this venv, after the scratch venv.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        return subprocess.run(
            ["bash", ".ci/run"], cwd=repo, env=env, capture_output=True, text=True, timeout=300
        )

    return run


def output_of(run: subprocess.CompletedProcess) -> str:
    return f"{run.stdout}\n{run.stderr}"


def test_a_failed_install_fails_the_run(tmp_path, run_ci):
    repo = scratch_copy(tmp_path)
    pyproject = repo / "pyproject.toml"
    text = pyproject.read_text()
    last = '    "segno>=1.6",\n'
    assert last in text
    pyproject.write_text(text.replace(last, f'{last}    "merito-no-such-package>=999",\n'))

    run = run_ci(repo, SMALL_SELECTION)

    output = output_of(run)
    assert run.returncode != 0, output
    assert "merito-no-such-package" in output, output
    assert re.search(r"CI FAILED \(exit \d+\) at \.ci/run line \d+: python -m pip install", output)
    # Stopped there: the tests, the audit and the lint never ran.
    assert "tests ran" not in output and "dependency audit" not in output, output


def test_a_skipped_test_fails_the_run_and_says_which(tmp_path, run_ci):
    repo = scratch_copy(tmp_path)
    (repo / "tests/unit/test_ci_canary.py").write_text(
        "import pytest\n\n\ndef test_canary():\n    pytest.skip('no canary today')\n"
    )

    run = run_ci(repo, f"{SMALL_SELECTION} tests/unit/test_ci_canary.py")

    output = output_of(run)
    assert run.returncode == 1, output
    assert "skipped: tests/unit/test_ci_canary.py::test_canary (no canary today)" in output
    assert re.search(r"CI FAILED \(exit 1\) at \.ci/run line \d+: python -m pytest", output)
    assert "dependency audit" not in output, output


def test_a_clean_run_passes_and_ends_with_what_ran(tmp_path, run_ci):
    repo = scratch_copy(tmp_path)

    run = run_ci(repo, SMALL_SELECTION)

    output = output_of(run)
    assert run.returncode == 0, output
    lines = run.stdout.strip().splitlines()
    assert re.fullmatch(
        r"merito: (\d+) tests ran \(sqlite 0, postgresql 0, neither \1\); browser tests 0; "
        r"load runs 0; not run 0",
        lines[-2],
    ), output
    assert lines[-1].startswith("dependency audit: "), output


# --- the session check alone (pytest in a scratch copy, without the rest of .ci/run) ---------

LABELLED = """
import pytest


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_on_each_backend(db_backend):
    assert db_backend in ("sqlite", "postgresql")


def test_on_no_database():
    assert True


@pytest.mark.browser
def test_in_a_browser():
    assert True
"""
LOAD = """
import pytest


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_load_run(database):
    assert database
"""


@pytest.fixture(scope="module")
def checked_repo(tmp_path_factory) -> Path:
    repo = scratch_copy(tmp_path_factory.mktemp("repo"))
    (repo / "tests/unit/test_ci_labelled.py").write_text(LABELLED)
    (repo / "tests/unit/test_load.py").write_text(LOAD)
    (repo / "tests/unit/test_ci_xfail.py").write_text(
        "import pytest\n\n\n@pytest.mark.xfail(reason='known wrong')\n"
        "def test_expected_failure():\n    assert False\n"
    )
    return repo


def run_pytest(repo: Path, *args: str, require_all: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MERITO_", "PYTEST_"))}
    if require_all:
        env["MERITO_REQUIRE_ALL"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize("workers", ["0", "2"])
def test_the_summary_counts_tests_per_backend_browser_and_load(checked_repo, workers):
    run = run_pytest(
        checked_repo, "-n", workers, "tests/unit/test_ci_labelled.py", "tests/unit/test_load.py"
    )
    assert run.returncode == 0, run.stdout
    assert (
        "merito: 6 tests ran (sqlite 2, postgresql 2, neither 2); browser tests 1; "
        "load runs 2; not run 0"
    ) in run.stdout


@pytest.mark.parametrize("workers", ["0", "2"])
def test_an_xfailed_test_fails_a_run_that_requires_all(checked_repo, workers):
    run = run_pytest(checked_repo, "-n", workers, "tests/unit/test_ci_xfail.py")
    assert run.returncode == 1, run.stdout
    assert "xfailed: tests/unit/test_ci_xfail.py::test_expected_failure (known wrong)" in (
        run.stdout
    )
    # Without MERITO_REQUIRE_ALL an xfail is reported as usual and the run passes.
    relaxed = run_pytest(
        checked_repo, "-n", workers, "tests/unit/test_ci_xfail.py", require_all=False
    )
    assert relaxed.returncode == 0, relaxed.stdout


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_deselected_test_fails_a_run_that_requires_all(checked_repo, workers):
    run = run_pytest(
        checked_repo, "-n", workers, "-k", "not browser", "tests/unit/test_ci_labelled.py"
    )
    assert run.returncode == 1, run.stdout
    assert "deselected: 1 tests" in run.stdout
    assert "merito: 3 tests ran" in run.stdout
