"""`tagengo translate` (and translate --bench) on the answer contract (tagengo.llm.answer), and
the chatter a translator adds around a translation cut off (tagengo.llm.translation.prompts).

The fault rows carry ``FAULT=<kind>`` markers, so the scripted server answers their
translation requests the way real servers misbehave (tests/servers/answer_faults.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from servers.answer_faults import DECOY
from servers.loopback import ScriptedOpenAIServer, started_servers
from servers.scripted_chat import SENTENCES, ScriptedChatServer
from servers.scripted_chat import translate as scripted_translate
from tagengo.run.cli_common import step_summary
from tagengo.translate.bench import translate_bench
from tagengo.translate.config import TranslateConfig
from tagengo.translate.stage import translate

FAULTS = Path(__file__).parent / "fixtures" / "faults_en.jsonl"
BENCH = Path(__file__).parent / "fixtures" / "mt_bench"
WHERE = "(translation of message 1 (user))"


def rows(out: Path, sub: str) -> list[dict]:
    got = [r for f in sorted((out / sub).glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]
    for r in got:
        r["meta"] = json.loads(r["meta"])
    return got


class KeepingServer(ScriptedChatServer):
    """The scripted server, keeping every request body (to count the calls of one row)."""

    keep_requests = True


def calls_with(server: ScriptedOpenAIServer, marker: str) -> int:
    return sum(any(marker in (m.get("content") or "") for m in b["messages"]) for b in server.requests)


@pytest.fixture
def keeping_server() -> Iterator[Callable[..., KeepingServer]]:
    yield from started_servers(KeepingServer)


# -- the answer contract, end to end ---------------------------------------------------------------


def test_faulty_answers_are_normalised_or_rejected_with_the_contracts_reason(
    keeping_server, llm_options, tmp_path
) -> None:
    server = keeping_server()
    cfg = TranslateConfig(to=["de"], include_source=False, **llm_options(server))
    result = translate(FAULTS, tmp_path / "out", cfg)
    counts = result.manifest["counts"]
    assert counts["read"] == 15 and counts["kept"] + counts["rejected"] == counts["read"]
    kept = {r["id"].removesuffix("-de"): r for r in rows(tmp_path / "out", "data")}
    rejected = {r["id"].removesuffix("-de"): r["reason"] for r in rows(tmp_path / "out", "rejected")}
    assert set(kept) == {"clean", "surrogate", "parts", "think", "thinkopen", "reasoningfield", "harmony"}
    assert counts["kept"] == 7 and counts["rejected"] == 8

    for name, row in kept.items():
        user = row["messages"][0]["content"]
        assert user.startswith(SENTENCES["de"]), name
        for decoy in ("DECOY", "[[3]]", "think>", "Score: 3"):
            assert decoy not in user, (name, user)
    calls = {name: row["meta"]["translation"]["calls"] for name, row in kept.items()}
    # the lone surrogate became U+FFFD, counted in the call's meta
    assert "\ufffd" in kept["surrogate"]["messages"][0]["content"]
    assert calls["surrogate"][0]["replaced_chars"] == 1
    # content as a list of parts: joined, the same translation as a plain answer
    assert kept["parts"]["messages"][0]["content"].startswith(SENTENCES["de"])
    # the reasoning is kept in the call's meta, not in the translation
    for name in ("think", "thinkopen", "reasoningfield", "harmony"):
        assert DECOY in calls[name][0]["reasoning"], name
        assert "reasoning" not in calls[name][1]  # the assistant message had no fault
    assert all("reasoning" not in c and "replaced_chars" not in c for c in calls["clean"])

    assert rejected["thinkonly"] == f"empty answer {WHERE}: only reasoning, no answer after it"
    assert rejected["budget"].startswith(
        f"unfinished {WHERE}: the answer used all 2,048 tokens of max_tokens"
    )
    assert rejected["truncated"].startswith(f"prompt truncated {WHERE}: the server counted 16 prompt tokens")
    assert rejected["errorbody"].startswith(f"provider error {WHERE}: ")
    assert rejected["templateleak"].startswith(
        f"template leak {WHERE}: the answer holds the chat-template marker"
    )
    for name in ("filterprompt", "filteranswer", "filterempty"):
        assert rejected[name].startswith(f"filtered {WHERE}: "), rejected[name]
    # failures that a retry cannot mend are asked once
    for name in ("errorbody", "filterprompt", "filteranswer", "filterempty", "thinkonly", "budget"):
        assert calls_with(server, f"FAULT={name}") == 1, name


#: The round-2 faults (tests/servers/answer_faults.py) and how a translation ends with each.
ROUND2_KEPT = ("stoptoken", "wrapped")
ROUND2_REJECTED = {
    "textfield": f"provider error {WHERE}: malformed response: ",
    "deepseekleak": f"template leak {WHERE}: the answer holds the chat-template marker '<\uff5cend",
    "plainturn": f"template leak {WHERE}: the answer holds the chat-template marker '### Human:'",
    "toolcall": f"tool call {WHERE}: the answer is only a tool call written as text",
    "abort": f"call failed {WHERE}: the server aborted the generation (finish_reason='abort'",
    "ollamanull": f"call failed {WHERE}: the server finished with stop but sent content null",
}


def test_round_two_faults_are_retried_normalised_or_rejected(keeping_server, llm_options, tmp_path) -> None:
    server = keeping_server()
    src = tmp_path / "faults.jsonl"
    kinds = ("clean", *ROUND2_KEPT, *ROUND2_REJECTED)
    src.write_text(
        "".join(
            json.dumps({"id": k, "language": "en", "messages": [
                {"role": "user", "content": f"How do I keep bread fresh for longer, question {i}? FAULT={k}"},
                {"role": "assistant", "content": "Keep it in a cloth bag at room temperature."}]}) + "\n"
            for i, k in enumerate(kinds)
        )
    )  # fmt: skip
    cfg = TranslateConfig(to=["de"], include_source=False, **llm_options(server))
    result = translate(src, tmp_path / "out", cfg)
    kept = {r["id"].removesuffix("-de"): r for r in rows(tmp_path / "out", "data")}
    rejected = {r["id"].removesuffix("-de"): r["reason"] for r in rows(tmp_path / "out", "rejected")}
    assert set(kept) == {"clean", *ROUND2_KEPT} and set(rejected) == set(ROUND2_REJECTED)
    assert result.manifest["counts"]["rejected"] == len(ROUND2_REJECTED)
    for name in ROUND2_KEPT:
        user = kept[name]["messages"][0]["content"]
        assert user.startswith(SENTENCES["de"]) and "\uff5c" not in user and '"role"' not in user, name
        assert kept[name]["meta"]["translation"]["calls"][0]["normalised"], name
    assert "normalised" not in kept["clean"]["meta"]["translation"]["calls"][0]
    for name, reason in ROUND2_REJECTED.items():
        assert rejected[name].startswith(reason), (name, rejected[name])
    # a passing fault is asked --max-attempts (2) times; the others once
    assert {k: calls_with(server, f"FAULT={k}") for k in ROUND2_REJECTED} == {
        k: 2 if k in ("abort", "ollamanull") else 1 for k in ROUND2_REJECTED
    }


#: The rest of the kinds of tests/servers/answer_faults.py (``KINDS`` + ``RETRIED``) that reach a
#: translation, and how it ends with each. ``fallback`` is kept unless --require-served-model
#: (tests/llm/test_served_model.py), ``dated`` is the model asked. ``drift`` needs a source as long
#: as its five sentences (here the length check would reject it first): tests/llm/test_answer_drift.py.
MORE_KEPT = ("seedthink", "kimithink", "fallback", "dated", "nanusage", "multichoice")
MORE_REJECTED = {
    "refuse": f"call failed {WHERE}: HTTP 400: Unsupported parameter: 'max_tokens'",
    "instleak": f"template leak {WHERE}: the answer holds the chat-template marker '[/INST]'",
    # translate's own target-language check (tagengo.llm.translation.check) comes first
    "wronglang": "message 1 (user) is not in de: language ID says en",
    "repetition": f"repetition {WHERE}: the answer ends in 'I will now explain it again in other words.'",
    "echo": f"echo {WHERE}: the answer is the last user turn sent back",
    "nul": f"control characters {WHERE}: 3 C0 control characters",
    "fffd": f"replacement characters {WHERE}: 5 U+FFFD replacement characters from the server",
    "toolcallsfield": f"tool call {WHERE}: the answer is only a structured tool call ('get_weather') though "
    "the request offered no tools",
    "contentnumber": f"provider error {WHERE}: malformed response: the message's content is int 42, not text",
    "ollamaempty": f"call failed {WHERE}: the server sent no finish reason, no content and no completion tokens",
    # the s33 newcomer trial's
    "qmarks": f"replacement characters {WHERE}: letters lost to '?' (",
    "alpaca": f"template leak {WHERE}: the answer holds the chat-template marker '### Instruction:'",
    "userturn": f"template leak {WHERE}: the answer holds the chat-template marker 'User:'",
    "errornocode": f"provider error {WHERE}: Internal error ('InternalServerError' in an HTTP 200 body with no code",
}


def test_the_other_faults_are_normalised_or_rejected_once_and_retried_ones_max_attempts_times(
    keeping_server, llm_options, tmp_path
) -> None:
    server = keeping_server()
    src = tmp_path / "faults.jsonl"
    kinds = ("clean", *MORE_KEPT, *MORE_REJECTED)
    src.write_text(
        "".join(
            json.dumps({"id": k, "language": "en", "messages": [
                {"role": "user", "content": f"How do I keep bread fresh for longer? FAULT={k}"},
                {"role": "assistant", "content": "Keep it in a cloth bag at room temperature."}]}) + "\n"
            for k in kinds
        )
    )  # fmt: skip
    cfg = TranslateConfig(to=["de"], include_source=False, **llm_options(server))
    result = translate(src, tmp_path / "out", cfg)
    counts = result.manifest["counts"]
    assert counts["read"] == len(kinds) == counts["kept"] + counts["rejected"] + counts.get("quarantined", 0)
    kept = {r["id"].removesuffix("-de"): r for r in rows(tmp_path / "out", "data")}
    rejected = {r["id"].removesuffix("-de"): r for r in rows(tmp_path / "out", "rejected")}
    assert set(kept) == {"clean", *MORE_KEPT} and set(rejected) == set(MORE_REJECTED)
    for name in MORE_KEPT:
        user = kept[name]["messages"][0]["content"]
        assert user.startswith(SENTENCES["de"]) and "DECOY" not in user and "think" not in user, name
        call = kept[name]["meta"]["translation"]["calls"][0]
        assert call.get("reasoning") == (DECOY if name.endswith("think") else None), name
        assert call.get("requested_model") == ("scripted" if name == "fallback" else None), name
    for name, reason in MORE_REJECTED.items():
        assert rejected[name]["reason"].startswith(reason), (name, rejected[name]["reason"])
        # nothing of the bent translation is kept: the row is the source, untranslated
        assert rejected[name]["messages"][0]["content"].startswith("How do I keep bread fresh"), name
    # a passing fault is asked --max-attempts (2) times; the others once
    assert {k: calls_with(server, f"FAULT={k}") for k in MORE_REJECTED} == {
        k: 2 if k in ("ollamaempty", "errornocode") else 1 for k in MORE_REJECTED
    }


# -- chatter around a translation ------------------------------------------------------------------

_NAMES = {"German": "de", "French": "fr", "Japanese": "ja", "English": "en"}
CHATTER = {
    "de": "Gerne! Hier ist die Übersetzung ins Deutsche:\n\n{t}\n\nAnmerkung: Den Ton des Originals habe ich beibehalten.",
    "fr": "Voici la traduction en français :\n\n« {t} »\n\n(Remarque : j'ai gardé le registre familier.)",
    "ja": "以下が日本語訳です：\n\n「{t}」\n\n注：原文の口調を保ちました。",
    "en": 'Sure! Here is the translation:\n\n"{t}"\n\nNote: I kept the informal tone.',
}
CUT = {"de": {"preamble", "note"}, "fr": {"preamble", "note", "quotes"}, "ja": {"preamble", "note", "quotes"}}


class ChattyServer(ScriptedChatServer):
    """The scripted server, whose translator wraps every translation in chatter."""

    def reply(self, body: dict[str, Any]) -> tuple[str, str]:
        content, finish = super().reply(body)
        msgs = body["messages"]
        if msgs[0]["content"].startswith("You are a professional translator") and content:
            target = _NAMES[re.search(r"into (\w+)\.", msgs[1]["content"]).group(1)]
            content = CHATTER[target].format(t=content)
        return content, finish


@pytest.fixture
def chatty_server() -> Iterator[Callable[..., ChattyServer]]:
    yield from started_servers(ChattyServer)


def test_translate_cuts_chatter_and_records_it(chatty_server, llm_options, tmp_path) -> None:
    src = tmp_path / "chats.jsonl"
    chats = [
        ("plants", "What is a good way to keep house plants healthy in winter?", "Water them less often."),
        ("bread", "Why does bread go stale faster in the fridge?", "Cold speeds up how its starch hardens."),
    ]
    src.write_text(
        "".join(
            json.dumps(
                {
                    "id": i,
                    "language": "en",
                    "messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}],
                }
            )
            + "\n"
            for i, q, a in chats
        )
    )
    server = chatty_server()
    cfg = TranslateConfig(to=["de", "fr", "ja"], include_source=False, **llm_options(server))
    result = translate(src, tmp_path / "out", cfg)
    assert result.manifest["counts"]["kept"] == 6 and result.manifest["counts"]["rejected"] == 0
    for row in rows(tmp_path / "out", "data"):
        lang = row["language"]
        for m, info in zip(row["messages"], row["meta"]["translation"]["messages"], strict=True):
            assert m["content"] == scripted_translate(info["source"], lang)
            assert set(info["chatter_removed"]) == CUT[lang]
            assert "Hier ist" in info["chatter_removed"]["preamble"] or lang != "de"
    assert step_summary(result, "translate")["chatter_removed"] == {"preamble": 12, "note": 12, "quotes": 8}


def test_translate_bench_cuts_chatter_and_counts_it(chatty_server, scripted, llm_options, tmp_path) -> None:
    server = chatty_server()
    report = translate_bench(
        # the scripted translator writes stock sentences by length, not one per source sentence
        BENCH,
        tmp_path / "de",
        "de",
        TranslateConfig(check_sentences=False, **llm_options(server)),
    )
    questions = [json.loads(line) for line in (tmp_path / "de" / "question.jsonl").open()]
    assert [q["question_id"] for q in questions] == [81, 101]
    for q in questions:
        for turn in q["turns"]:
            assert (
                turn.startswith(scripted.SENTENCES["de"])
                and "Anmerkung" not in turn
                and "Hier ist" not in turn
            )
    assert report["counts"]["chatter_removed"] == len(report["chatter_removed"]) > 0
    assert all(set(c["removed"]) == {"preamble", "note"} for c in report["chatter_removed"])


#: question id -> the last kinds added to tests/servers/answer_faults.py, through translate --bench
NEW_BENCH_FAULTS = {5: "fffd", 6: "toolcallsfield", 7: "contentnumber", 8: "ollamaempty"}


def test_translate_bench_answers_pass_the_contract(keeping_server, llm_options, tmp_path) -> None:
    bench = tmp_path / "mini"
    bench.mkdir()
    questions = [
        {
            "question_id": 1,
            "category": "writing",
            "turns": ["Write a short note to thank a neighbour. FAULT=think"],
        },
        {
            "question_id": 2,
            "category": "writing",
            "turns": ["Write a short note to invite a friend. FAULT=budget"],
        },
        {
            "question_id": 3,
            "category": "writing",
            "turns": ["Write a short note to a teacher. FAULT=errorbody"],
        },
        {
            "question_id": 4,
            "category": "writing",
            "turns": ["Write a short note to a colleague. FAULT=thinkonly"],
        },
        *(
            {"question_id": q, "category": "writing", "turns": [f"Write a short note to a friend. FAULT={k}"]}
            for q, k in NEW_BENCH_FAULTS.items()
        ),
    ]
    (bench / "question.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    server = keeping_server()
    report = translate_bench(bench, tmp_path / "de", "de", TranslateConfig(**llm_options(server)))
    kept = [json.loads(line) for line in (tmp_path / "de" / "question.jsonl").open()]
    assert [q["question_id"] for q in kept] == [1]
    assert kept[0]["turns"][0].startswith(SENTENCES["de"]) and "DECOY" not in kept[0]["turns"][0]
    reasons = {r["question_id"]: r["reason"] for r in report["left_out"]}
    where = "(translation of question.jsonl question {} turns.0)"
    assert reasons["2"].startswith(f"unfinished {where.format(2)}: ")
    assert reasons["3"].startswith(f"provider error {where.format(3)}: ")
    assert reasons["4"] == f"empty answer {where.format(4)}: only reasoning, no answer after it"
    assert calls_with(server, "FAULT=errorbody") == 1
    for q, k in NEW_BENCH_FAULTS.items():
        assert reasons[str(q)].startswith(f"{MORE_REJECTED[k].split(' (', 1)[0]} {where.format(q)}: "), k
        assert calls_with(server, f"FAULT={k}") == (2 if k == "ollamaempty" else 1), k
    assert len(kept) + len(report["left_out"]) == len(questions)
