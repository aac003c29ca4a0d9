"""--source-language is checked against the language table as --to is (an unknown code was
once sent to the model as "from zz into French")."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from tagengo.translate.config import TranslateConfig


def test_an_unknown_source_language_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown language code 'zz'"):
        TranslateConfig(to=["fr"], source_language="zz")


def test_a_known_source_language_is_kept_lowercased() -> None:
    assert TranslateConfig(to=["fr"], source_language=" EN ").source_language == "en"
    assert TranslateConfig(to=["fr"]).source_language is None


def test_the_cli_names_the_flag(tmp_path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "messages": [{"role": "user", "content": "Hello there"}]}) + "\n")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "tagengo.cli",
            "translate",
            "--input",
            str(src),
            "--out",
            str(tmp_path / "o"),
            "--to",
            "fr",
            "--source-language",
            "zz",
            "--model",
            "m",
            "--base-url",
            "http://127.0.0.1:9/v1",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "--source-language: unknown language code 'zz'" in r.stderr
    assert not (tmp_path / "o").exists()
