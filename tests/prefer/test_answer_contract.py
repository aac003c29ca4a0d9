"""`tagengo prefer` on the answer contract (tagengo.llm.answer): answers that real servers send
bent on purpose (tests/servers/answer_faults.py, ``FAULT=<kind>`` in a prompt, so every model's
answer to it is bent) through the real stage, over real HTTP. A usable answer is clean text
with its reasoning in its answer dict; an unusable one is left out with the contract's reason
after one request; the judge's ranking is read from the text after its reasoning."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from servers.answer_faults import DECOY
from servers.loopback import started_servers
from servers.scripted_judge import ScriptedJudgeServer
from servers.scripted_prefer import reply
from tagengo.prefer.config import PreferConfig
from tagengo.prefer.stage import prefer
from tagengo.run.dataset import read_records, read_table

from .conftest import SENTENCES, scripted_judge, scripted_model, write_prompts

#: A prompt long enough that a server reporting 16 prompt tokens must have cut it.
LONG = " ".join(
    f"Paragraph {i}: the history of the harbour town, its bridges, its markets and its ships."
    for i in range(35)
)
ROLES = ("plain", "best", "weak")
KEPT = ("clean", "surrogate", "parts", "think", "thinkopen", "reasoningfield")
REJECTED = {
    "thinkonly": "empty answer: only reasoning, no answer after it",
    "budget": "unfinished: the answer used all 1,024 tokens of max_tokens although the server said "
    "finish_reason='stop'",
    "truncated": "prompt truncated: the server counted 16 prompt tokens of about ",
    "errorbody": "provider error: ",
    "filterprompt": "filtered: ",
    "filterempty": "filtered: ",
    "filteranswer": "filtered: the server's content filter withheld the answer: finish_reason=content_filter",
    "repetition": "repetition: the answer ends in 'I will now explain it again in other words.' repeated 30 times",
    "echo": "echo: the answer is the last user turn sent back",
    "nul": "control characters: 3 C0 control characters (the first U+0000 at character ",
}


class UnbentJudgeServer(ScriptedJudgeServer):
    """The judge on a server of its own, which bends none of its replies: the faults under test
    are the answering server's (a real judge runs elsewhere than the models it judges)."""

    async def _chat(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        with self._lock:
            self.received += 1
            self.requests.append(body)
        content, finish = self.reply(body)
        return web.json_response(
            {
                "id": f"chatcmpl-{self.received}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "judge"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": finish,
                    }
                ],
                "usage": self.usage(body, content),
            }
        )


@pytest.fixture
def unbent_judge() -> Iterator[Any]:
    yield from started_servers(lambda: UnbentJudgeServer(reply))


def _prompt(kind: str) -> str:
    if kind == "clean":
        return "Name three fruits."
    if kind == "truncated":
        return f"{LONG} FAULT=truncated"
    return f"Name three fruits. FAULT={kind}"


def _config(models_server: Any, judge_server: Any, tmp_path) -> PreferConfig:
    return PreferConfig(
        models=[scripted_model(models_server, r, tmp_path / "answers.sqlite") for r in ROLES],
        judge=scripted_judge(judge_server, tmp_path / "judge.sqlite"),
    )


