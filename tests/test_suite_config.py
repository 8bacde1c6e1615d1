"""How the suite is run (docs/dependencies.md, "The test suite"): `make test` leaves the slow tests
out locally and runs them all under CI, a failure names its file, and a run of no test fails."""

from __future__ import annotations

import os
import subprocess
import sys

from hypothesis import settings

from tests.conftest import HYPOTHESIS_PROFILE, REPO, examples


def _recipe(target: str, **env: str) -> str:
    """The pytest line `make TARGET` would run (make -n: nothing is installed or run)."""
    full = {k: v for k, v in os.environ.items() if k not in ("CI", "MAKEFLAGS", "MFLAGS")}
    proc = subprocess.run(["make", "-n", "-s", target], cwd=REPO, capture_output=True, text=True, check=True,
                          env={**full, **env})
    (line,) = [x for x in proc.stdout.splitlines() if "-m pytest" in x]
    return line


def test_make_test_leaves_slow_tests_out_locally_and_ci_runs_them():
    assert '-m "not slow"' in _recipe("test")
    assert "not slow" not in _recipe("test", CI="true")
    assert "not slow" not in _recipe("test-all")
    for line in (_recipe("test"), _recipe("test-all")):
        assert "-ra" in line and "--tb=short" in line       # the summary lists file::test for each failure
    ci = (REPO / ".ci/run").read_text()
    assert "make test" in ci and "CI=" in ci


def test_a_run_of_no_test_fails_and_says_so():
    line = _recipe("test-all", PYTEST_EXTRA="-p no:cacheprovider -n 0 -k no_such_test_anywhere tests/test_schema.py")
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 5
    assert "pytest ran no test" in proc.stderr


def test_property_tests_run_under_a_profile_not_hypothesis_defaults():
    assert settings.default.deadline is None           # hypothesis's default is 200 ms per example
    expected = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev")
    assert HYPOTHESIS_PROFILE == expected
    assert examples(400) == (400 if expected == "ci" else 100)
    assert examples(8) == (8 if expected == "ci" else 20)     # never fewer than 20 examples


def test_the_profile_follows_ci():
    code = "import tests.conftest as c; print(c.HYPOTHESIS_PROFILE, c.examples(1000))"
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
    for env, expected in [({}, "dev 250"), ({"CI": "true"}, "ci 1000"), ({"HYPOTHESIS_PROFILE": "ci"}, "ci 1000")]:
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                             env={**base, **env}, check=True).stdout.strip()
        assert out == expected, (env, out)
