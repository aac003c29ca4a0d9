"""The judge's summary names its $ERROR$ rows apart from the calls that failed for good, which
is what the progress line's "N failed" counts: a newcomer saw "0 failed" beside "11 call
errors" (the 11 were prompts the server cut, answered but with no verdict to read)."""

from __future__ import annotations

from rich.console import Console

from tagengo.bench.judge import JudgeReport, _print_report
from tagengo.llm.answer import CALL_FAILED, PROMPT_TRUNCATED


def _report(**kw) -> JudgeReport:
    base = dict(bench="b", language="ja", mode="single", judge="j", run=1, path="p.jsonl", prompts="fastchat")
    return JudgeReport(**{**base, **kw})


def _printed(r: JudgeReport) -> str:
    console = Console(record=True, width=400)
    _print_report(console, r)
    return " ".join(console.export_text().split())


def test_cut_prompts_are_not_called_failed_calls() -> None:
    text = _printed(_report(calls=16, api_errors=11, answer_problems={PROMPT_TRUNCATED: 11}))
    assert "0 calls failed for good (the progress line's 'failed'), 11 replies more with no verdict" in text
    assert "no verdict to read: 11 $ERROR$ rows (11 prompt truncated)" in text
    assert "call errors" not in text


def test_failed_calls_and_spoilt_replies_add_up_to_the_error_rows() -> None:
    problems = {CALL_FAILED: 2, PROMPT_TRUNCATED: 1, "unfinished": 4}
    text = _printed(_report(calls=5, api_errors=3, failed_calls=2, answer_problems=problems))
    assert "2 calls failed for good (the progress line's 'failed'), 1 reply more with no verdict" in text
    assert "to read: 3 $ERROR$ rows (2 call failed, 1 prompt truncated)" in text
    clean = _printed(_report(calls=5))
    assert "0 calls failed for good (the progress line's 'failed'): 0 $ERROR$ rows" in clean