def test_bent_answers_are_cleaned_or_left_out_with_the_contracts_reason(
    prefer_server, unbent_judge, tmp_path
):
    models, judge = prefer_server(), unbent_judge()
    kinds = (*KEPT, *REJECTED)
    src = write_prompts(tmp_path / "prompts.jsonl", [(k, "en", _prompt(k)) for k in kinds])
    result = prefer(src, tmp_path / "out", _config(models, judge, tmp_path))
    counts = result.manifest["counts"]
    assert counts["read"] == len(kinds) and counts["kept"] + counts["rejected"] == counts["read"]
    assert (counts["kept"], counts["rejected"]) == (len(KEPT), len(REJECTED))

    rows = {r.id: r for r in read_records(result.out)}
    assert set(rows) == set(KEPT)
    for kind, row in rows.items():
        pref = row.meta["preference"]
        answers = {a["model"]: a for a in pref["answers"]}
        assert not any("problem" in a for a in answers.values()), kind
        for role, a in answers.items():
            want = {
                "plain": SENTENCES["en"],
                "best": "BEST " + SENTENCES["en"],
                "weak": "WEAK " + SENTENCES["en"],
            }
            text = want[role] + (" \ufffd and more" if kind == "surrogate" else "")
            assert a["content"] == text, (kind, role)
            assert a.get("replaced_chars") == (1 if kind == "surrogate" else None), (kind, role)
            assert a.get("reasoning") == (DECOY if kind in ("think", "thinkopen", "reasoningfield") else None)
        assert pref["ranked"] == [["best"], ["plain"], ["weak"]], kind
        assert (
            row.messages[-1]["content"].startswith("BEST ") and "<think>" not in row.messages[-1]["content"]
        )
        assert "DECOY" not in row.messages[-1]["content"] and "</think>" not in row.messages[-1]["content"]
        # What the judge saw: the answers after their reasoning, never the reasoning.
    judged = " ".join(m["content"] for body in judge.requests for m in body["messages"])
    assert "DECOY" not in judged and "<think>" not in judged and "\ufffd and more" in judged

    rejected = {r["id"]: r for r in read_table(result.out, "rejected").to_pylist()}
    assert set(rejected) == set(REJECTED)
    for kind, reason in REJECTED.items():
        r = rejected[kind]
        assert r["step"] == "answer" and r["reason"].startswith("fewer than 2 usable answers ("), kind
        for role in ROLES:
            assert f"{role}: {reason}" in r["reason"], (kind, role, r["reason"])
        answers = json.loads(r["meta"])["preference"]["answers"]
        assert all(a["problem"].startswith(reason) for a in answers), kind
    thinkonly = json.loads(rejected["thinkonly"]["meta"])["preference"]["answers"]
    assert all(a["reasoning"].startswith(DECOY) and a["content"] == "" for a in thinkonly)

    # One request per model for every bent prompt: nothing bent is retried. The judge is asked
    # about the usable rows only, once each.
    sent: Counter[str] = Counter()
    for body in models.requests:
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        sent[next(k for k in kinds if user == _prompt(k))] += 1
    assert sent == Counter({k: len(ROLES) for k in kinds})
    assert judge.calls == len(KEPT)
    funnel = json.loads((result.out / "funnel.json").read_text())
    removed = {s["step"]: s["removed"] for s in funnel["steps"]}
    assert removed["answer"] == len(REJECTED) and removed["rank"] == 0 and removed["pairs"] == 0


ROUND2_KEPT = ("stoptoken", "wrapped")
ROUND2_REJECTED = {
    "textfield": "provider error: malformed response: ",
    "deepseekleak": "template leak: the answer holds the chat-template marker '<\uff5cend",
    "plainturn": "template leak: the answer holds the chat-template marker '### Human:'",
    "toolcall": "tool call: the answer is only a tool call written as text",
    "abort": "call failed: the server aborted the generation (finish_reason='abort'",
    "ollamanull": "call failed: the server finished with stop but sent content null",
}


def test_round_two_faults_in_the_answers(prefer_server, unbent_judge, tmp_path):
    models, judge = prefer_server(), unbent_judge()
    kinds = ("clean", *ROUND2_KEPT, *ROUND2_REJECTED)
    src = write_prompts(tmp_path / "prompts.jsonl", [(k, "en", _prompt(k)) for k in kinds])
    result = prefer(src, tmp_path / "out", _config(models, judge, tmp_path))
    rows = {r.id: r for r in read_records(result.out)}
    assert set(rows) == {"clean", *ROUND2_KEPT}
    for kind in ROUND2_KEPT:
        answers = {a["model"]: a for a in rows[kind].meta["preference"]["answers"]}
        assert answers["plain"]["content"] == SENTENCES["en"], kind
        assert answers["best"]["content"] == "BEST " + SENTENCES["en"], kind
        assert all(a["normalised"] for a in answers.values()), kind
    rejected = {r["id"]: r for r in read_table(result.out, "rejected").to_pylist()}
    assert set(rejected) == set(ROUND2_REJECTED)
    for kind, reason in ROUND2_REJECTED.items():
        for role in ROLES:
            assert f"{role}: {reason}" in rejected[kind]["reason"], (kind, role, rejected[kind]["reason"])
    sent: Counter[str] = Counter()
    for body in models.requests:
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        sent[next(k for k in kinds if user == _prompt(k))] += 1
    # a passing fault is asked --max-attempts (2) times per model, the others once
    assert sent == Counter({k: len(ROLES) * (2 if k in ("abort", "ollamanull") else 1) for k in kinds})


