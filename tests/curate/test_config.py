"""Curate's config: a regular expression that does not compile is refused up front, naming the option and the pattern."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagengo.curate.config import AnonymisedConfig, CurateConfig
from tagengo.errors import ConfigError
from tagengo.run.options import build_config

BAD = ["([", "NAME_(\\d+", "*x", "[z-a]", "(?<=a+)b"]


@pytest.mark.parametrize("pattern", BAD)
def test_a_bad_pattern_from_a_flag_names_the_flag_and_the_pattern(pattern: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_config(CurateConfig, {"cfg__anonymised__patterns": pattern})
    message = str(info.value)
    assert "--anonymised-patterns" in message and repr(pattern) in message
    assert "is not a valid regular expression" in message


def test_a_bad_pattern_from_yaml_names_the_file_line_and_key(tmp_path: Path) -> None:
    cfg = tmp_path / "curate.yaml"
    cfg.write_text("anonymised:\n  patterns:\n    - 'NAME_\\d+'\n    - '(['\n")
    with pytest.raises(ConfigError) as info:
        build_config(CurateConfig, {}, config_file=cfg)
    message = str(info.value)
    assert str(cfg) in message and "anonymised" in message and "'(['" in message


def test_good_patterns_are_kept() -> None:
    patterns = [r"(?<![A-Za-z0-9_])NAME_\d+(?![0-9])", r"\[REDACTED\]"]
    assert AnonymisedConfig(patterns=patterns).patterns == patterns
    assert build_config(
        CurateConfig, {"cfg__anonymised__patterns": r"EMAIL_\d+,PHONE_\d+"}
    ).anonymised.patterns == [
        r"EMAIL_\d+",
        r"PHONE_\d+",
    ]
