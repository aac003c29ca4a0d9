"""Judge prompt files: FastChat's shape, roles, the language sentence, strict rendering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagengo.bench.prompts import PLACEHOLDERS, ROLES, PromptSet, read_judge_prompts
from tagengo.errors import ConfigError, InputError

from .conftest import FIXTURES


def test_our_default_prompts_cover_every_role_with_a_language_sentence() -> None:
    ps = PromptSet.load()
    assert set(ps.by_role) == set(ROLES)
    for role, p in ps.by_role.items():
        assert p.role == role
        assert p.language_criterion and "{language}" in p.language_criterion
        assert p.output_format == ("[[rating]]" if role.startswith("single") else "[[A]]")
        # every slot FastChat fills for this role is used, nothing else
        values = {k: f"<{k}>" for k in PLACEHOLDERS[role]}
        text = p.render(values)
        for key in ("question", "question_1", "answer", "answer_a", "answer_b_2", "ref_answer_1"):
            if key in PLACEHOLDERS[role] and not (key == "ref_answer_1" and "ref" not in role):
                assert f"<{key}>" in text, (role, key)


def test_language_sentence_is_added_only_when_asked() -> None:
    p = PromptSet.load().require("single", "test")
    with_lang = p.system("German")
    assert "the user wrote in German" in with_lang and with_lang.startswith(p.system_prompt)
    assert p.system("German", language_check=False) == p.system_prompt
    assert p.system(None) == p.system_prompt


def test_translated_file_with_fastchat_names_and_a_translated_label() -> None:
    ps = PromptSet.load(FIXTURES / "mt_bench_DE" / "judge_prompts.jsonl")
    assert ps.require("single", "t").name == "single-v1"
    assert ps.require("single-ref-multi", "t").name == "single-math-v1-multi-turn"
    assert ps.get("pair-multi") is None
    with pytest.raises(ConfigError, match="no pair-multi judge prompt, needed for turn 2"):
        ps.require("pair-multi", "turn 2 of writing questions")
    p = ps.require("single", "t")
    assert p.output_format == "[[Bewertung]]"
    assert p.system("German") == p.system_prompt  # no language_criterion field: FastChat's text kept as is


def _write(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "judge_prompts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_roles_of_unnamed_prompts_come_from_their_slots(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            {
                "name": "mine-1",
                "type": "single",
                "system_prompt": "",
                "prompt_template": "{question} {answer}",
                "output_format": "[[rating]]",
            },
            {
                "name": "mine-2",
                "type": "single",
                "system_prompt": "",
                "prompt_template": "{question_1}{answer_1}{question_2}{answer_2}{ref_answer_2}",
                "output_format": "[[rating]]",
            },
            {
                "name": "mine-3",
                "type": "pairwise",
                "system_prompt": "",
                "prompt_template": "{question}{ref_answer_1}{answer_a}{answer_b}",
                "output_format": "[[A]]",
            },
        ],
    )
    assert [p.role for p in read_judge_prompts(path)] == ["single", "single-ref-multi", "pair-ref"]


def test_unknown_placeholder_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            {
                "name": "ok",
                "type": "single",
                "system_prompt": "",
                "prompt_template": "{question} {answer}",
                "output_format": "[[rating]]",
            },
            {
                "name": "bad",
                "type": "single",
                "system_prompt": "",
                "prompt_template": "{question} {answr}",
                "output_format": "[[rating]]",
            },
        ],
    )
    with pytest.raises(
        InputError, match=r"judge_prompts.jsonl:2: field 'prompt_template' of 'bad' uses answr"
    ):
        read_judge_prompts(path)


def test_bad_type_and_duplicate_names(tmp_path: Path) -> None:
    row = {
        "name": "x",
        "type": "single",
        "prompt_template": "{question}{answer}",
        "output_format": "[[rating]]",
    }
    with pytest.raises(InputError, match=r":1: field 'type' should be 'single' or 'pairwise'"):
        read_judge_prompts(_write(tmp_path, [{**row, "type": "grade"}]))
    with pytest.raises(InputError, match=r":2: field 'name' 'x' repeats line 1"):
        read_judge_prompts(_write(tmp_path, [row, row]))


def test_choosing_a_prompt_by_name(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            {
                "name": "a",
                "type": "single",
                "prompt_template": "A {question}{answer}",
                "output_format": "[[rating]]",
            },
            {
                "name": "b",
                "type": "single",
                "prompt_template": "B {question}{answer}",
                "output_format": "[[rating]]",
            },
        ],
    )
    assert PromptSet.load(path).require("single", "t").name == "a"
    assert PromptSet.load(path, {"single": "b"}).require("single", "t").name == "b"
    with pytest.raises(ConfigError, match="no judge prompt named 'c'"):
        PromptSet.load(path, {"single": "c"})
    with pytest.raises(ConfigError, match="'a' is a single prompt, not pair"):
        PromptSet.load(path, {"pair": "a"})


def test_literal_braces_follow_str_format(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            {
                "name": "j",
                "type": "single",
                "prompt_template": 'Reply as {{"score": n}}: {question} / {answer}',
                "output_format": "[[rating]]",
            }
        ],
    )
    p = read_judge_prompts(path)[0]
    assert p.render({"question": "Q", "answer": "A"}) == 'Reply as {"score": n}: Q / A'


def test_missing_prompt_fields_are_named_together_in_order(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        read_judge_prompts(_write(tmp_path, [{"output_format": "[[rating]]", "type": "single"}]))
    assert (
        ":1: missing fields 'name' (a string such as 'single-v1') and 'prompt_template' (a format string)"
        in str(e.value)
    )
    row = {"name": "x", "type": "single", "prompt_template": 3, "output_format": "[[rating]]"}
    with pytest.raises(InputError, match=r":1: field 'prompt_template' should be a string, got int"):
        read_judge_prompts(_write(tmp_path, [row]))


def test_named_wordings_of_the_language_sentence() -> None:
    """issue #23 item 7: strict (ours, the default: wrong or unnatural language fails whatever the
    content) and consider (the language weighed as one more factor, the Tagengo fork's sense)."""
    from tagengo.bench.prompts import LANGUAGE_WORDINGS

    ps = PromptSet.load()
    for role, p in ps.by_role.items():
        kind = "single" if role.startswith("single") else "pair"
        # The bundled file's own sentence is the strict wording: the default sends what it always sent.
        assert p.language_criterion == LANGUAGE_WORDINGS["strict"][kind]
        assert p.system("German") == p.system("German", wording="strict")
        consider = p.system("German", wording="consider")
        assert consider.startswith(p.system_prompt)
        assert consider.endswith(LANGUAGE_WORDINGS["consider"][kind].replace("{language}", "German"))
        assert "grade it low" not in consider and "must lose" not in consider
        assert p.wording("German", wording="consider") == "consider"
        assert p.wording("German", language_check=False, wording="consider") == "off"
        assert p.wording(None, wording="consider") == "off"
    fastchat = PromptSet.load(FIXTURES / "mt_bench_DE" / "judge_prompts.jsonl").require("single", "test")
    assert fastchat.wording("German", wording="consider") == "as written"
    assert fastchat.system("German", wording="consider") == fastchat.system_prompt
    with pytest.raises(ConfigError, match="language wording 'loose' is unknown"):
        p.system("German", wording="loose")
