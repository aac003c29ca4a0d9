"""`tagengo reverse` on the answer contract (tagengo.llm.answer), end to end against the scripted
server, and the chatter of its two translation phases cut off.

Each fragment of fixtures/faults_de.txt carries a ``FAULT=<kind>`` marker, so the scripted
server bends the answers to the requests that hold the fragment
(tests/servers/answer_faults.py): in ``roundtrip`` mode the fragment's translation into
English, in ``direct`` mode the instruction writer's and the judge's answers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from servers.answer_faults import DECOY
from servers.loopback import started_servers
from servers.scripted_chat import SENTENCES, ScriptedChatServer
from servers.scripted_chat import translate as scripted_translate
from tagengo.reverse.config import ReverseConfig
from tagengo.reverse.stage import reverse
from tagengo.run.cli_common import step_summary

FAULTS = Path(__file__).parent / "fixtures" / "faults_de.txt"
KEPT = {"clean", "surrogate", "parts", "think", "thinkopen", "reasoningfield"}
THINKING = ("think", "thinkopen", "reasoningfield")
NOT_RETRIED = ("thinkonly", "budget", "truncated", "errorbody", "filterprompt", "filteranswer")


def rows(out: Path, sub: str) -> list[dict]:
    got = [r for f in sorted((out / sub).glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]
    for r in got:
        r["meta"] = json.loads(r["meta"])
    return got


def by_fault(rs: list[dict]) -> dict[str, dict]:
    out = {}
    for r in rs:
        m = re.search(r"FAULT=(\w+)", r["messages"][-1]["content"])
        out[m.group(1) if m else "clean"] = r
    return out


class KeepingServer(ScriptedChatServer):
    """The scripted server, keeping every request body (to count the calls of one fragment)."""

    keep_requests = True


def calls_with(server: ScriptedChatServer, marker: str) -> int:
    return sum(any(marker in (m.get("content") or "") for m in b["messages"]) for b in server.requests)


@pytest.fixture
def keeping_server() -> Iterator[Callable[..., KeepingServer]]:
    yield from started_servers(KeepingServer)


def _run(server: Any, llm_options: Callable[..., dict], out: Path, mode: str) -> tuple[dict, dict, dict]:
    extra = {"check_back_translation": False} if mode == "direct" else {}
    cfg = ReverseConfig(language="de", mode=mode, **extra, **llm_options(server))
    result = reverse(FAULTS, out, cfg)
    counts = result.manifest["counts"]
    assert counts["read"] == 12 and counts["kept"] + counts["rejected"] == counts["read"]
    kept, rejected = by_fault(rows(out, "data")), by_fault(rows(out, "rejected"))
    assert set(kept) == KEPT and counts["kept"] == len(KEPT), {
        k: r.get("reason") for k, r in rejected.items()
    }
    assert {r["step"] for r in rejected.values()} == {"reverse"}  # every fragment passed the filters
    return counts, kept, {k: r["reason"] for k, r in rejected.items()}


def _no_decoy(*texts: str) -> None:
    for text in texts:
        for decoy in ("DECOY", "[[3]]", "think>", "Score: 3"):
            assert decoy not in text, text


def test_roundtrip_translation_of_the_fragment_passes_the_contract(
    keeping_server, llm_options, tmp_path
) -> None:
    server = keeping_server()
    _, kept, reasons = _run(server, llm_options, tmp_path / "out", "roundtrip")
    for name, row in kept.items():
        meta = row["meta"]["reverse"]
        assert meta["fragment_en"].startswith(SENTENCES["en"]), name
        _no_decoy(meta["fragment_en"], meta["instruction"], row["messages"][0]["content"])
    calls = {name: row["meta"]["reverse"]["calls"] for name, row in kept.items()}
    for name in THINKING:
        assert DECOY in calls[name]["translate_fragment"][0]["reasoning"], name
        assert "reasoning" not in calls[name]["instruction"][0]  # later prompts hold no marker
    assert "\ufffd" in kept["surrogate"]["meta"]["reverse"]["fragment_en"]
    assert calls["surrogate"]["translate_fragment"][0]["replaced_chars"] == 1
    assert "reasoning" not in calls["clean"]["translate_fragment"][0]

    what = "(translation of the fragment into English)"
    assert reasons["thinkonly"] == f"empty answer {what}: only reasoning, no answer after it"
    assert reasons["budget"].startswith(f"unfinished {what}: the answer used all 2,048 tokens")
    assert reasons["truncated"].startswith(f"prompt truncated {what}: the server counted 16 prompt tokens")
    assert reasons["errorbody"].startswith(f"provider error {what}: ")
    assert reasons["filterprompt"].startswith(f"filtered {what}: ")
    assert reasons["filteranswer"].startswith(f"filtered {what}: ")
    for name in NOT_RETRIED:
        assert calls_with(server, f"FAULT={name}") == 1, name


def test_direct_instruction_and_judge_pass_the_contract(keeping_server, llm_options, tmp_path) -> None:
    server = keeping_server()
    _, kept, reasons = _run(server, llm_options, tmp_path / "out", "direct")
    for name, row in kept.items():
        meta = row["meta"]["reverse"]
        # The instruction and the score come from the text after the reasoning.
        assert meta["instruction"].startswith("Erkläre mir dieses Thema bitte in ein paar klaren Sätzen."), (
            name
        )
        assert meta["score"] == 4 and meta["judge_reasoning"] == "the reply fits the instruction."
        _no_decoy(meta["instruction"], meta["judge_answer"], row["messages"][0]["content"])
        assert len(meta["calls"]["instruction"]) == len(meta["calls"]["judge"]) == 1
    for name in THINKING:
        calls = kept[name]["meta"]["reverse"]["calls"]
        assert DECOY in calls["instruction"][0]["reasoning"] and DECOY in calls["judge"][0]["reasoning"]
    assert "\ufffd" in kept["surrogate"]["meta"]["reverse"]["instruction"]
    assert kept["surrogate"]["meta"]["reverse"]["calls"]["judge"][0]["replaced_chars"] == 1

    # Only reasoning: asked again like any empty answer, then rejected as one.
    assert (
        reasons["thinkonly"]
        == "empty answer (instruction, after 2 ask(s)): only reasoning, no answer after it"
    )
    assert calls_with(server, "FAULT=thinkonly") == 2
    assert reasons["budget"].startswith("unfinished (instruction): the answer used all 256 tokens")
    assert reasons["truncated"].startswith(
        "prompt truncated (instruction): the server counted 16 prompt tokens"
    )
    assert reasons["errorbody"].startswith("provider error (instruction): ")
    assert reasons["filterprompt"].startswith("filtered (instruction): ")
    assert reasons["filteranswer"].startswith("filtered (instruction): ")
    for name in NOT_RETRIED[1:]:
        assert calls_with(server, f"FAULT={name}") == 1, name


ROUND2_KEPT = ("stoptoken", "wrapped")
ROUND2_REJECTED = {
    "textfield": "provider error {what}: malformed response: ",
    "deepseekleak": "template leak {what}: the answer holds the chat-template marker '<\uff5cend",
    "plainturn": "template leak {what}: the answer holds the chat-template marker '### Human:'",
    "toolcall": "tool call {what}: the answer is only a tool call written as text",
    "abort": "call failed {what}: the server aborted the generation (finish_reason='abort'",
    "ollamanull": "call failed {what}: the server finished with stop but sent content null",
}


def test_round_two_faults_in_the_fragments_translation(keeping_server, llm_options, tmp_path) -> None:
    server = keeping_server()
    first = FAULTS.read_text().split("\n\n")[0].strip()  # the fragment without a fault
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(f"{first} FAULT={k}" for k in (*ROUND2_KEPT, *ROUND2_REJECTED)) + "\n")
    result = reverse(corpus, tmp_path / "out", ReverseConfig(language="de", **llm_options(server)))
    kept, rejected = by_fault(rows(tmp_path / "out", "data")), by_fault(rows(tmp_path / "out", "rejected"))
    assert set(kept) == set(ROUND2_KEPT) and set(rejected) == set(ROUND2_REJECTED)
    assert result.manifest["counts"]["rejected"] == len(ROUND2_REJECTED)
    for name in ROUND2_KEPT:
        meta = kept[name]["meta"]["reverse"]
        assert meta["fragment_en"].startswith(SENTENCES["en"]) and "\uff5c" not in meta["fragment_en"], name
        assert meta["calls"]["translate_fragment"][0]["normalised"], name
    what = "(translation of the fragment into English)"
    for name, reason in ROUND2_REJECTED.items():
        assert rejected[name]["reason"].startswith(reason.format(what=what)), (name, rejected[name]["reason"])
    assert {k: calls_with(server, f"FAULT={k}") for k in ROUND2_REJECTED} == {
        k: 2 if k in ("abort", "ollamanull") else 1 for k in ROUND2_REJECTED
    }


#: The rest of the kinds of tests/servers/answer_faults.py (``KINDS`` + ``RETRIED``) that reach
#: reverse's calls, in both modes. ``drift`` in the written instruction, and ``fallback`` with
#: --require-served-model: tests/llm/test_answer_drift.py; without it ``fallback`` is kept, and
#: ``dated`` is the asked model.
MORE_KEPT = ("harmony", "seedthink", "kimithink", "fallback", "dated", "nanusage", "multichoice")
MORE_REJECTED = {
    "refuse": "call failed {what}: HTTP 400: Unsupported parameter: 'max_tokens'",
    "filterempty": "filtered {what}: ",
    "templateleak": "template leak {what}: the answer holds the chat-template marker '<|im_end|>'",
    "instleak": "template leak {what}: the answer holds the chat-template marker '[/INST]'",
    "fffd": "replacement characters {what}: ",
    "toolcallsfield": "tool call {what}: the answer is only a structured tool call ('get_weather') though "
    "the request offered no tools",
    "contentnumber": "provider error {what}: malformed response: the message's content is int 42, not text",
    "ollamaempty": "call failed {what}: the server sent no finish reason, no content and no completion tokens",
    # the s33 newcomer trial's
    "qmarks": "replacement characters {what}: letters lost to '?' (",
    "alpaca": "template leak {what}: the answer holds the chat-template marker '### Instruction:'",
    "userturn": "template leak {what}: the answer holds the chat-template marker 'User:'",
    "errornocode": "provider error {what}: Internal error ('InternalServerError' in an HTTP 200 body with no code",
}


@pytest.mark.parametrize(
    ("mode", "what"),
    [("roundtrip", "(translation of the fragment into English)"), ("direct", "(instruction)")],
)
def test_the_other_faults_in_either_mode(keeping_server, llm_options, tmp_path, mode, what) -> None:
    server = keeping_server()
    base = FAULTS.read_text().split("\n\n")[0].strip()  # the fragment without a fault
    kinds = ("clean", *MORE_KEPT, *MORE_REJECTED)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(
        "\n\n".join(
            base if k == "clean" else f"{base} Noch ein Satz zu Fall {i}. FAULT={k}"
            for i, k in enumerate(kinds)
        )
        + "\n"
    )
    extra = {"check_back_translation": False} if mode == "direct" else {}
    result = reverse(
        corpus, tmp_path / "out", ReverseConfig(language="de", mode=mode, **extra, **llm_options(server))
    )
    counts = result.manifest["counts"]
    assert counts["read"] == len(kinds) == counts["kept"] + counts["rejected"] + counts.get("quarantined", 0)
    kept, rejected = by_fault(rows(tmp_path / "out", "data")), by_fault(rows(tmp_path / "out", "rejected"))
    # The direct mode's prompt speaks of "the user's message": a trailing "User:" line is no made-up
    # turn there (tagengo.llm.answer.asks_for_dialogue), so userturn passes the contract.
    want = {k: v for k, v in MORE_REJECTED.items() if not (mode == "direct" and k == "userturn")}
    exempt = {"userturn"} if mode == "direct" else set()
    assert set(kept) == {"clean", *MORE_KEPT, *exempt}, {k: r["reason"] for k, r in rejected.items()}
    assert set(rejected) == set(want)
    first = "translate_fragment" if mode == "roundtrip" else "instruction"
    for name in MORE_KEPT:
        meta = kept[name]["meta"]["reverse"]
        _no_decoy(meta["instruction"], kept[name]["messages"][0]["content"])
        call = meta["calls"][first][0]
        assert call.get("reasoning") == (DECOY if name.endswith(("think", "harmony")) else None), name
    for name, reason in want.items():
        assert rejected[name]["reason"].startswith(reason.format(what=what)), (name, rejected[name]["reason"])
        assert rejected[name]["step"] == "reverse"
    # a passing fault is asked --max-attempts (2) times; the others once
    assert {k: calls_with(server, f"FAULT={k}") for k in want} == {
        k: 2 if k in ("ollamaempty", "errornocode") else 1 for k in want
    }


_NAMES = {"German": "de", "English": "en"}
CHATTER = {
    "en": 'Sure! Here is the English translation:\n\n"{t}"\n\nNote: I kept the informal tone.',
    "de": "Hier ist die Übersetzung ins Deutsche:\n\n{t}\n\nAnmerkung: Ich habe die Anrede „du“ verwendet.",
}


class ChattyServer(ScriptedChatServer):
    """The scripted server, whose translator wraps every translation in chatter."""

    def reply(self, body: dict[str, Any]) -> tuple[str, str]:
        content, finish = super().reply(body)
        msgs = body["messages"]
        if msgs[0]["content"].startswith("You are a professional translator") and content:
            target = _NAMES[re.search(r"into (\w+)\.", msgs[1]["content"]).group(1)]
            content = CHATTER[target].format(t=content)
        return content, finish


def test_both_translation_phases_cut_chatter(llm_options, tmp_path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(FAULTS.read_text().split("\n\n")[0] + "\n")  # the fragment without a fault
    with ChattyServer() as server:
        result = reverse(corpus, tmp_path / "out", ReverseConfig(language="de", **llm_options(server)))
    assert result.manifest["counts"]["kept"] == 1
    assert step_summary(result, "reverse")["chatter_removed"] == {
        "translate_fragment": 1,
        "translate_instruction": 1,
    }
    (row,) = rows(tmp_path / "out", "data")
    meta = row["meta"]["reverse"]
    assert meta["fragment_en"] == scripted_translate(row["messages"][1]["content"], "en")
    assert (
        row["messages"][0]["content"]
        == meta["instruction"]
        == scripted_translate(meta["instruction_en"], "de")
    )
    assert set(meta["chatter_removed"]) == {"translate_fragment", "translate_instruction"}
    assert set(meta["chatter_removed"]["translate_fragment"]) == {"preamble", "quotes", "note"}
    assert meta["chatter_removed"]["translate_instruction"] == {
        "preamble": "Hier ist die Übersetzung ins Deutsche:",
        "note": "Anmerkung: Ich habe die Anrede „du“ verwendet.",
    }


class RunOnSignoffServer(ScriptedChatServer):
    """The scripted server, whose translator runs a sign-off into the translation's last line."""

    def reply(self, body: dict[str, Any]) -> tuple[str, str]:
        content, finish = super().reply(body)
        if body["messages"][0]["content"].startswith("You are a professional translator") and content:
            content += " I hope this helps! Let me know if you need anything else."
        return content, finish


