"""The judge reads its verdict from the text after its reasoning (the answer contract,
tagengo.llm.answer), under both judge policies, in single and pairwise judging.

The answers under judgment carry ``FAULT=<kind>`` markers, so the scripted judge bends its
reply the way a reasoning model served without a reasoning parser does
(tests/servers/answer_faults.py): ``think`` puts a ``<think>`` block holding a decoy verdict
(``[[3]]``, ``[[B]] > [[A]]``) before the real one, ``thinkopen`` the same without the opening
tag, ``reasoningfield`` sends the decoy as ``reasoning_content``, ``thinkonly`` sends nothing
but an unclosed reasoning block."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from servers.answer_faults import DECOY
from servers.scripted_judge import is_pairwise
from tagengo.bench.judge import judge_bench
from tagengo.io.bench_layout import Bench, open_bench
from tagengo.io.fastchat import API_ERROR_OUTPUT, Answer, read_pair_judgments, write_answers
from tagengo.llm import build_client

#: question id -> the fault every answer turn of model "alpha" carries
FAULTS = {1: "think", 2: "thinkopen", 3: "reasoningfield", 4: "thinkonly"}
READABLE = (1, 2, 3)  # a verdict follows the reasoning


def _answers(bench: Bench, model: str, turns: dict[int, list[str]]) -> None:
    write_answers(
        bench.answer_path(model),
        [Answer(qid, model, [{"index": 0, "turns": t}], f"id-{qid}", 1.0) for qid, t in turns.items()],
    )


@pytest.fixture
def reasoning_bench(fixture_copy: Callable[[str], Path]) -> Bench:
    bench = open_bench(fixture_copy("mt_bench"))
    _answers(
        bench,
        "alpha",
        {
            q: [f"A careful answer. FAULT={f}", f"A second careful answer. FAULT={f}"]
            for q, f in FAULTS.items()
        },
    )
    _answers(bench, "beta", {q: ["A plain answer.", "Another plain answer."] for q in FAULTS})
    bench.judgment_dir.mkdir(exist_ok=True)
    return bench


def judge_reply(messages: list[dict[str, str]]) -> str:
    """Grades 8; in a pair, prefers B (the decoy ranks B below A and holds [[A]] and [[3]])."""
    return (
        "Assistant B is more precise. [[B]]" if is_pairwise(messages) else "Sound and complete. Rating: [[8]]"
    )


def _single_rows(bench: Bench) -> dict[tuple, dict]:
    path = bench.judgment_path("judge-x", "single")
    return {
        (r["question_id"], r["model"], r["turn"]): r for r in map(json.loads, path.read_text().splitlines())
    }


@pytest.mark.parametrize("policy", ["fastchat", "robust"])
def test_single_grade_is_read_after_the_reasoning(
    reasoning_bench, judge_server, judge_config, policy
) -> None:
    server = judge_server(judge_reply)
    extra = {"reask": 1} if policy == "robust" else {}
    cfg = judge_config(server, judge_policy=policy, models=["alpha"], **extra)
    with build_client(cfg.judge) as client:
        (report,) = judge_bench(reasoning_bench, cfg, client)
    rows = _single_rows(reasoning_bench)
    for q in READABLE:
        for turn in (1, 2):
            row = rows[(q, "alpha", turn)]
            assert row["score"] == 8, (FAULTS[q], row)  # not the decoy's 3
            # FastChat's field holds the reply after the reasoning; the reasoning is an extra field.
            assert row["judgment"] == "Sound and complete. Rating: [[8]]"
            assert DECOY in row["reasoning"]
            assert "reasks" not in row
    for turn in (1, 2):  # thinkonly: no verdict, whatever the reasoning said
        row = rows[(4, "alpha", turn)]
        assert row["score"] == -1 and row["judgment"] == "" and DECOY in row["reasoning"]
        if policy == "robust":  # asked again; the same reply again
            assert row["reasks"] == [""] and DECOY in row["reasks_reasoning"][0]
    assert report.parse_failures_first == 2 and report.parse_failures_final == 2
    assert report.api_errors == 0 and report.reconciles
    assert report.answer_problems == {"empty answer": 4 if policy == "robust" else 2}
    assert report.reasks == (2 if policy == "robust" else 0)
    assert server.calls == 8 + report.reasks
    manifest = json.loads(next(reasoning_bench.report_dir.glob("judge_judge-x_single*.json")).read_text())
    assert manifest["counts"]["answer_problems"] == report.answer_problems


@pytest.mark.parametrize("policy", ["fastchat", "robust"])
def test_pair_verdict_is_read_after_the_reasoning(
    reasoning_bench, judge_server, judge_config, policy
) -> None:
    server = judge_server(judge_reply)
    extra = {"reask": 1} if policy == "robust" else {}
    cfg = judge_config(server, judge_policy=policy, mode="pairwise-all", models=["alpha", "beta"], **extra)
    with build_client(cfg.judge) as client:
        (report,) = judge_bench(reasoning_bench, cfg, client)
    rows = {
        (r.question_id, r.turn): r
        for r in read_pair_judgments(reasoning_bench.judgment_path("judge-x", "pair"))
    }
    for q in READABLE:
        for turn in (1, 2):
            r = rows[(q, turn)]
            # B every time: beta in game 1, alpha in game 2 (the decoy's [[A]] would say the opposite)
            assert (r.g1_winner, r.g2_winner) == ("model_2", "model_1"), FAULTS[q]
            assert r.g1_judgment == r.g2_judgment == "Assistant B is more precise. [[B]]"
            assert DECOY in r.extra["g1"]["reasoning"] and DECOY in r.extra["g2"]["reasoning"]
    for turn in (1, 2):
        r = rows[(4, turn)]
        assert (r.g1_winner, r.g2_winner) == ("error", "error")
        assert r.g1_judgment == r.g2_judgment == ""
        assert r.g1_judgment != API_ERROR_OUTPUT  # a reply without a verdict, not a failed call
    assert report.parse_failures_first == 4 and report.parse_failures_final == 4 and report.api_errors == 0
    assert report.answer_problems == {"empty answer": 8 if policy == "robust" else 4}
    assert (
        report.pairs_without_error == 6 and report.consistent_pairs == 0
    )  # B, B: each order picks the other


def test_failed_replies_are_errors_counted_by_kind(fixture_copy, judge_server, judge_config) -> None:
    """A content filter, an error body and a prompt the server cut leave no verdict: $ERROR$
    rows with the contract's reason, one call each (nothing to retry), counted by kind."""
    bench = open_bench(fixture_copy("mt_bench"))
    long = " ".join(["The answer explains every step of the method in plain words."] * 40)
    _answers(
        bench,
        "alpha",
        {
            1: ["Fine. FAULT=filteranswer", "Fine."],
            2: ["Fine. FAULT=errorbody", "Fine."],
            3: [f"{long} FAULT=truncated", "Fine."],
            4: ["Fine. FAULT=budget", "Fine."],
        },
    )
    bench.judgment_dir.mkdir(exist_ok=True)
    server = judge_server(judge_reply)
    cfg = judge_config(server, limit=4, models=["alpha"])
    with build_client(cfg.judge) as client:
        (report,) = judge_bench(bench, cfg, client)
    rows = _single_rows(bench)
    # Turn 2 is judged with the whole conversation, so turn 1's marker reaches it too.
    for q, kind in ((1, "filtered"), (2, "provider error"), (3, "prompt truncated")):
        for turn in (1, 2):
            row = rows[(q, "alpha", turn)]
            assert row["judgment"] == API_ERROR_OUTPUT and row["score"] == -1
            assert row["error"].startswith(kind), row["error"]
    # budget: cut at max_tokens although the server said stop: counted, and read as FastChat reads
    # it (here the cut took the verdict away: -1, a parse failure)
    budget = rows[(4, "alpha", 1)]
    assert budget["score"] == -1 and budget["judgment"].endswith("inter")
    assert report.parse_failures_first == 2 and report.api_errors == 6 and report.reconciles
    assert report.answer_problems == {
        "filtered": 2,
        "provider error": 2,
        "prompt truncated": 2,
        "unfinished": 2,
    }
    assert server.calls == 8  # one call per verdict: none of them retried


