"""FastChat file formats: read what FastChat writes, write what it reads, fail naming file:line:field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagengo.errors import InputError
from tagengo.io.fastchat import (
    Answer,
    make_answer_id,
    qid_sort_key,
    read_answers,
    read_pair_judgments,
    read_questions,
    read_single_judgments,
    write_answers,
    write_single_judgments,
)

from .conftest import FIXTURES


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_questions_int_and_string_ids_and_inline_references() -> None:
    en = read_questions(FIXTURES / "mt_bench" / "question.jsonl")
    assert [q.question_id for q in en] == [1, 2, 3, 4]
    assert en[1].category == "math" and en[1].turns == ["What is 17 times 3?", "And 17 times 30?"]
    de = read_questions(FIXTURES / "mt_bench_DE" / "question.jsonl")
    assert [q.question_id for q in de] == ["81_DE", "101_DE", "111_DE"]
    assert de[0].reference is None  # MT-Bench-X writes [] for "no reference"
    assert de[1].reference == ["Eva.", "Tom."]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"question_id": 1, "category": "math"}', "missing field 'turns'"),
        ('{"question_id": 1, "category": "math", "turns": []}', "field 'turns' should hold 1-2 strings"),
        ('{"question_id": 1, "category": "math", "turns": ["a", 3]}', "field 'turns[1]' should be a string"),
        ('{"question_id": true, "category": "math", "turns": ["a"]}', "field 'question_id'"),
        ('{"question_id": 1, "category": "math", "turns": ["a"]', "not valid JSON"),
    ],
)
def test_bad_question_lines_name_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "question.jsonl"
    path.write_text('{"question_id": 0, "category": "writing", "turns": ["ok"]}\n\n' + line + "\n")
    with pytest.raises(InputError) as e:
        read_questions(path)
    assert f"{path}:3" in str(e.value)
    assert message in str(e.value)


def test_repeated_question_id_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "question.jsonl"
    path.write_text(
        '{"question_id": 7, "category": "a", "turns": ["x"]}\n{"question_id": "7", "category": "b", "turns": ["y"]}\n'
    )
    with pytest.raises(InputError, match=r"question.jsonl:2: field 'question_id' '7' repeats line 1"):
        read_questions(path)


def test_answer_round_trip_keeps_unknown_fields_and_sorts_naturally(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    rows = [
        {
            "question_id": "100_DE",
            "answer_id": "x",
            "model_id": "m",
            "choices": [{"index": 0, "turns": ["a", "b"]}],
            "tstamp": 2.0,
        },
        {
            "question_id": "81_DE",
            "answer_id": "y",
            "model_id": "m",
            "choices": [{"index": 0, "turns": ["c"]}],
            "tstamp": 1.0,
            "generate_params": {"temperature": 0.7},
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    answers = read_answers(path)
    assert answers["81_DE"].turns() == ["c"]
    out = tmp_path / "out.jsonl"
    write_answers(out, answers.values())
    back = _lines(out)
    assert [r["question_id"] for r in back] == ["81_DE", "100_DE"]  # 81 before 100, not string order
    assert back[0]["generate_params"] == {"temperature": 0.7}
    assert set(back[1]) == {"question_id", "answer_id", "model_id", "choices", "tstamp"}


def test_qid_sort_key_orders_numbers_then_strings() -> None:
    ids = ["z", 100, "81_DE", 9, "100_DE"]
    assert sorted(ids, key=qid_sort_key) == [9, "81_DE", 100, "100_DE", "z"]


def test_answer_id_is_shortuuid_shaped_and_stable() -> None:
    a = make_answer_id("m", 1, [{"index": 0, "turns": ["x"]}])
    assert a == make_answer_id("m", 1, [{"index": 0, "turns": ["x"]}])
    assert a != make_answer_id("m", 1, [{"index": 0, "turns": ["y"]}])
    assert len(a) == 22 and not set(a) & set("01IOl")


def test_single_judgments_read_as_fastchat_writes_them() -> None:
    rows = read_single_judgments(FIXTURES / "mt_bench" / "model_judgment" / "gpt-4_single.jsonl")
    assert len(rows) == 16
    r = rows[0]
    assert (r.question_id, r.model, r.judge, r.score, r.turn) == (1, "alpha", ("gpt-4", "single-v1"), 8, 1)
    errors = [x for x in rows if x.judgment == "$ERROR$"]
    assert len(errors) == 3 and all(x.score == -1 and not x.valid for x in errors)


def test_single_judgment_round_trip_is_field_for_field(tmp_path: Path) -> None:
    src = FIXTURES / "mt_bench" / "model_judgment" / "gpt-4_single.jsonl"
    out = tmp_path / "j.jsonl"
    write_single_judgments(out, read_single_judgments(src))
    assert _lines(out) == _lines(src)


def test_pair_judgments_and_fastchat_outcome_rule() -> None:
    rows = read_pair_judgments(FIXTURES / "mt_bench" / "model_judgment" / "gpt-4_pair.jsonl")
    outcomes = [r.outcome() for r in rows]
    # agree -> win; g1 tie or disagreement -> tie; any error -> dropped
    assert outcomes == ["model_1", "tie", "tie", "model_2", "error", "model_2", "tie"]
    assert [r.consistent for r in rows] == [True, False, False, True, False, True, False]


def test_bad_winner_value(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(
        json.dumps(
            {
                "question_id": 1,
                "model_1": "a",
                "model_2": "b",
                "g1_winner": "A",
                "g2_winner": "tie",
                "judge": ["j", "pair-v2"],
                "turn": 1,
            }
        )
        + "\n"
    )
    with pytest.raises(InputError, match=r"p.jsonl:1: field 'g1_winner' should be one of"):
        read_pair_judgments(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_answers(tmp_path / "nope.jsonl")


def test_answer_model_id_defaults_to_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "mymodel.jsonl"
    path.write_text(json.dumps({"question_id": 1, "choices": [{"index": 0, "turns": ["x"]}]}) + "\n")
    ans = read_answers(path)["1"]
    assert isinstance(ans, Answer) and ans.model_id == "mymodel"


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    out = tmp_path / "a.jsonl"
    write_answers(out, [Answer(1, "m", [{"index": 0, "turns": ["x"]}])])
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert out.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777  # not mkstemp's 0600


@pytest.mark.parametrize(
    ("relative", "read"),
    [
        ("mt_bench/question.jsonl", read_questions),
        ("mt_bench_DE/reference_answer/gpt-4.jsonl", read_answers),
        ("mt_bench/model_judgment/gpt-4_single.jsonl", read_single_judgments),
        ("mt_bench/model_judgment/gpt-4_pair.jsonl", read_pair_judgments),
    ],
)
def test_a_byte_order_mark_at_the_start_of_a_file_is_not_part_of_line_one(tmp_path: Path, relative, read):
    # Files saved by Windows editors start with U+FEFF; line 1 must read as it does without it.
    src = FIXTURES / relative
    with_bom = tmp_path / src.name
    with_bom.write_bytes(b"\xef\xbb\xbf" + src.read_bytes())
    assert read(with_bom) == read(src)


_QUESTION = {"question_id": 1, "category": "math", "turns": ["a"]}
_ANSWER = {"question_id": 1, "model_id": "m", "choices": [{"index": 0, "turns": ["x"]}]}
_SINGLE = {"question_id": 1, "model": "m", "judge": ["j", "single-v1"], "score": 7, "turn": 1}
_PAIR = {
    "question_id": 1,
    "model_1": "a",
    "model_2": "b",
    "g1_winner": "tie",
    "g2_winner": "tie",
    "judge": ["j", "pair-v2"],
}


def _without(row: dict, *keys: str) -> dict:
    return {k: v for k, v in row.items() if k not in keys}


@pytest.mark.parametrize(
    ("reader", "row", "message"),
    [
        # Every missing field at once, most fundamental first, whatever the order in the row.
        (read_questions, {"question_id": 1}, "missing fields 'turns' (a list of 1-2 strings) and 'category'"),
        (
            read_questions,
            {"category": "math"},
            "missing fields 'question_id' (an integer or a string) and 'turns'",
        ),
        (
            read_questions,
            {},
            "missing fields 'question_id' (an integer or a string), 'turns' (a list of 1-2 strings) and 'category'",
        ),
        (
            read_questions,
            {"category": "math", "question_id": 1},
            "missing field 'turns' (a list of 1-2 strings)",
        ),
        (
            read_answers,
            {"model_id": "m"},
            "missing fields 'question_id' (an integer or a string) and 'choices'",
        ),
        (read_answers, {**_ANSWER, "choices": [{"index": 0}]}, "(choices[0]): missing field 'turns'"),
        (
            read_single_judgments,
            {"turn": 1},
            "missing fields 'question_id' (an integer or a string), 'model' (the judged model's name), 'judge' ([judge model, prompt name]) and 'score'",
        ),
        (
            read_single_judgments,
            _without(_SINGLE, "score", "model"),
            "missing fields 'model' (the judged model's name) and 'score'",
        ),
        (
            read_pair_judgments,
            _without(_PAIR, "g2_winner", "question_id"),
            "missing fields 'question_id' (an integer or a string) and 'g2_winner'",
        ),
        (
            read_pair_judgments,
            {**_without(_PAIR, "g1_winner", "g2_winner", "model_2"), "winner": "tie"},
            "missing field 'model_2' (a model name)",
        ),
    ],
)
def test_a_row_missing_several_fields_names_them_all(tmp_path: Path, reader, row: dict, message: str) -> None:
    path = tmp_path / "f.jsonl"
    ok = {
        read_questions: _QUESTION,
        read_answers: _ANSWER,
        read_single_judgments: _SINGLE,
        read_pair_judgments: _PAIR,
    }
    path.write_text(json.dumps(ok[reader]) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(InputError) as e:
        reader(path)
    assert str(e.value).startswith(f"{path}:2") and message in str(e.value)


@pytest.mark.parametrize(
    ("reader", "row"),
    [
        (read_questions, _QUESTION),
        (read_answers, _ANSWER),
        (read_single_judgments, _SINGLE),
        (read_pair_judgments, _PAIR),
    ],
)
def test_a_complete_row_reads_and_a_wrong_type_is_named_in_field_order(
    tmp_path: Path, reader, row: dict
) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps(row) + "\n")
    assert len(reader(path)) == 1
    # Every field of the wrong type: the error names the first in the same order as a missing one.
    path.write_text(json.dumps(dict.fromkeys(row, True)) + "\n")
    with pytest.raises(
        InputError, match=r"f\.jsonl:1: field 'question_id' should be an integer or a string, got a boolean"
    ):
        reader(path)
