"""`tagengo extend` on the answer contract (tagengo.llm.answer): follow-ups and answers that real
servers send bent on purpose (tests/servers/answer_faults.py, ``FAULT=<kind>`` in a
conversation's first user turn, so every call of that conversation is bent) through the real
stage, over real HTTP. A kept turn is clean text with its reasoning in its meta entry; a
rejected conversation says why, with its phase and turn, after one request."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from folder_checks import assert_complete_folder
from servers.answer_faults import DECOY
from servers.scripted_extend import ANSWERS, FOLLOW_UPS, answer_text, conversation
from tagengo.extend.config import ExtendConfig
from tagengo.extend.stage import extend

#: A first turn long enough that a server reporting 16 prompt tokens must have cut the prompt.
LONG = " ".join(
    f"Paragraph {i}: the history of the harbour town, its bridges, its markets and its ships."
    for i in range(35)
)
KEPT = ("clean", "surrogate", "parts", "think", "thinkopen", "reasoningfield")
#: kind -> (reason of a conversation whose follow-up fails, reason of one whose first answer fails)
REJECTED = {
    "thinkonly": (
        "empty follow-up at turn 2: only reasoning, no answer after it",
        "empty answer at turn 1: only reasoning, no answer after it",
    ),
    "budget": (
        "unfinished follow-up at turn 2: the answer used all 256 tokens of max_tokens although the server said "
        "finish_reason='stop'",
        "unfinished answer at turn 1: the answer used all 512 tokens of max_tokens although the server said "
        "finish_reason='stop'",
    ),
    "truncated": (
        "prompt truncated (follow-up, turn 2): the server counted 16 prompt tokens of about ",
        "prompt truncated (answer, turn 1): the server counted 16 prompt tokens of about ",
    ),
    "errorbody": ("provider error (follow-up, turn 2): ", "provider error (answer, turn 1): "),
    "filterprompt": ("filtered (follow-up, turn 2): ", "filtered (answer, turn 1): "),
    "filterempty": ("filtered (follow-up, turn 2): ", "filtered (answer, turn 1): "),
    "filteranswer": (
        "filtered (follow-up, turn 2): the server's content filter withheld the answer",
        "filtered (answer, turn 1): the server's content filter withheld the answer",
    ),
    "repetition": (
        "repetition (follow-up, turn 2): the answer ends in 'I will now explain it again in other words.'",
        "repetition (answer, turn 1): the answer ends in 'I will now explain it again in other words.'",
    ),
    "echo": (
        "echo (follow-up, turn 2): the answer is the last user turn sent back",
        "echo (answer, turn 1): the answer is the last user turn sent back",
    ),
    "nul": (
        "control characters (follow-up, turn 2): 3 C0 control characters (the first U+0000",
        "control characters (answer, turn 1): 3 C0 control characters (the first U+0000",
    ),
}


def _rows(folder: Path) -> list[dict]:
    return [r for f in sorted(folder.glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]


def _cfg(server, tmp_path: Path, **kw) -> ExtendConfig:
    base = {
        "model": "teacher", "base_url": server.url, "timeout_s": 10.0, "max_attempts": 3, "backoff_base_s": 0.01,
        "concurrency": 8, "cache_path": tmp_path / "cache.sqlite", "max_tokens": 512,
    }  # fmt: skip
    return ExtendConfig(**{**base, **kw})


def test_bent_turns_are_cleaned_or_reject_the_conversation_with_phase_turn_and_kind(
    extend_server, write_rows, tmp_path
):
    server = extend_server()
    server.keep_requests = True
    rows, item = [], {}
    for kind in KEPT:
        item[kind] = len(item)
        rows.append(conversation(kind, "en", item[kind], *([f"FAULT={kind}"] if kind != "clean" else [])))
    for kind in REJECTED:
        for phase, answered in (("fu", True), ("an", False)):
            row_id = f"{phase}-{kind}"
            item[row_id] = len(item)
            row = conversation(row_id, "en", item[row_id], f"FAULT={kind}", answered=answered)
            if kind == "truncated":
                row["messages"][0]["content"] = f"{LONG} ITEM{item[row_id]} FAULT=truncated"
            rows.append(row)
    res = extend(write_rows(rows), tmp_path / "out", _cfg(server, tmp_path, turns=2), progress=False)
    manifest = assert_complete_folder(res.out, kept=len(KEPT), rejected=2 * len(REJECTED), quarantined=0)
    assert manifest["counts"]["read"] == len(rows)

    kept = {r["id"]: r for r in _rows(res.out / "data")}
    assert set(kept) == set(KEPT)
    for kind, row in kept.items():
        msgs = row["messages"]
        assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"], kind
        added = json.loads(row["meta"])["extend"]["added"]
        new = [msgs[2]["content"], msgs[3]["content"]]
        assert not any("<think>" in t or "</think>" in t or "DECOY" in t for t in new), kind
        if kind == "surrogate":
            assert new == [
                f"{FOLLOW_UPS['en'][0]} \ufffd and more",
                f"{answer_text('en', 2)} \ufffd and more",
            ]
            assert [a["replaced_chars"] for a in added] == [1, 1]
        else:
            assert new == [FOLLOW_UPS["en"][0], answer_text("en", 2)], kind
            assert not any("replaced_chars" in a for a in added), kind
        if kind in ("think", "thinkopen", "reasoningfield"):
            assert [a["reasoning"] for a in added] == [DECOY, DECOY], kind
        else:
            assert not any("reasoning" in a for a in added), kind
    assert kept["clean"]["messages"][1]["content"] == ANSWERS["en"]

    rejected = {r["id"]: r for r in _rows(res.out / "rejected")}
    assert set(rejected) == {f"{p}-{k}" for k in REJECTED for p in ("fu", "an")}
    for kind, (fu_reason, an_reason) in REJECTED.items():
        for row_id, reason in ((f"fu-{kind}", fu_reason), (f"an-{kind}", an_reason)):
            assert rejected[row_id]["reason"].startswith(reason), (row_id, rejected[row_id]["reason"])
            assert rejected[row_id]["step"] == "extend"
        # The turns that passed stay: the input turns, nothing of the bent call.
        assert len(rejected[f"fu-{kind}"]["messages"]) == 2 and len(rejected[f"an-{kind}"]["messages"]) == 1
    meta = json.loads(rejected["an-thinkonly"]["meta"])["extend"]
    assert meta["added"][-1]["reasoning"].startswith(DECOY) and meta["failed"]["phase"] == "answer"
    cut = json.loads(rejected["an-budget"]["meta"])["extend"]["added"][-1]
    assert cut["partial"].endswith("inter")
    for kind in ("errorbody", "filterprompt", "filterempty"):
        assert json.loads(rejected[f"fu-{kind}"]["meta"])["extend"]["added"][-1]["error"], kind

    # One request for each rejected conversation: nothing bent is retried.
    per_item: Counter[int] = Counter()
    for body in server.requests:
        text = " ".join(m["content"] for m in body["messages"])
        per_item.update({int(n) for n in re.findall(r"ITEM(\d+)", text)})
    for kind in REJECTED:
        assert (per_item[item[f"fu-{kind}"]], per_item[item[f"an-{kind}"]]) == (1, 1), kind
    assert all(per_item[item[k]] == 2 for k in KEPT)
    summary = manifest["steps"][0]["summary"]
    assert summary["rejected"] == {
        "empty follow-up": 1, "empty answer": 1, "unfinished follow-up": 1, "unfinished answer": 1,
        "prompt truncated": 2, "provider error": 2, "filtered": 6, "repetition": 2, "echo": 2,
        "control characters": 2,
    }  # fmt: skip
    funnel = json.loads((res.out / "funnel.json").read_text())
    assert [(s["step"], s["removed"]) for s in funnel["steps"]][-1] == ("extend", 2 * len(REJECTED))


#: The round-2 faults: kind -> the reason's start after its ``kind (phase, turn)`` head.
ROUND2_KEPT = ("stoptoken", "wrapped")
ROUND2_REJECTED = {
    "textfield": ("provider error", "malformed response: "),
    "deepseekleak": ("template leak", "the answer holds the chat-template marker '<\uff5cend"),
    "plainturn": ("template leak", "the answer holds the chat-template marker '### Human:'"),
    "toolcall": ("tool call", "the answer is only a tool call written as text"),
    "abort": ("call failed", "the server aborted the generation (finish_reason='abort'"),
    "ollamanull": ("call failed", "the server finished with stop but sent content null"),
}


def test_round_two_faults_in_either_phase(extend_server, write_rows, tmp_path):
    server = extend_server()
    server.keep_requests = True
    rows, item = [], {}
    for kind in ROUND2_KEPT:
        item[kind] = len(item)
        rows.append(conversation(kind, "en", item[kind], f"FAULT={kind}"))
    for kind in ROUND2_REJECTED:
        for phase, answered in (("fu", True), ("an", False)):
            item[f"{phase}-{kind}"] = len(item)
            rows.append(
                conversation(
                    f"{phase}-{kind}", "en", item[f"{phase}-{kind}"], f"FAULT={kind}", answered=answered
                )
            )
    res = extend(
        write_rows(rows), tmp_path / "out", _cfg(server, tmp_path, turns=2, max_attempts=2), progress=False
    )
    assert_complete_folder(res.out, kept=len(ROUND2_KEPT), rejected=2 * len(ROUND2_REJECTED), quarantined=0)
    kept = {r["id"]: r for r in _rows(res.out / "data")}
    for kind in ROUND2_KEPT:
        msgs = kept[kind]["messages"]
        assert [msgs[2]["content"], msgs[3]["content"]] == [FOLLOW_UPS["en"][0], answer_text("en", 2)], kind
        assert all(a["normalised"] for a in json.loads(kept[kind]["meta"])["extend"]["added"]), kind
    rejected = {r["id"]: r["reason"] for r in _rows(res.out / "rejected")}
    for kind, (head, detail) in ROUND2_REJECTED.items():
        for row_id, where in ((f"fu-{kind}", "follow-up, turn 2"), (f"an-{kind}", "answer, turn 1")):
            if row_id == "fu-plainturn":
                # The writer's prompt is a transcript, so the contract's plain-turn rule stands
                # down there; extend's own check (extend.prompts.leaked_instructions) catches it.
                assert (
                    rejected[row_id]
                    == "prompt leak at turn 2 (follow-up): the writer's transcript markup '### Human:'"
                )
                continue
            assert rejected[row_id].startswith(f"{head} ({where}): {detail}"), (row_id, rejected[row_id])
    per_item: Counter[int] = Counter()
    for body in server.requests:
        per_item.update(
            {int(n) for n in re.findall(r"ITEM(\d+)", " ".join(m["content"] for m in body["messages"]))}
        )
    for kind in ROUND2_REJECTED:
        want = 2 if kind in ("abort", "ollamanull") else 1  # a passing fault is asked --max-attempts times
        for row_id in (f"fu-{kind}", f"an-{kind}"):
            assert row_id not in item or per_item[item[row_id]] == want, row_id


#: The rest of the kinds of tests/servers/answer_faults.py (``KINDS`` + ``RETRIED``) that reach
#: extend's calls: kind -> the reason's start after its head (the head's own words where extend's
#: check, not the contract's, rejects it). ``fallback`` is kept unless --require-served-model (the
#: client's rule: tests/llm/test_served_model.py); ``dated`` is the asked model.
MORE_KEPT = ("harmony", "seedthink", "kimithink", "fallback", "dated", "nanusage", "multichoice")
#: Kept as the server sent them, no reasoning to split off.
NO_REASONING = ("fallback", "dated", "nanusage", "multichoice")
MORE_REJECTED = {
    "refuse": ("call failed", "HTTP 400: Unsupported parameter: 'max_tokens'"),
    "templateleak": ("template leak", "the answer holds the chat-template marker '<|im_end|>'"),
    "instleak": ("template leak", "the answer holds the chat-template marker '[/INST]'"),
    "fffd": ("replacement characters", "1 U+FFFD replacement character from the server"),
    "toolcallsfield": (
        "tool call",
        "the answer is only a structured tool call ('get_weather') though the request offered no tools",
    ),
    "contentnumber": ("provider error", "malformed response: the message's content is int 42, not text"),
    "ollamaempty": (
        "call failed",
        "the server sent no finish reason, no content and no completion tokens",
    ),
    # the s33 newcomer trial's
    "qmarks": ("replacement characters", "letters lost to '?' (1 inside a word, 1 word of '?' only;"),
    "alpaca": ("template leak", "the answer holds the chat-template marker '### Instruction:'"),
    "userturn": ("template leak", "the answer holds the chat-template marker 'User:'"),
    "errornocode": (
        "provider error",
        "Internal error ('InternalServerError' in an HTTP 200 body with no code",
    ),
    # extend's own language check (extend.step) comes first: its reason says where the turn drifted
    "wronglang": ("language drift", "language ID says en"),
    "drift": ("language drift", "language ID says en"),
}
#: Whose English answer is wrong only in a conversation in another language.
GERMAN = ("wronglang", "drift")


def test_the_other_faults_in_either_phase(extend_server, write_rows, tmp_path):
    server = extend_server()
    server.keep_requests = True
    rows, item = [], {}
    for kind in ("clean", *MORE_KEPT):
        item[kind] = len(item)
        rows.append(conversation(kind, "en", item[kind], *([f"FAULT={kind}"] if kind != "clean" else [])))
    for kind in MORE_REJECTED:
        for phase, answered in (("fu", True), ("an", False)):
            row_id = f"{phase}-{kind}"
            item[row_id] = len(item)
            # an English answer is wrong only in a conversation in another language
            language = "de" if kind in GERMAN else "en"
            rows.append(conversation(row_id, language, item[row_id], f"FAULT={kind}", answered=answered))
    res = extend(
        write_rows(rows), tmp_path / "out", _cfg(server, tmp_path, turns=2, max_attempts=2), progress=False
    )
    manifest = assert_complete_folder(
        res.out, kept=1 + len(MORE_KEPT), rejected=2 * len(MORE_REJECTED), quarantined=0
    )
    assert manifest["counts"]["read"] == len(rows)
    kept = {r["id"]: r for r in _rows(res.out / "data")}
    assert set(kept) == {"clean", *MORE_KEPT}
    for kind in MORE_KEPT:
        msgs = kept[kind]["messages"]
        assert [msgs[2]["content"], msgs[3]["content"]] == [FOLLOW_UPS["en"][0], answer_text("en", 2)], kind
        added = json.loads(kept[kind]["meta"])["extend"]["added"]
        assert [a.get("reasoning") for a in added] == [None if kind in NO_REASONING else DECOY] * 2, kind
    rejected = {r["id"]: r for r in _rows(res.out / "rejected")}
    for kind, (head, detail) in MORE_REJECTED.items():
        for row_id, where in ((f"fu-{kind}", "follow-up, turn 2"), (f"an-{kind}", "answer, turn 1")):
            reason = rejected[row_id]["reason"]
            if row_id == "fu-userturn":
                # The writer's prompt is a transcript: extend's own check names the markup (as for
                # plainturn in round two).
                assert reason == "prompt leak at turn 2 (follow-up): the writer's transcript markup 'User:'"
                continue
            if kind in GERMAN:
                turn, phase = where.split(", ")[1], where.split(", ")[0]
                assert reason.startswith(f"{head} at {turn} ({phase}): {detail}"), (row_id, reason)
                continue
            assert reason.startswith(f"{head} ({where}): {detail}"), (row_id, reason)
            assert rejected[row_id]["step"] == "extend"
        # The turns that passed stay: the input turns, nothing of the bent call.
        assert len(rejected[f"fu-{kind}"]["messages"]) == 2 and len(rejected[f"an-{kind}"]["messages"]) == 1
    per_item: Counter[int] = Counter()
    for body in server.requests:
        per_item.update(
            {int(n) for n in re.findall(r"ITEM(\d+)", " ".join(m["content"] for m in body["messages"]))}
        )
    for kind in MORE_REJECTED:
        want = 2 if kind in ("ollamaempty", "errornocode") else 1  # a passing fault: --max-attempts times
        assert (per_item[item[f"fu-{kind}"]], per_item[item[f"an-{kind}"]]) == (want, want), kind
    assert all(per_item[item[k]] == 2 for k in ("clean", *MORE_KEPT))