#: The rest of the kinds of tests/servers/answer_faults.py (``KINDS`` + ``RETRIED``) in the judge's
#: reply, and what the verdict becomes under the fastchat policy: read as FastChat reads it (the
#: grade is the judge's, the problem counted), no verdict (a parse failure), or an ``$ERROR$`` row
#: with the contract's reason. (The eight above are tested in the tests before.)
READ = (
    "surrogate",
    "parts",
    "harmony",
    "seedthink",
    "kimithink",
    "stoptoken",
    "wrapped",
    "fallback",
    "dated",
    "roleheader",
    "mojibake",
    "nanusage",
    "multichoice",
)
#: read, and counted by kind (the grade before the leak or the loop is the judge's)
READ_COUNTED = {
    "templateleak": "template leak", "instleak": "template leak", "deepseekleak": "template leak",
    "repetition": "repetition", "nul": "control characters", "fffd": "replacement characters",
    "numloop": "repetition", "qmarks": "replacement characters", "alpaca": "template leak",
}  # fmt: skip
#: a judge prompt speaks of the assistant's reply, so a made-up "### Human:" turn is no leak there
READ_PLAIN = ("plainturn", "userturn")
NO_VERDICT = {"wronglang": None, "drift": None, "toolcall": "tool call", "toolcallsfield": "tool call",
              "toolcallsfinish": "tool call", "refusal": "refusal", "nearbudget": "unfinished"}  # fmt: skip
