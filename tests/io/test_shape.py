"""Conversation shape (io/shape.py): every reader hands stages a conversation that starts with
the user and alternates, whichever stage reads it (curate and generate alike), and records
what it dropped or joined; role names outside the shared table are quarantined by name."""

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


def test_consecutive_turns_of_one_role_are_joined_and_empty_turns_dropped():
    meta: dict = {}
    msgs = _turns(
        ("user", "Erste Frage."), ("user", "Und noch etwas."), ("assistant", " \u200b"), ("user", "Drei.")
    )
    msgs += _turns(("assistant", "A."), ("assistant", "B."))
    out = normalise_turns(msgs, meta)
    assert out == _turns(("user", "Erste Frage.\n\nUnd noch etwas.\n\nDrei."), ("assistant", "A.\n\nB."))
    assert meta == {"empty_turns_dropped": 1, "turns_merged": 3}
    # Applying the rules again changes nothing and counts nothing twice (curate's first step does).
    assert normalise_turns(out, meta) == out and meta == {"empty_turns_dropped": 1, "turns_merged": 3}


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


def _sharegpt_log(tmp_path: Path) -> Path:
    """A system-less chat log that starts with the bot's greeting, as ShareGPT exports do."""
    rows = [
        {"id": "greet", "conversations": [
            {"from": "gpt", "value": GREETING},
            {"from": "human", "value": QUESTION},
            {"from": "gpt", "value": ANSWER},
            {"from": "human", "value": "Und ein hart gekochtes Ei?"},
            {"from": "human", "value": "Also ganz fest, meine ich."},
        ]},
    ]  # fmt: skip
    path = tmp_path / "log.json"
    path.write_text(json.dumps(rows))
    return path


def test_curate_gets_the_conversation_from_the_user_on(tmp_path):
    cfg = CurateConfig(keep="conversation", cap={"enabled": False})
    result = curate(_sharegpt_log(tmp_path), tmp_path / "out", cfg, workers=1, progress=False)
    (row,) = read_table(result.out, "data").to_pylist() or read_table(result.out, "rejected").to_pylist()
    msgs = row["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"]
    assert msgs[-1]["content"] == "Und ein hart gekochtes Ei?\n\nAlso ganz fest, meine ich."
    meta = json.loads(row["meta"])
    assert (meta["leading_turns_dropped"], meta["turns_merged"]) == (1, 1)


def test_generate_sends_the_conversation_from_the_user_on(tmp_path):
    """The generate stage reads through the same reader: the teacher never sees the greeting,
    and the two user turns at the end arrive as one."""
    from servers.echo_chat import EchoChatServer
    from tagengo.generate.config import GenerateConfig
    from tagengo.generate.stage import generate

    with EchoChatServer() as server:
        cfg = GenerateConfig(base_url=server.url, model="t", cache_path=tmp_path / "c.sqlite")
        result = generate(_sharegpt_log(tmp_path), tmp_path / "out", cfg, progress=False)
        (request,) = server.requests
    sent = [m for m in request["messages"] if m["role"] != "system"]
    assert sent[0] == {"role": "user", "content": QUESTION}
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert GREETING not in json.dumps(request)
    (row,) = read_table(result.out, "data").to_pylist()
    assert json.loads(row["meta"])["leading_turns"] == [{"role": "assistant", "content": GREETING}]