def test_chatter_that_cannot_be_cut_rejects_the_row_naming_the_phase(llm_options, tmp_path) -> None:
    """A sign-off run into the last sentence cannot be cut without cutting the text: the row is
    rejected with the chatter's kind and the translation phase, never kept with it."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(FAULTS.read_text().split("\n\n")[0] + "\n")
    with RunOnSignoffServer() as server:
        result = reverse(corpus, tmp_path / "out", ReverseConfig(language="de", **llm_options(server)))
    counts = result.manifest["counts"]
    assert counts["kept"] == 0 and counts["rejected"] == 1
    (row,) = rows(tmp_path / "out", "rejected")
    assert row["reason"].startswith("translator chatter ("), row["reason"]
    assert row["reason"].startswith("translator chatter (signoff) in translate_fragment: "), row["reason"]
    assert "I hope this helps" not in row["messages"][0]["content"]


def test_direct_instructions_that_are_no_instruction_are_rejected(
    keeping_server, llm_options, tmp_path
) -> None:
    """The contract's kinds for a finished answer that cannot be used, on the instruction writer:
    in another language than the corpus (--gate), a loop, the prompt sent back, control
    characters. Each rejects its row at once, naming the phase; --no-gate keeps the English one."""
    base = FAULTS.read_text().split("\n\n")[0].strip()
    kinds = ("clean", "wronglang", "repetition", "echo", "nul")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(
        "\n\n".join(
            base if k == "clean" else f"{base} Noch ein Satz zu Fall {i}. FAULT={k}"
            for i, k in enumerate(kinds)
        )
    )
    server = keeping_server()
    cfg = ReverseConfig(language="de", mode="direct", check_back_translation=False, **llm_options(server))
    result = reverse(corpus, tmp_path / "out", cfg)
    kept, rejected = by_fault(rows(tmp_path / "out", "data")), by_fault(rows(tmp_path / "out", "rejected"))
    assert set(kept) == {"clean"} and result.manifest["counts"]["rejected"] == 4
    assert kept["clean"]["meta"]["reverse"]["instruction_language"]["detected"] == "de"
    reasons = {k: r["reason"] for k, r in rejected.items()}
    assert reasons["wronglang"].startswith(
        "wrong language (instruction): lid.176 says the instruction is 'en'"
    )
    assert rejected["wronglang"]["meta"]["reverse"]["instruction_language"]["expected"] == "de"
    assert reasons["repetition"].startswith("repetition (instruction): the answer ends in ")
    assert reasons["echo"] == "echo (instruction): the answer is the last user turn sent back"
    assert reasons["nul"].startswith("control characters (instruction): 3 C0 control characters")
    for name in ("repetition", "echo", "nul"):  # not asked again: the same prompt gets the same answer
        assert calls_with(server, f"FAULT={name}") == 1, name

    off = reverse(
        corpus,
        tmp_path / "off",
        ReverseConfig(
            language="de",
            mode="direct",
            check_back_translation=False,
            gate={"enabled": False},
            **llm_options(server),
        ),
    )
    # The English instruction passes; the judge (whose prompt holds the marker too) then answers
    # with no score, which is another rejection.
    assert by_fault(rows(off.out, "rejected"))["wronglang"]["reason"].startswith("judge unparseable")
