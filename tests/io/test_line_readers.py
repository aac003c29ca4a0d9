"""Every JSONL reader agrees with JSON about where a line ends (issue 22, item 3).

JSON strings may hold U+2028, U+2029 and U+0085 raw (orjson and ``ensure_ascii=False`` write
them so); ``str.splitlines()`` also ends a line there and at ``\\x0b \\x0c \\x1c-\\x1e``. Each
reader is given the same files: rows with those characters in their text read whole; a line that
is broken (a raw control character, which JSON forbids inside a string; an unpaired surrogate
escape) is one bad line with its own number, and the lines after it keep theirs. Readers that
quarantine or drop (the dataset reader, train's pair reader) go on; readers of files a user
hands in (bench files, our labelled sets) stop with file and line."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tagengo.errors import InputError
from tagengo.records import quarantine_to_table

SEPARATORS = ["\u2028", "\u2029", "\u0085"]
CONTROL = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]
SURROGATE = "\\ud83d"  # as it stands in the file: an escape with no low half


def _text(i: int, sep: str) -> str:
    return f"line {i} starts{sep}and goes on{sep}to its end"


# Each reader: (make a JSON object holding ``text``, read a file -> (texts read, [(line, reason)])).
def _messages_obj(i: int, text: str) -> dict[str, Any]:
    return {
        "id": f"r{i}",
        "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}],
    }


def _read_source(path: Path) -> tuple[list[str], list[tuple[int, str]]]:
    from tagengo.io.source import open_source, parse_chunk

    src = open_source(path)
    texts, bad = [], []
    for chunk in src.iter_chunks(2):
        recs, q = parse_chunk(chunk, src.format, "t")
        texts += [r.messages[0]["content"] for r in recs]
        bad += q
    quarantine_to_table(bad)  # the quarantine is written to Parquet: no lone surrogate may reach it
    return texts, [(q.line, q.reason) for q in bad]


def _read_train_conversations(path: Path) -> tuple[list[str], list[tuple[int, str]]]:
    from tagengo.train.data import read_conversations

    recs, bad = read_conversations(path)
    quarantine_to_table(bad)
    return [r.messages[0]["content"] for r in recs], [(q.line, q.reason) for q in bad]


def _read_json_lines(path: Path) -> tuple[list[str], list[tuple[int, str]]]:
    from tagengo.io.text import iter_json_lines

    texts, bad = [], []
    for n, obj, problem in iter_json_lines(path):
        if problem is None:
            texts.append(obj["messages"][0]["content"])
        else:
            bad.append((n, problem))
    return texts, bad


def _line_of(message: str, path: Path) -> int:
    assert message.startswith(f"{path}:"), message
    return int(message[len(str(path)) + 1 :].split(":", 1)[0])


def _raising(read: Callable[[Path], list[str]], errors: tuple[type[Exception], ...]):
    def run(path: Path) -> tuple[list[str], list[tuple[int, str]]]:
        try:
            return read(path), []
        except errors as exc:
            return [], [(_line_of(str(exc), path), str(exc))]

    return run


def _read_labelled(path: Path) -> list[str]:
    from tagengo.io.text import read_labelled_jsonl

    return [r["text"] for r in read_labelled_jsonl(path, ("kind", "text"), ("a",))]


def _read_questions(path: Path) -> list[str]:
    from tagengo.io.fastchat import read_questions

    return [q.turns[0] for q in read_questions(path)]


def _read_answers(path: Path) -> list[str]:
    from tagengo.io.fastchat import read_answers

    return [a.turns()[0] for a in read_answers(path).values()]


def _read_pairs(path: Path) -> tuple[list[str], list[tuple[int, str]]]:
    from tagengo.train.pairs import load_pairs

    data = load_pairs(path)
    assert data.read == len(data.train) + len(data.dropped)
    return [r["prompt"] for r in data.train], [(_line_of(w, path), r) for w, r in data.dropped]


READERS: dict[str, tuple[str, Callable[[int, str], dict], Callable]] = {
    "io.source jsonl": (".jsonl", _messages_obj, _read_source),
    "io.source jsonl.gz": (".jsonl.gz", _messages_obj, _read_source),
    "train.data read_conversations": (".jsonl", _messages_obj, _read_train_conversations),
    "io.text iter_json_lines": (".jsonl", _messages_obj, _read_json_lines),
    "io.text read_labelled_jsonl": (
        ".jsonl",
        lambda i, t: {"kind": "a", "text": t},
        _raising(_read_labelled, (ValueError,)),
    ),
    "io.fastchat read_questions": (
        ".jsonl",
        lambda i, t: {"question_id": i, "category": "writing", "turns": [t]},
        _raising(_read_questions, (InputError,)),
    ),
    "io.fastchat read_answers": (
        ".jsonl",
        lambda i, t: {
            "question_id": i,
            "answer_id": f"a{i}",
            "model_id": "m",
            "choices": [{"index": 0, "turns": [t]}],
            "tstamp": 1.0,
        },
        _raising(_read_answers, (InputError,)),
    ),
    "train.pairs load_pairs": (
        ".jsonl",
        lambda i, t: {"prompt": t, "chosen": f"Yes: {t}", "rejected": "No."},
        _read_pairs,
    ),
}


def _write(path: Path, lines: list[str]) -> Path:
    data = "".join(line + ("\r\n" if k == 0 else "\n") for k, line in enumerate(lines)).encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


@pytest.mark.parametrize("name", list(READERS))
@pytest.mark.parametrize("sep", SEPARATORS)
def test_characters_json_strings_hold_raw_do_not_end_a_line(tmp_path: Path, name: str, sep: str) -> None:
    suffix, make, read = READERS[name]
    lines = [json.dumps(make(i, _text(i, sep)), ensure_ascii=False) for i in (1, 2, 3)]
    assert all(sep in line for line in lines)  # written raw, as tagengo's writers write them
    texts, bad = read(_write(tmp_path / f"f{suffix}", lines))
    assert bad == [] and texts == [_text(i, sep) for i in (1, 2, 3)]


@pytest.mark.parametrize("name", list(READERS))
@pytest.mark.parametrize("broken", [*CONTROL, "surrogate"])
def test_a_broken_line_is_one_bad_line_with_its_own_number(tmp_path: Path, name: str, broken: str) -> None:
    suffix, make, read = READERS[name]
    lines = [json.dumps(make(i, _text(i, "@@")), ensure_ascii=False) for i in (1, 2, 3)]
    # Line 2 holds a raw control character (JSON forbids it in a string) or half a surrogate pair.
    lines[1] = lines[1].replace("@@", SURROGATE if broken == "surrogate" else broken, 1)
    texts, bad = read(_write(tmp_path / f"f{suffix}", lines))
    assert len(bad) == 1 and bad[0][0] == 2, bad
    reason = bad[0][1].lower()
    assert ("surrogate" in reason) if broken == "surrogate" else ("json" in reason)
    if name.startswith(("io.source", "train.", "io.text iter")):  # readers that go on
        assert texts == [_text(1, "@@"), _text(3, "@@")]


def test_a_json_array_with_an_unpaired_surrogate_quarantines_that_item(tmp_path: Path) -> None:
    """A ShareGPT-style array is parsed whole by ``json``, which lets "\\ud83d" through; the item
    is quarantined with its reason, not written on to crash a Parquet file."""
    items = [_messages_obj(i, _text(i, "\u2028")) for i in (1, 2, 3)]
    text = json.dumps(items, ensure_ascii=False).replace("line 2 starts", "line 2 starts" + SURROGATE, 1)
    path = tmp_path / "arr.json"
    path.write_text(text, encoding="utf-8")
    texts, bad = _read_source(path)
    assert texts == [_text(1, "\u2028"), _text(3, "\u2028")]
    assert [line for line, _ in bad] == [2] and "surrogate" in bad[0][1]
