"""Row formats: OpenAI-style content parts and tool-call turns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagengo.errors import BadRow
from tagengo.io.formats import from_messages, from_sharegpt
from tagengo.io.source import open_source, parse_chunk


def test_a_list_of_text_parts_becomes_the_joined_text() -> None:
    rec = from_messages(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Erkläre"},
                        {"type": "text", "text": "Photosynthese."},
                    ],
                },
                {"role": "assistant", "content": [{"type": "text", "text": "Pflanzen nutzen Licht."}]},
            ]
        },
        "x",
    )
    assert [m["content"] for m in rec.messages] == ["Erkläre\nPhotosynthese.", "Pflanzen nutzen Licht."]


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        ({"type": "image_url", "image_url": {"url": "data:,"}}, "is a 'image_url' part"),
        ({"type": "input_audio", "input_audio": {}}, "is a 'input_audio' part"),
        ({"text": "no type"}, "is a part without type 'text'"),
        ({"type": "text", "text": None}, "is a 'text' part"),
    ],
)
def test_a_part_that_is_not_text_is_named_in_the_error(part: object, expected: str) -> None:
    obj = {"messages": [{"role": "user", "content": [{"type": "text", "text": "look"}, part]}]}
    with pytest.raises(BadRow, match=expected) as err:
        from_messages(obj, "x")
    assert err.value.field == "messages[0].content[1]"


@pytest.mark.parametrize("part", ["bare string", 7, None, ["nested"]])
def test_a_list_holding_something_other_than_parts_is_refused(part: object) -> None:
    with pytest.raises(BadRow, match="should be a string or a list of content parts") as err:
        from_messages({"messages": [{"role": "user", "content": [part]}]}, "x")
    assert err.value.field == "messages[0].content"


def test_a_tool_call_turn_says_tool_use_is_not_supported() -> None:
    obj = {
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "1", "type": "function"}]},
        ]
    }
    with pytest.raises(BadRow, match=r"messages\[1\] is a tool call with no text"):
        from_messages(obj, "x")
    with pytest.raises(BadRow, match="is a 'tool' turn; tool use is not supported"):
        from_messages({"messages": [{"role": "user", "content": "a"}, {"role": "tool", "content": "b"}]}, "x")


def test_sharegpt_values_may_be_part_lists_too() -> None:
    rec = from_sharegpt(
        {"conversations": [{"from": "human", "value": [{"type": "text", "text": "Olá"}]}]}, "x"
    )
    assert rec.messages == [{"role": "user", "content": "Olá"}]


def test_quarantine_names_file_line_and_part(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    rows = [
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "ok"}]}]},
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    source = open_source(path)
    records, bad = [], []
    for chunk in source.iter_chunks(100):
        r, b = parse_chunk(chunk, source.format, "x")
        records += r
        bad += b
    assert [r.messages[0]["content"] for r in records] == ["ok"]
    assert [(Path(q.file).name, q.line, q.field) for q in bad] == [
        ("chat.jsonl", 2, "messages[0].content[0]")
    ]


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        (
            {"id": "a", "source": "s", "messages": "nope"},
            "messages",
            "should be a list of messages, got a string",
        ),
        ({"id": 1, "source": "s", "messages": []}, "id", "should be a string, got an integer"),
        ({"id": "a", "messages": []}, "source", "missing field 'source'"),
        ({"id": "a", "source": "s", "language": 3, "messages": []}, "language", "should be a language code"),
        ({"id": "a", "source": "s", "messages": [{"role": "user"}]}, "messages[0].content", "got null"),
        (
            {"id": "a", "source": "s", "messages": [{"role": "user", "content": "x"}], "meta": "{bad"},
            "meta",
            "not a JSON",
        ),
        (
            {"id": "a", "source": "s", "messages": [{"role": "user", "content": "x"}], "meta": 5},
            "meta",
            "an integer",
        ),
    ],
)
def test_a_hand_written_tagengo_row_that_does_not_fit_names_the_field(
    row: dict, field: str, reason: str
) -> None:
    from tagengo.io.formats import from_tagengo

    with pytest.raises(BadRow, match=reason) as err:
        from_tagengo(row, "x")
    assert err.value.field == field


def test_a_well_formed_tagengo_row_reads_as_the_record() -> None:
    from tagengo.io.formats import from_tagengo

    row = {
        "id": "a",
        "source": "s",
        "language": "de",
        "messages": [{"role": "user", "content": "Hallo"}],
        "meta": "{}",
    }
    rec = from_tagengo(row, "x")
    assert (rec.id, rec.language, rec.messages, rec.meta) == (
        "a",
        "de",
        [{"role": "user", "content": "Hallo"}],
        {},
    )
