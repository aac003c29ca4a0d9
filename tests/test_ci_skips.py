"""The conftest rule that a skip in CI fails, unless its reason says no CI machine can meet it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")
SECTION = "# -- CI runs every test"


def _run(tmp_path: Path, ci: bool, target: str = "test_x.py") -> subprocess.CompletedProcess[str]:
    # The real hooks, cut out of tests/conftest.py (the rest of it needs the repo's fixtures).
    text = CONFTEST.read_text(encoding="utf-8")
    hooks = text[text.index(SECTION) :]
    header = "import os\nfrom collections.abc import Iterator\nfrom typing import Any\n\nimport pytest\n\n"
    (tmp_path / "conftest.py").write_text(header + hooks, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_x.py").write_text(
        "import pytest\n"
        "def test_missing_extra():\n    pytest.skip('torch is not installed')\n"
        "def test_gpu_only():\n    pytest.skip('needs a GPU: no CI machine has one')\n"
        "def test_plain():\n    assert True\n",
        encoding="utf-8",
    )
    (tmp_path / "test_y.py").write_text(
        "import pytest\npytest.importorskip('no_such_module_tagengo')\ndef test_never():\n    pass\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", target],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_in_ci_a_skip_fails_unless_no_ci_machine_can_meet_it(tmp_path: Path) -> None:
    proc = _run(tmp_path, ci=True)
    out = proc.stdout
    assert proc.returncode == 1, out
    assert "FAILED" in out and "test_missing_extra" in out and "torch is not installed" in out
    assert "SKIPPED" in out and "no CI machine" in out  # the GPU-only skip stands
    assert "1 failed, 1 passed, 1 skipped" in out
    # A module-level importorskip (a skip at collection) fails the run too.
    proc = _run(tmp_path, ci=True, target="test_y.py")
    assert proc.returncode != 0 and "skipped in CI" in proc.stdout and "no_such_module_tagengo" in proc.stdout


def test_outside_ci_skips_stay_skips(tmp_path: Path) -> None:
    proc = _run(tmp_path, ci=False, target=".")
    assert proc.returncode == 0, proc.stdout
    assert "1 passed, 3 skipped" in proc.stdout
