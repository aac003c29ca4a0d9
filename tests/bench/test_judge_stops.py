"""`bench judge` when the judge gives nothing to use (a newcomer's findings): every call fails
(no verdict is written, the file stays as it was, the run stops with the fix), or every reply is
unreadable (the rows are written, as FastChat writes them, and the command exits non-zero)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from servers.scripted_judge import ScriptedHTTPError
from tagengo.bench.judge import judge_bench
from tagengo.cli import main
from tagengo.io.bench_layout import Bench, open_bench
from tagengo.io.fastchat import Answer, write_answers
from tagengo.llm import build_client
from tagengo.run.llm_stage import NoCallSucceeded


@pytest.fixture
def two_models(fixture_copy: Callable[[str], Path]) -> Bench:
    bench = open_bench(fixture_copy("mt_bench"))
    for model in ("alpha", "beta"):
        turns = {1: [f"{model} one", f"{model} two"], 2: [f"{model} 51", f"{model} 510"]}
        write_answers(
            bench.answer_path(model),
            [Answer(q, model, [{"index": 0, "turns": t}], f"{model}-{q}", 1.0) for q, t in turns.items()],
        )
    bench.judgment_dir.mkdir(exist_ok=True)
    return bench


def refuse(messages: list[dict[str, str]]) -> str:
    raise ScriptedHTTPError(400, "max_tokens is too large for this model")


@pytest.mark.parametrize("mode", ["single", "pairwise-all"])
def test_a_judge_whose_every_call_fails_writes_no_verdict_and_stops(
    two_models: Bench, judge_server, judge_config, mode: str
) -> None:
    kind = "single" if mode == "single" else "pair"
    good = judge_server(lambda msgs: "Fine. [[A]] Rating: [[7]]")
    with build_client(judge_config(good, mode=mode, limit=2).judge) as client:
        (first,) = judge_bench(two_models, judge_config(good, mode=mode, limit=2), client)
    path = two_models.judgment_path("judge-x", kind)
    before = path.read_bytes()
    assert first.verdicts_in_file == len(before.splitlines()) > 0

    bad = judge_server(refuse)
    cfg = judge_config(bad, llm={"max_attempts": 1}, mode=mode, limit=2, rejudge=True)
    with build_client(cfg.judge) as client, pytest.raises(NoCallSucceeded) as err:
        judge_bench(two_models, cfg, client)
    message = str(err.value)
    assert "no call to the judge judge-x succeeded" in message and "max_tokens is too large" in message
    assert "left as it was" in message and "Re-run once fixed" in message
    assert path.read_bytes() == before  # no $ERROR$ rows in place of the verdicts
    manifest = json.loads((two_models.report_dir / f"judge_judge-x_{kind}.json").read_text())
    assert manifest["counts"]["api_errors"] == manifest["counts"]["calls"] == bad.calls > 0

    # A first run that fails everywhere leaves no file at all.
    path.unlink()
    with build_client(cfg.judge) as client, pytest.raises(NoCallSucceeded):
        judge_bench(two_models, cfg, client)
    assert not path.exists()


def test_bench_judge_exits_non_zero_when_no_reply_holds_a_verdict(
    two_models: Bench, judge_server, capsys
) -> None:
    server = judge_server(lambda msgs: "Both answers have merits; hard to say.")
    judge = ["--judge-backend", "openai", "--judge-model", "judge-x", "--judge-base-url", server.url]
    cache = ["--judge-cache-path", str(two_models.path.parent / "c.sqlite"), "--limit", "2"]
    code = main(["bench", "judge", str(two_models.path), *judge, *cache])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "none of the judge's 8 replies held a verdict" in " ".join(err.split())
    assert "--constrain-verdict" in err and "Traceback" not in err
    # The rows are written as FastChat writes unreadable ones (-1), and the console counted them.
    rows = [json.loads(x) for x in two_models.judgment_path("judge-x", "single").read_text().splitlines()]
    assert len(rows) == 8 and {r["score"] for r in rows} == {-1}
    assert "unreadable verdicts 100.0% first" in " ".join(err.split())