#: The rest of the kinds of tests/servers/answer_faults.py (``KINDS`` + ``RETRIED``) that reach the
#: answering models. ``wronglang`` and ``drift`` on German prompts (an English answer is wrong only
#: there). ``fallback`` is kept unless --require-served-model (the client's rule:
#: tests/llm/test_served_model.py); ``dated`` is the asked model, kept like ``clean``.
MORE_KEPT = ("harmony", "seedthink", "kimithink", "fallback", "dated", "nanusage", "multichoice")
#: Kept as the server sent them, no reasoning to split off.
NO_REASONING = ("fallback", "dated", "nanusage", "multichoice")
MORE_REJECTED = {
    "refuse": "call failed: HTTP 400: Unsupported parameter: 'max_tokens'",
    "templateleak": "template leak: the answer holds the chat-template marker '<|im_end|>'",
    "instleak": "template leak: the answer holds the chat-template marker '[/INST]'",
    "fffd": "replacement characters: ",
    "toolcallsfield": "tool call: the answer is only a structured tool call ('get_weather') though the "
    "request offered no tools",
    "contentnumber": "provider error: malformed response: the message's content is int 42, not text",
    "ollamaempty": "call failed: the server sent no finish reason, no content and no completion tokens",
    # the s33 newcomer trial's
    "qmarks": "replacement characters: letters lost to '?' (1 inside a word, 1 word of '?' only;",
    "alpaca": "template leak: the answer holds the chat-template marker '### Instruction:'",
    "userturn": "template leak: the answer holds the chat-template marker 'User:'",
    "errornocode": "provider error: Internal error ('InternalServerError' in an HTTP 200 body with no code",
}
#: An answer in another language is prefer's to rank below the in-language ones (step.py), not
#: a problem of the answer: with every answer in English the prompt has no pair.
GERMAN = ("wronglang", "drift")


def test_the_other_faults_in_the_answers(prefer_server, unbent_judge, tmp_path):
    models, judge = prefer_server(), unbent_judge()
    kinds = ("clean", *MORE_KEPT, *MORE_REJECTED, *GERMAN)
    prompts = {k: f"Nenne drei Früchte. FAULT={k}" if k in GERMAN else _prompt(k) for k in kinds}
    src = write_prompts(
        tmp_path / "prompts.jsonl", [(k, "de" if k in GERMAN else "en", prompts[k]) for k in kinds]
    )
    result = prefer(src, tmp_path / "out", _config(models, judge, tmp_path))
    counts = result.manifest["counts"]
    assert counts["read"] == len(kinds) == counts["kept"] + counts["rejected"] + counts.get("quarantined", 0)
    rows = {r.id: r for r in read_records(result.out)}
    assert set(rows) == {"clean", *MORE_KEPT}
    for kind in MORE_KEPT:
        answers = {a["model"]: a for a in rows[kind].meta["preference"]["answers"]}
        assert answers["plain"]["content"] == SENTENCES["en"], kind
        assert answers["best"]["content"] == "BEST " + SENTENCES["en"], kind
        assert all(
            a.get("reasoning") == (None if kind in NO_REASONING else DECOY) for a in answers.values()
        ), kind
        assert rows[kind].meta["preference"]["ranked"] == [["best"], ["plain"], ["weak"]], kind
    rejected = {r["id"]: r for r in read_table(result.out, "rejected").to_pylist()}
    assert set(rejected) == {*MORE_REJECTED, *GERMAN}
    for kind in GERMAN:
        r = rejected[kind]
        assert (r["step"], r["reason"]) == (
            "pairs",
            "no preference pair: every answer is in another language than the prompt",
        ), kind
        answers = json.loads(r["meta"])["preference"]["answers"]
        assert all(a["wrong_language"] and a["language"]["detected"] == "en" for a in answers), kind
    for kind, reason in MORE_REJECTED.items():
        r = rejected[kind]
        assert r["step"] == "answer" and r["reason"].startswith("fewer than 2 usable answers ("), kind
        for role in ROLES:
            assert f"{role}: {reason}" in r["reason"], (kind, role, r["reason"])
        answers = json.loads(r["meta"])["preference"]["answers"]
        assert all(a["problem"].startswith(reason) for a in answers), kind
    sent: Counter[str] = Counter()
    for body in models.requests:
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        sent[next(k for k in kinds if user == prompts[k])] += 1
    # a passing fault is asked --max-attempts (2) times per model, the others once
    assert sent == Counter({k: len(ROLES) * (2 if k in ("ollamaempty", "errornocode") else 1) for k in kinds})
    assert judge.calls == 1 + len(MORE_KEPT)


