"""Two turns of one conversation whose sources differ, translated to the same text: each turn
alone passes every check, but the conversation no longer follows (the second question asks the
first again). Rejected with a countable reason in translate and in translate --bench, through the
scripted translator over real HTTP (its ``SAMETEXT`` control word answers every source of about
one length with the same text); a row whose turns are the same in the source is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from tagengo.llm.translation.check import same_translation
from tagengo.translate.bench import translate_bench
from tagengo.translate.config import TranslateConfig
from tagengo.translate.stage import translate


def _rows(out: Path, sub: str) -> dict[str, dict]:
    got = [r for f in sorted((out / sub).glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]
    return {r["id"].removesuffix("-de"): r for r in got}


def _chat(rid: str, *turns: str) -> dict:
    roles = ["user", "assistant"] * len(turns)
    return {
        "id": rid,
        "language": "en",
        "messages": [{"role": r, "content": t} for r, t in zip(roles, turns)],
    }


def test_two_turns_translated_to_the_same_text_reject_the_row(scripted_server, llm_options, tmp_path):
    server = scripted_server()
    src = tmp_path / "chats.jsonl"
    rows = [
        # Four turns, the two user turns different: both come back as one text.
        _chat("user-turns", "How do I keep bread fresh for longer at home? SAMETEXT",
              "Keep it in a cloth bag at room temperature, away from the sun.",
              "And what about cakes with cream, how long do they keep? SAMETEXT",
              "A day or two in the fridge, covered, is about the limit."),
        # A question and its answer alike: the same fault between roles.
        _chat("user-assistant", "Tell me something about the weather in spring. SAMETEXT",
              "It is mild and often rainy, with long bright evenings. SAMETEXT"),
        # The same source twice ("Thanks!" said twice in a real chat): the same translation is right.
        _chat("repeated", "Please say that again in other words for me.", "Here it is in other words for you.",
              "Please say that again in other words for me.", "Here it is once more for you."),
        _chat("plain", "How do I keep bread fresh for longer at home?",
              "Keep it in a cloth bag at room temperature, away from the sun."),
    ]  # fmt: skip
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = translate(
        src, tmp_path / "out", TranslateConfig(to=["de"], include_source=False, **llm_options(server))
    )
    kept, rejected = _rows(tmp_path / "out", "data"), _rows(tmp_path / "out", "rejected")
    assert set(kept) == {"repeated", "plain"} and set(rejected) == {"user-turns", "user-assistant"}
    assert rejected["user-turns"]["reason"].startswith(
        "same translation of two turns: message 1 (user) and message 3 (user) differ in the source"
    )
    assert "message 1 (user) and message 2 (assistant)" in rejected["user-assistant"]["reason"]
    assert result.manifest["counts"]["rejected"] == 2
    # The rejected row keeps what came back for a person to read.
    meta = json.loads(rejected["user-turns"]["meta"])["translation"]
    assert len(meta["calls"]) == 4
    kept_turns = [m["content"] for m in kept["plain"]["messages"]]
    assert kept_turns[0] != kept_turns[1]


def test_a_bench_question_whose_two_turns_came_back_alike_is_left_out(scripted_server, llm_options, tmp_path):
    bench = tmp_path / "mt_bench"
    bench.mkdir()
    questions = [
        {"question_id": 1, "category": "writing", "turns": [
            "Write a short note to a neighbour about a parcel you kept for them. SAMETEXT",
            "Now write it again as a short poem that rhymes at every line. SAMETEXT"]},
        {"question_id": 2, "category": "writing", "turns": [
            "Write a short note to a neighbour about a parcel you kept for them.",
            "Now write it again as a short poem that rhymes at every line."]},
    ]  # fmt: skip
    (bench / "question.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    report = translate_bench(bench, tmp_path / "out", "de", TranslateConfig(**llm_options(scripted_server())))
    assert report["counts"]["kept"] == 1 and [x["question_id"] for x in report["left_out"]] == ["1"]
    assert report["left_out"][0]["reason"].startswith(
        "same translation of two turns: question.jsonl question 1"
    )


def test_the_rule_compares_folded_text_and_leaves_short_turns_alone():
    same = "Das ist eine lange genug Antwort auf die Frage."
    assert same_translation([("a", "one source", same), ("b", "another source", same.upper() + "!")])
    assert same_translation([("a", "Same source.", same), ("b", "same source", same)]) is None
    assert same_translation([("a", "Yes.", "Ja."), ("b", "Yes, sure.", "Ja.")]) is None  # too short to tell
    assert same_translation([("a", "x", same), ("b", "y", same + " Und mehr.")]) is None
