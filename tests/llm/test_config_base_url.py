"""A server URL given to the in-process backend is refused, in the config check every stage's
client goes through (it was once ignored: the bundled model answered a run that named a server)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tagengo.llm import LLMConfig, LLMConfigError, build_client


def test_base_url_with_llamacpp_is_refused_naming_the_fix() -> None:
    with pytest.raises(LLMConfigError) as exc:
        build_client(LLMConfig(backend="llamacpp", base_url="http://127.0.0.1:9/v1", cache=False))
    text = str(exc.value)
    assert "--base-url http://127.0.0.1:9/v1" in text and "--backend openai" in text


def test_base_url_with_a_server_backend_still_builds() -> None:
    LLMConfig(backend="openai", model="m", base_url="http://127.0.0.1:9/v1").check()


def test_generate_refuses_before_reading_or_writing(tmp_path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "messages": [{"role": "user", "content": "Hi there"}]}\n')
    out = tmp_path / "o"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "tagengo.cli",
            "generate",
            "--input",
            str(src),
            "--out",
            str(out),
            "--backend",
            "llamacpp",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            "ok",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "--base-url http://127.0.0.1:9/v1 is for an HTTP server" in r.stderr
    assert not out.exists()


def test_a_local_role_beside_a_server_teacher_does_not_inherit_its_url() -> None:
    # extend's writer and reverse's judge/translator start from --model's config: a
    # --writer-backend llamacpp must not carry the teacher's --base-url into the check above.
    from tagengo.extend.config import ExtendConfig
    from tagengo.reverse.config import ReverseConfig

    url = "http://127.0.0.1:9/v1"
    ExtendConfig(model="t", base_url=url, writer_backend="llamacpp").writer_llm_config().check()
    for role in ("judge", "translator"):
        cfg = ReverseConfig(model="t", base_url=url, **{f"{role}_backend": "llamacpp"})
        cfg.role_llm_config(role).check()
    given = ExtendConfig(model="t", writer_backend="llamacpp", writer_base_url=url).writer_llm_config()
    with pytest.raises(LLMConfigError, match="is for an HTTP server"):
        given.check()