def test_the_judges_ranking_is_read_after_its_reasoning(prefer_server, tmp_path):
    # Models and judge on the same bending server: the judge's replies carry the reasoning too.
    server = prefer_server()
    kinds = ("think", "thinkopen", "reasoningfield", "parts")
    src = write_prompts(tmp_path / "prompts.jsonl", [(k, "en", _prompt(k)) for k in kinds])
    result = prefer(src, tmp_path / "out", _config(server, server, tmp_path))
    rows = {r.id: r for r in read_records(result.out)}
    assert set(rows) == set(kinds)
    for kind, row in rows.items():
        judge = row.meta["preference"]["judge"]
        assert row.meta["preference"]["ranked"] == [["best"], ["plain"], ["weak"]], kind
        assert len(judge["replies"]) == 1 and judge["replies"][0].splitlines()[-1].startswith("Ranking: ")
        assert "DECOY" not in judge["replies"][0] and "<think>" not in judge["replies"][0], kind
        assert judge.get("reasoning") == (None if kind == "parts" else [DECOY]), kind
    assert result.manifest["counts"]["rejected"] == 0


def test_a_judge_call_that_gives_nothing_to_read_rejects_the_prompt_without_a_reask(
    prefer_server, unbent_judge, tmp_path
):
    # This time the answering models bend nothing and the judge's server bends its replies.
    models, judge = unbent_judge(), prefer_server()
    kinds = ("errorbody", "filterprompt", "filterempty", "truncated", "thinkonly", "surrogate")
    src = write_prompts(tmp_path / "prompts.jsonl", [(k, "en", _prompt(k)) for k in kinds])
    result = prefer(src, tmp_path / "out", _config(models, judge, tmp_path))
    assert result.manifest["counts"]["rejected"] == len(kinds)
    rejected = {r["id"]: r for r in read_table(result.out, "rejected").to_pylist()}
    assert {k: r["step"] for k, r in rejected.items()} == dict.fromkeys(kinds, "rank")
    assert rejected["errorbody"]["reason"].startswith("judge provider error: ")
    assert rejected["filterprompt"]["reason"].startswith("judge filtered: ")
    assert rejected["filterempty"]["reason"].startswith("judge filtered: ")
    assert rejected["truncated"]["reason"].startswith(
        "judge prompt truncated: the server counted 16 prompt tokens"
    )
    # A reply that can be read is re-asked about, as always: nothing after the reasoning, or a
    # ranking line that ends in garbage.
    assert (
        rejected["thinkonly"]["reason"]
        == "no valid ranking after 2 re-asks: no line starting with 'Ranking:'"
    )
    assert rejected["surrogate"]["reason"].startswith(
        "no valid ranking after 2 re-asks: '\ufffd' where '>' or '=' was expected"
    )
    reasoning = json.loads(rejected["thinkonly"]["meta"])["preference"]["judge"]["reasoning"]
    assert len(reasoning) == 3 and all(r.startswith(DECOY) for r in reasoning)
    assert json.loads(rejected["surrogate"]["meta"])["preference"]["judge"]["replaced_chars"] == 3
    asked: Counter[str] = Counter()
    for body in judge.requests:
        asked[next(k for k in kinds if f"FAULT={k}" in body["messages"][1]["content"])] += 1
    assert asked == Counter(
        {"errorbody": 1, "filterprompt": 1, "filterempty": 1, "truncated": 1, "thinkonly": 3, "surrogate": 3}
    )


