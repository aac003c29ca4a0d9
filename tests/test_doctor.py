"""`tagengo doctor`: each part checked in a child process; a native crash becomes a sentence."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from tagengo.doctor import CHECKS, EXTRAS, result_from_process, run_check


def test_checks_of_the_core_parts_pass_here() -> None:
    for name in ("langid", "tokenizer"):
        r = run_check(name)
        assert r.ok, (name, r.detail, r.fix)
        assert r.seconds > 0
    assert "de" in run_check("langid").detail


def test_every_extra_is_installed_where_the_tests_run() -> None:
    # CI installs every extra (scripts/setup.sh); a missing one would silently skip its tests.
    r = run_check("extras")
    assert r.ok and r.info["missing"] == {}, r.detail
    assert set(EXTRAS) <= set(r.detail.split("installed: ")[1].replace(",", "").split())


def test_a_segfault_in_the_child_is_a_sentence_with_a_fix() -> None:
    # A real native crash: reading address 0 through ctypes.
    proc = subprocess.run(
        [sys.executable, "-c", "import ctypes; ctypes.string_at(0)"], capture_output=True, text=True
    )
    assert proc.returncode == -signal.SIGSEGV
    r = result_from_process("llamacpp", proc, 0.1)
    assert not r.ok
    assert "SIGSEGV" in r.detail and "scripts/setup.sh" in r.fix and "use-extra-bufts" in r.fix


def test_an_illegal_instruction_names_the_cpu_and_the_rebuild() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGILL)"],
        capture_output=True,
        text=True,
    )
    r = result_from_process("llamacpp", proc, 0.1)
    assert not r.ok and "SIGILL" in r.detail and "TAGENGO_LLAMA_CMAKE_ARGS" in r.fix


def test_a_python_error_in_the_child_is_reported_with_its_last_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "raise ImportError('No module named llama_cpp')"],
        capture_output=True,
        text=True,
    )
    r = result_from_process("llamacpp", proc, 0.1)
    assert not r.ok and "No module named llama_cpp" in r.detail and "llm" in r.fix


def test_unknown_check_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown check"):
        run_check("gpu")


@pytest.mark.llm
def test_the_bundled_model_generates_in_a_child_without_extra_buffers() -> None:
    r = run_check("llamacpp")
    assert r.ok, (r.detail, r.fix)
    assert r.info["use_extra_bufts"] is False
    # The portable build: no AMX, no AVX-512 kernels compiled in, whatever CPU built it.
    assert "AMX_INT8 = 1" not in r.info["system_info"] and "AVX512 = 1" not in r.info["system_info"]


@pytest.mark.llm
def test_cli_prints_one_line_per_part_and_exits_zero() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tagengo.cli", "doctor", "--json"], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [r["name"] for r in rows] == list(CHECKS)
    assert all(r["ok"] for r in rows)