ERROR = {
    "filterprompt": "filtered", "filterempty": "filtered", "refuse": "call failed", "textfield": "provider error",
    "contentnumber": "provider error", "echo": "echo", "abort": "call failed", "ollamanull": "call failed",
    "ollamaempty": "call failed", "errornocode": "provider error",
}  # fmt: skip


def _fault_bench(tmp_path: Path, kinds: list[str], turns: int = 1) -> tuple[Bench, dict[int, str]]:
    data = tmp_path / "faults"
    data.mkdir()
    qs = dict(enumerate(kinds, 1))
    (data / "question.jsonl").write_text(
        "".join(
            json.dumps({"question_id": q, "category": "writing", "turns": ["Write about rain."] * turns})
            + "\n"
            for q in qs
        )
    )
    bench = open_bench(data)
    marker = {q: "" if k == "clean" else f" FAULT={k}" for q, k in qs.items()}
    _answers(bench, "alpha", {q: [f"A careful answer.{marker[q]}"] * turns for q in qs})
    _answers(bench, "beta", {q: ["A plain answer."] * turns for q in qs})
    bench.judgment_dir.mkdir(exist_ok=True)
    return bench, qs


def test_every_other_kind_in_the_judges_reply_is_read_failed_or_an_error(
    tmp_path, judge_server, judge_config
) -> None:
    from servers.answer_faults import KINDS, RETRIED

    kinds = ["clean", *READ, *READ_COUNTED, *READ_PLAIN, *NO_VERDICT, *ERROR]
    seen = {
        "think",
        "thinkopen",
        "reasoningfield",
        "thinkonly",
        "filteranswer",
        "errorbody",
        "truncated",
        "budget",
    }
    assert set(kinds[1:]) | seen == {*KINDS, *RETRIED}  # every kind is in exactly one list
    bench, qs = _fault_bench(tmp_path, kinds)
    server = judge_server(judge_reply)
    cfg = judge_config(server, models=["alpha"])
    with build_client(cfg.judge) as client:
        (report,) = judge_bench(bench, cfg, client)
    rows = {qs[q]: r for (q, _, _), r in _single_rows(bench).items()}
    assert set(rows) == set(kinds)
    for kind in ("clean", *READ, *READ_COUNTED, *READ_PLAIN):
        assert rows[kind]["score"] == 8 and "error" not in rows[kind], (kind, rows[kind])
    for kind in NO_VERDICT:
        assert rows[kind]["score"] == -1 and rows[kind]["judgment"] != API_ERROR_OUTPUT, kind
    for kind, why in ERROR.items():
        row = rows[kind]
        assert row["score"] == -1 and row["judgment"] == API_ERROR_OUTPUT, kind
        assert row["error"].startswith(f"{why}: "), (kind, row["error"])
    # An echo holds the prompt's own format example: never read as the judge's grade.
    assert rows["echo"]["error"] == "echo: the answer is the last user turn sent back"
    assert rows["contentnumber"]["error"].endswith("the message's content is int 42, not text")
    counted: dict[str, int] = {}
    for why in (*READ_COUNTED.values(), *(w for w in NO_VERDICT.values() if w), *ERROR.values()):
        counted[why] = counted.get(why, 0) + 1
    assert report.answer_problems == counted
    assert report.api_errors == len(ERROR) and report.parse_failures_final == len(NO_VERDICT)
    assert report.reconciles
    # asked --max-attempts (2) times, the rest once
    retried = ("abort", "ollamanull", "ollamaempty", "errornocode")
    assert sorted(RETRIED) == sorted(retried)
    assert server.calls == len(kinds) + len(retried)


@pytest.mark.parametrize("policy", ["fastchat", "robust"])
def test_an_echoed_pair_prompt_is_no_verdict(tmp_path, judge_server, judge_config, policy) -> None:
    """The pair prompt names "[[A]]", "[[B]]" and "[[C]]" as its verdicts: sent back, FastChat's
    parser would read A's win from it. It is an ``$ERROR$`` game with the contract's reason, one
    call each, under either policy."""
    bench, _ = _fault_bench(tmp_path, ["clean", "echo"])
    server = judge_server(judge_reply)
    extra = {"reask": 1} if policy == "robust" else {}
    cfg = judge_config(server, judge_policy=policy, mode="pairwise-all", models=["alpha", "beta"], **extra)
    with build_client(cfg.judge) as client:
        (report,) = judge_bench(bench, cfg, client)
    rows = {r.question_id: r for r in read_pair_judgments(bench.judgment_path("judge-x", "pair"))}
    assert (rows[1].g1_winner, rows[1].g2_winner) == ("model_2", "model_1")
    assert (rows[2].g1_winner, rows[2].g2_winner) == ("error", "error")
    assert rows[2].g1_judgment == rows[2].g2_judgment == API_ERROR_OUTPUT
    assert report.answer_problems == {"echo": 2} and report.api_errors == 2 and report.reconciles
    assert server.calls == 4