#: The rest of the kinds of tests/servers/answer_faults.py in the judge's reply (the ones above:
#: test_a_judge_call_that_gives_nothing_to_read... and test_the_judges_ranking_is_read...).
JUDGE_READ = (
    "harmony", "seedthink", "kimithink", "stoptoken", "wrapped", "fallback", "dated", "nanusage", "multichoice",
)  # fmt: skip
#: No reply to read, or the server's damage to it: the prompt is rejected at once, with the
#: contract's kind ("judge <kind>: ..."); the retried ones after --max-attempts (2) calls.
JUDGE_FATAL_KINDS = {
    "filteranswer": "filtered", "refuse": "call failed", "textfield": "provider error",
    "contentnumber": "provider error", "echo": "echo", "templateleak": "template leak",
    "instleak": "template leak", "deepseekleak": "template leak", "nul": "control characters",
    "fffd": "replacement characters", "abort": "call failed", "ollamanull": "call failed",
    "ollamaempty": "call failed", "qmarks": "replacement characters", "alpaca": "template leak",
    "errornocode": "provider error",
}  # fmt: skip
#: A reply with no valid ranking line, re-asked about (--reask 2) like any other: the model's own
#: (another language, a loop after the line, a tool call instead), or a made-up "### Human:" turn
#: (no leak where the prompt speaks of users and assistants).
JUDGE_REASKED = ("wronglang", "drift", "repetition", "toolcall", "toolcallsfield", "plainturn", "userturn")


def test_every_other_kind_in_the_judges_reply(prefer_server, unbent_judge, tmp_path):
    models, judge = unbent_judge(), prefer_server()
    kinds = (*JUDGE_READ, *JUDGE_FATAL_KINDS, *JUDGE_REASKED)
    src = write_prompts(tmp_path / "prompts.jsonl", [(k, "en", _prompt(k)) for k in kinds])
    result = prefer(src, tmp_path / "out", _config(models, judge, tmp_path))
    counts = result.manifest["counts"]
    assert counts["read"] == len(kinds) == counts["kept"] + counts["rejected"] + counts.get("quarantined", 0)
    rows = {r.id: r for r in read_records(result.out)}
    assert set(rows) == set(JUDGE_READ)
    for kind, row in rows.items():
        assert row.meta["preference"]["ranked"] == [["best"], ["plain"], ["weak"]], kind
        assert len(row.meta["preference"]["judge"]["replies"]) == 1, kind
    rejected = {r["id"]: r for r in read_table(result.out, "rejected").to_pylist()}
    assert {k: r["step"] for k, r in rejected.items()} == dict.fromkeys(
        (*JUDGE_FATAL_KINDS, *JUDGE_REASKED), "rank"
    )
    for kind, why in JUDGE_FATAL_KINDS.items():
        assert rejected[kind]["reason"].startswith(f"judge {why}: "), (kind, rejected[kind]["reason"])
    # The prompt sent back holds the prompt's example ranking: never read as the judge's.
    assert rejected["echo"]["reason"] == "judge echo: the answer is the last user turn sent back"
    for kind in JUDGE_REASKED:
        assert rejected[kind]["reason"].startswith("no valid ranking after 2 re-asks: "), kind
    asked: Counter[str] = Counter()
    for body in judge.requests:
        asked[next(k for k in kinds if f"{_prompt(k)}\n" in body["messages"][1]["content"])] += 1
    retried = ("abort", "ollamanull", "ollamaempty", "errornocode")
    assert asked == Counter(
        {**dict.fromkeys(JUDGE_READ, 1), **{k: 2 if k in retried else 1 for k in JUDGE_FATAL_KINDS},
         **dict.fromkeys(JUDGE_REASKED, 3)}
    )  # fmt: skip
