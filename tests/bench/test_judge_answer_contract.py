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
