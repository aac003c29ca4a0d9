"""A gateway (LiteLLM, OpenRouter) may answer with another model than the one asked for: the
shared floor (tagengo.llm.client._served, the accounting, the runner's manifest) says so in every
LLM stage, on stderr and in the manifest, with the row count, and keeps ``requested_model`` in
the row's meta; ``--require-served-model`` rejects such answers as ``other model``. A dated name
(``gpt-4o`` -> ``gpt-4o-2024-08-06``) is the same model. The ``fallback`` and ``dated`` faults of
tests/servers/answer_faults.py, over real HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from servers.answer_faults import FALLBACK_MODEL
from servers.loopback import started_servers
from servers.scripted_chat import ScriptedChatServer
from tagengo.llm import ChatRequest, LLMConfig, build_client
from tagengo.llm.accounting import served_model_warnings
from tagengo.llm.answer import OTHER_MODEL, answer_problem, same_model


@pytest.fixture
def chat_server() -> Iterator[Callable[..., ScriptedChatServer]]:
    yield from started_servers(ScriptedChatServer)


def _rows(folder: Path) -> list[dict]:
    return [r for f in sorted(folder.glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]


def _prompts(path: Path) -> Path:
    rows = [
        {"id": "fallback", "prompt": "Tell me about rain. FAULT=fallback", "language": "en"},
        {"id": "dated", "prompt": "Tell me about snow. FAULT=dated", "language": "en"},
        {"id": "clean", "prompt": "Tell me about hail.", "language": "en"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("asked", "served", "same"),
    [
        ("gpt-4o", "gpt-4o-2024-08-06", True),
        ("claude-3-5-sonnet", "claude-3-5-sonnet-20241022", True),
        ("gpt-4", "gpt-4-0613", True),
        ("llama3", "llama3:latest", True),
        ("openai/gpt-4o", "gpt-4o", True),
        ("GPT-4o", "gpt-4o", True),
        ("gpt-4o", "gpt-4o-mini", False),
        ("gpt-4", "gpt-4o", False),
        ("gpt-4o-2024-05-13", "gpt-4o-2024-08-06", False),
        ("gpt-4o", "anthropic/claude-3-haiku", False),
    ],
)
def test_a_version_suffix_is_the_same_model_another_name_is_not(asked, served, same):
    assert same_model(asked, served) is same


def test_the_client_marks_a_fallback_answer_and_the_contract_rejects_it_only_when_asked(
    chat_server, tmp_path
):
    server = chat_server()
    reqs = [
        ChatRequest.from_messages([{"role": "user", "content": f"say it FAULT={k}"}])
        for k in ("fallback", "dated")
    ]
    base = {
        "backend": "openai",
        "model": "teacher",
        "base_url": server.url,
        "cache_path": tmp_path / "c.sqlite",
    }
    with build_client(LLMConfig(**base)) as client:
        fallback, dated = client.chat_many(reqs)
        summary = client.accounting.summary(percentiles=False)
    assert fallback.model == FALLBACK_MODEL and fallback.raw["requested_model"] == "teacher"
    assert answer_problem(fallback, reqs[0]) is None  # kept by default, but counted:
    assert summary[FALLBACK_MODEL]["requested"] == {"teacher": 1}
    assert dated.model == "teacher-2024-08-06" and "requested_model" not in dated.raw
    assert "requested" not in summary["teacher-2024-08-06"]
    (warning,) = served_model_warnings(summary)
    assert f"asked for model 'teacher', the server answered 1 call with '{FALLBACK_MODEL}'" in warning
    # Replayed from the cache with --require-served-model: the flag is this run's, not the cache's.
    with build_client(LLMConfig(**base, require_served_model=True)) as client:
        fallback, dated = client.chat_many(reqs)
    assert fallback.cached and answer_problem(fallback, reqs[0]).kind == OTHER_MODEL
    assert answer_problem(dated, reqs[1]) is None


def test_generate_warns_in_the_manifest_and_on_stderr_and_rejects_on_request(chat_server, tmp_path):
    from tagengo.generate.config import GenerateConfig
    from tagengo.generate.stage import generate

    server = chat_server()
    src = _prompts(tmp_path / "p.jsonl")
    cfg = {"model": "teacher", "base_url": server.url, "timeout_s": 5.0, "cache_path": tmp_path / "c.sqlite"}
    kept = generate(src, tmp_path / "kept", GenerateConfig(**cfg), progress=False)
    assert {r["id"] for r in _rows(kept.out / "data")} == {"fallback", "dated", "clean"}
    (warning,) = kept.manifest["warnings"]
    assert "'teacher'" in warning and f"1 call with '{FALLBACK_MODEL}'" in warning
    meta = {r["id"]: json.loads(r["meta"])["generation"] for r in _rows(kept.out / "data")}
    assert meta["fallback"]["requested_model"] == "teacher" and "requested_model" not in meta["dated"]

    strict = generate(
        src, tmp_path / "strict", GenerateConfig(**cfg, require_served_model=True), progress=False
    )
    (rejected,) = _rows(strict.out / "rejected")
    assert rejected["id"] == "fallback" and rejected["reason"].startswith(
        f"other model: asked for 'teacher', the server says '{FALLBACK_MODEL}' answered"
    )
    assert {r["id"] for r in _rows(strict.out / "data")} == {"dated", "clean"}

    # The command prints the warning where it is seen.
    run = subprocess.run(
        [sys.executable, "-m", "tagengo.cli", "generate", "--input", str(src), "--out", str(tmp_path / "cli"),
         "--model", "teacher", "--base-url", server.url, "--cache-path", str(tmp_path / "c.sqlite"), "--no-progress"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert f"warning: asked for model 'teacher', the server answered 1 call with '{FALLBACK_MODEL}'" in (
        " ".join(run.stderr.split())
    )


def test_translate_counts_the_fallback_too(chat_server, tmp_path):
    from tagengo.translate.config import TranslateConfig
    from tagengo.translate.stage import translate

    server = chat_server()
    src = tmp_path / "chats.jsonl"
    src.write_text(json.dumps({"id": "a", "language": "en", "messages": [
        {"role": "user", "content": "How do I keep bread fresh for longer at home? FAULT=fallback"},
        {"role": "assistant", "content": "Keep it in a cloth bag at room temperature."}]}) + "\n")  # fmt: skip
    common = {"to": ["de"], "include_source": False, "model": "teacher", "base_url": server.url,
              "timeout_s": 5.0, "cache_path": tmp_path / "c.sqlite"}  # fmt: skip
    result = translate(src, tmp_path / "out", TranslateConfig(**common))
    assert any(f"1 call with '{FALLBACK_MODEL}'" in w for w in result.manifest["warnings"])
    strict = translate(src, tmp_path / "strict", TranslateConfig(**common, require_served_model=True))
    (rejected,) = _rows(tmp_path / "strict" / "rejected")
    assert rejected["reason"].startswith("other model (translation of message 1 (user)): asked for 'teacher'")
    assert strict.manifest["counts"]["rejected"] == 1
