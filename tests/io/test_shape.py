"""Conversation shape (io/shape.py): every reader hands stages a conversation that starts with
the user, whichever stage reads it (curate and generate alike), and records what it dropped;
two turns of one role in a row and role names outside the shared table are quarantined naming
the file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagengo.curate.config import CurateConfig
from tagengo.curate.stage import curate
from tagengo.io.shape import normalise_turns
from tagengo.io.source import open_source, parse_chunk
from tagengo.run.dataset import read_table

GREETING = "Hello! I am your assistant. How can I help you today?"
QUESTION = "Wie lange muss ein Ei kochen, damit das Eigelb noch weich ist?"
ANSWER = "Etwa sechs Minuten in kochendem Wasser."


def _turns(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"role": r, "content": c} for r, c in pairs]


def test_a_greeting_before_the_first_user_turn_is_dropped_and_kept_in_meta():
    meta: dict = {}
    msgs = _turns(("system", "Be brief."), ("assistant", GREETING), ("user", QUESTION), ("assistant", ANSWER))
    out = normalise_turns(msgs, meta)
    assert out == _turns(("system", "Be brief."), ("user", QUESTION), ("assistant", ANSWER))
    assert meta["leading_turns_dropped"] == 1
    assert meta["leading_turns"] == [{"role": "assistant", "content": GREETING}]
    assert len(msgs) == 4  # the caller's list is left as it was


def test_empty_turns_are_dropped_and_the_rules_are_idempotent():
    meta: dict = {}
    msgs = _turns(("assistant", ""), ("user", "Erste Frage."), ("assistant", " \u200b"), ("user", "Zweite."))
    out = normalise_turns(msgs, meta)
    assert out == _turns(("user", "Erste Frage."), ("user", "Zweite."))  # repeated_role's to judge
    assert meta == {"empty_turns_dropped": 2}
    # Applying the rules again changes nothing and counts nothing twice (curate's first step does).
    assert normalise_turns(out, meta) == out and meta == {"empty_turns_dropped": 2}


def test_a_row_whose_every_user_turn_is_empty_is_left_whole_for_the_stage_to_reject():
    meta: dict = {}
    msgs = _turns(("user", "\u200b\u2060"), ("assistant", ""))
    assert normalise_turns(msgs, meta) == msgs and meta == {}


def _read(path: Path, fmt: str | None = None):
    src = open_source(path, fmt)
    records, bad = [], []
    for chunk in src.iter_chunks(100):
        r, q = parse_chunk(chunk, src.format, src.name_for(Path(chunk.file)))
        records += r
        bad += q
    return records, bad


@pytest.mark.parametrize(
    ("fmt", "key", "role_key", "content_key", "user", "bot"),
    [
        ("sharegpt", "conversations", "from", "value", "human", "gpt"),
        ("sharegpt", "conversations", "from", "value", "user", "chatgpt"),
        ("messages", "messages", "role", "content", "human", "model"),
        ("messages", "messages", "role", "content", "User", "gpt"),
    ],
)
def test_standard_role_names_are_read_in_either_format(tmp_path, fmt, key, role_key, content_key, user, bot):
    rows = [{key: [{role_key: user, content_key: QUESTION}, {role_key: bot, content_key: ANSWER}]}]
    (path := tmp_path / "chat.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (rec,), bad = _read(path, fmt)
    assert bad == []
    assert rec.messages == _turns(("user", QUESTION), ("assistant", ANSWER))


def test_unknown_role_names_are_quarantined_with_file_line_and_field(tmp_path):
    ok = {"messages": _turns(("user", QUESTION), ("assistant", ANSWER))}
    bot = {"messages": [{"role": "user", "content": QUESTION}, {"role": "bot", "content": ANSWER}]}
    tool = {"messages": [{"role": "user", "content": QUESTION}, {"role": "tool", "content": "{}"}]}
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (ok, bot, tool)))
    records, bad = _read(path)
    assert len(records) == 1
    assert [(q.file, q.line, q.field) for q in bad] == [
        (str(path), 2, "messages[1].role"),
        (str(path), 3, "messages[1].role"),
    ]
    assert "unknown role 'bot' (known: system, developer, user, human" in bad[0].reason
    assert "tool use is not supported" in bad[1].reason


FOLLOW_UP = "Und ein hart gekochtes Ei?"


def test_two_turns_of_one_role_in_a_row_are_quarantined_naming_the_second(tmp_path):
    rows = [
        {"conversations": [{"from": "human", "value": "Hallo."}, {"from": "human", "value": QUESTION}]},
        {"conversations": [
            {"from": "human", "value": QUESTION}, {"from": "gpt", "value": "Sechs"}, {"from": "gpt", "value": ""},
            {"from": "gpt", "value": "Minuten."},
        ]},
    ]  # fmt: skip
    (path := tmp_path / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    records, bad = _read(path, "sharegpt")
    assert records == []
    assert [(q.line, q.field, q.reason) for q in bad] == [
        (1, "conversations[1].from", "two user turns in a row (conversations[0] and conversations[1]); user and assistant must alternate"),
        (2, "conversations[3].from", "two assistant turns in a row (conversations[1] and conversations[3], once the empty turns between them are dropped); user and assistant must alternate"),
    ]  # fmt: skip


def _sharegpt_log(tmp_path: Path) -> Path:
    """A system-less chat log that starts with the bot's greeting, as ShareGPT exports do, and
    ends with an empty answer; and one with two user turns in a row."""
    rows = [
        {"id": "greet", "conversations": [
            {"from": "gpt", "value": GREETING},
            {"from": "human", "value": QUESTION},
            {"from": "gpt", "value": ANSWER},
            {"from": "human", "value": FOLLOW_UP},
            {"from": "gpt", "value": ""},
        ]},
        {"id": "twice", "conversations": [{"from": "human", "value": QUESTION}, {"from": "human", "value": FOLLOW_UP}]},
    ]  # fmt: skip
    path = tmp_path / "log.json"
    path.write_text(json.dumps(rows))
    return path


def test_curate_gets_the_conversation_from_the_user_on(tmp_path):
    cfg = CurateConfig(keep="conversation", cap={"enabled": False})
    result = curate(_sharegpt_log(tmp_path), tmp_path / "out", cfg, workers=1, progress=False)
    (row,) = read_table(result.out, "data").to_pylist() or read_table(result.out, "rejected").to_pylist()
    assert row["messages"] == _turns(("user", QUESTION), ("assistant", ANSWER), ("user", FOLLOW_UP))
    meta = json.loads(row["meta"])
    assert (meta["leading_turns_dropped"], meta["empty_turns_dropped"]) == (1, 1)
    (q,) = read_table(result.out, "quarantine").to_pylist()
    assert (q["line"], q["field"]) == (2, "conversations[1].from")


def test_generate_sends_the_conversation_from_the_user_on(tmp_path):
    """The generate stage reads through the same reader: the teacher never sees the greeting
    (nor the empty answer, so the last user turn is answered), and the row with two user turns
    in a row is quarantined, not sent."""
    from servers.echo_chat import EchoChatServer
    from tagengo.generate.config import GenerateConfig
    from tagengo.generate.stage import generate

    with EchoChatServer() as server:
        cfg = GenerateConfig(base_url=server.url, model="t", cache_path=tmp_path / "c.sqlite")
        result = generate(_sharegpt_log(tmp_path), tmp_path / "out", cfg, progress=False)
        (request,) = server.requests
    sent = [m for m in request["messages"] if m["role"] != "system"]
    assert sent[0] == {"role": "user", "content": QUESTION}
    assert sent == _turns(("user", QUESTION), ("assistant", ANSWER), ("user", FOLLOW_UP))
    assert GREETING not in json.dumps(request)
    (row,) = read_table(result.out, "data").to_pylist()
    assert json.loads(row["meta"])["leading_turns"] == [{"role": "assistant", "content": GREETING}]
    (q,) = read_table(result.out, "quarantine").to_pylist()
    assert (q["line"], q["field"]) == (2, "conversations[1].from")
    assert result.manifest["counts"]["quarantined"] == 1
