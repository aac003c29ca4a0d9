"""Configs from YAML files and flags: byte-order marks, and errors that point at the value to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagengo.curate.config import PRESETS, CurateConfig
from tagengo.errors import ConfigError
from tagengo.run.options import build_config, load_yaml

YAML = """\
# curate options for the nightly run
langid:
  enabled: true
  threshold: 1.5
cap:
  max_per_language: 100
"""


def test_a_yaml_config_saved_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    p = tmp_path / "curate.yaml"
    p.write_bytes(b"\xef\xbb\xbf" + b"langid:\n  threshold: 0.6\n")
    assert load_yaml(p) == {"langid": {"threshold": 0.6}}
    assert build_config(CurateConfig, {}, config_file=p).langid.threshold == 0.6


def test_a_bad_value_in_the_yaml_file_names_the_file_the_key_path_and_the_line(tmp_path: Path) -> None:
    p = tmp_path / "curate.yaml"
    p.write_text(YAML)
    with pytest.raises(ConfigError) as err:
        build_config(CurateConfig, {}, preset=PRESETS["default"], config_file=p)
    msg = str(err.value)
    assert f"{p}, line 4: langid.threshold:" in msg
    assert "--langid-threshold" not in msg  # the user did not type that flag


def test_an_unknown_key_in_the_yaml_file_names_its_line(tmp_path: Path) -> None:
    p = tmp_path / "curate.yaml"
    p.write_text("cap:\n  max_per_language: 100\n  per_lang: 5\n")
    with pytest.raises(ConfigError, match=r"curate\.yaml, line 3: cap\.per_lang: Extra inputs"):
        build_config(CurateConfig, {}, config_file=p)


def test_a_bad_flag_is_named_as_the_flag_even_when_the_file_sets_the_same_key(tmp_path: Path) -> None:
    p = tmp_path / "curate.yaml"
    p.write_text(YAML)
    with pytest.raises(ConfigError) as err:
        build_config(CurateConfig, {"cfg__langid__threshold": 2.0}, config_file=p)
    assert "--langid-threshold: Input should be less than or equal to 1" in str(err.value)
    assert "line 4" not in str(err.value)


def test_flags_do_not_leak_into_the_preset_they_were_set_on() -> None:
    from tagengo.dedup.config import PRESETS as DEDUP_PRESETS
    from tagengo.dedup.config import DedupConfig

    before = repr(DEDUP_PRESETS)
    cfg = build_config(
        DedupConfig, {"cfg__embedder__path": "/models/bge-m3"}, preset=DEDUP_PRESETS["tagengo-2024"]
    )
    assert cfg.embedder.path == "/models/bge-m3"
    assert repr(DEDUP_PRESETS) == before  # curate's tagengo-2024 preset shares this dict


def test_a_validator_sentence_reaches_the_user_without_pydantics_prefix(tmp_path: Path) -> None:
    from pydantic import BaseModel, field_validator

    class Names(BaseModel):
        names: list[str] = []

        @field_validator("names")
        @classmethod
        def _once(cls, v: list[str]) -> list[str]:
            if len(set(v)) < len(v):
                raise ValueError("a name is given twice")
            return v

    with pytest.raises(ConfigError) as flag:
        build_config(Names, {"cfg__names": "a,a"})
    assert str(flag.value) == "invalid Names: --names: a name is given twice."
    p = tmp_path / "c.yaml"
    p.write_text("names: [a, a]\n")
    with pytest.raises(ConfigError) as yaml_file:
        build_config(Names, {}, config_file=p)
    assert str(yaml_file.value) == f"invalid Names: {p}, line 1: names: a name is given twice."
