"""`tagengo bench init | answer | judge | show` end to end through the command line, with a
scripted server on 127.0.0.1 as both the answering model and the judge."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from servers.scripted_judge import is_pairwise
from tagengo.bench.cli import command
from tagengo.cli import main


def _script(messages: list[dict[str, str]]) -> str:
    if any(m["role"] == "system" for m in messages) and "grade" in messages[0]["content"]:
        return "Fine. Grade: [[7]]"
    if is_pairwise(messages):
        return "[[C]]"
    return "Eine kurze Antwort auf Deutsch, die ganz ordentlich klingt."


def test_init_answer_judge_show(tmp_path: Path, judge_server) -> None:
    server = judge_server(_script)
    runner = CliRunner()
    data = tmp_path / "data"
    r = runner.invoke(command, ["init", str(data), "--languages", "de,ja"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in data.iterdir()) == ["de_tagengo_mini", "ja_tagengo_mini"]

    http = ["--llm-backend", "openai", "--llm-model", "m", "--llm-base-url", server.url]
    cache = ["--llm-cache-path", str(tmp_path / "c.sqlite")]
    r = runner.invoke(
        command, ["answer", str(data / "de_tagengo_mini"), *http, *cache, "--model-id", "m", "--limit", "2"]
    )
    assert r.exit_code == 0, r.output
    rows = [
        json.loads(x)
        for x in (data / "de_tagengo_mini" / "model_answer" / "m.jsonl").read_text().splitlines()
    ]
    assert [x["question_id"] for x in rows] == [1, 2]

    judge = ["--judge-backend", "openai", "--judge-model", "jx", "--judge-base-url", server.url]
    jcache = ["--judge-cache-path", str(tmp_path / "c.sqlite")]
    r = runner.invoke(
        command, ["judge", str(data / "de_tagengo_mini"), *judge, *jcache, "--limit", "2", "--gate"]
    )
    assert r.exit_code == 0, r.output
    j = [
        json.loads(x)
        for x in (data / "de_tagengo_mini" / "model_judgment" / "jx_single.jsonl").read_text().splitlines()
    ]
    assert len(j) == 4 and {x["score"] for x in j} == {7}
    calls = server.calls
    r = runner.invoke(
        command, ["judge", str(data / "de_tagengo_mini"), *judge, *jcache, "--limit", "2", "--gate"]
    )
    assert r.exit_code == 0 and server.calls == calls  # finished: no calls

    out = tmp_path / "report"
    r = runner.invoke(command, ["show", str(data), "--out", str(out), "--bootstrap-iters", "50"])
    assert r.exit_code == 0, r.output
    assert (out / "scores.md").exists() and (out / "radar_de.png").exists()
    assert "7.00" in (out / "scores.md").read_text()


def test_config_errors_are_one_sentence(tmp_path: Path, capsys) -> None:
    data = tmp_path / "mt_bench"
    data.mkdir()
    (data / "question.jsonl").write_text('{"question_id": 1, "category": "writing", "turns": ["Hi"]}\n')
    url = ["--judge-base-url", "http://127.0.0.1:9/v1"]
    code = main(["bench", "judge", str(data), "--judge-backend", "llamacpp", *url])
    err = capsys.readouterr().err
    assert code == 2
    assert "--judge-base-url is for an HTTP server: add --judge-backend openai" in err
    assert "Traceback" not in err
    # a server URL alone means the openai backend, which then wants a model name
    code = main(["bench", "judge", str(data), *url])
    assert code == 2 and "needs a model name" in capsys.readouterr().err
    code = main(["bench", "judge", str(data), "--mode", "pairwise-baseline"])
    assert code == 2 and "needs --baseline-model" in capsys.readouterr().err
    bad = tmp_path / "x_bench"
    bad.mkdir()
    (bad / "question.jsonl").write_text('{"question_id": 1, "category": "writing"}\n')
    code = main(["bench", "show", str(bad), "--out", str(tmp_path / "o")])
    assert code == 2 and "question.jsonl:1: missing field 'turns'" in capsys.readouterr().err


def test_help_tells_the_truth_about_policies() -> None:
    runner = CliRunner()
    judge = " ".join(runner.invoke(command, ["judge", "--help"]).output.split())
    assert "--judge-policy" in judge and "[default: fastchat]" in judge
    assert "0: FastChat's behaviour" not in judge
    answer = runner.invoke(command, ["answer", "--help"]).output
    assert "--runs" in answer and "--redo" in answer
    show = runner.invoke(command, ["show", "--help"]).output
    assert "--duplicates" in show


def test_answer_against_a_down_server_stops_resumably_and_a_rerun_answers_everything(
    tmp_path: Path, fake_server, capsys
) -> None:
    # Two questions, far under --llm-abort-after-failures: every call refused at connect must
    # stop the run (exit 2, no answer file) rather than report "2 failed" and exit 0.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: nothing listens there
    data = tmp_path / "data"
    assert CliRunner().invoke(command, ["init", str(data), "--languages", "de"]).exit_code == 0
    bench = data / "de_tagengo_mini"
    args = ["bench", "answer", str(bench), "--llm-backend", "openai", "--llm-model", "m", "--model-id", "m"]
    args += ["--llm-cache-path", str(tmp_path / "c.sqlite"), "--limit", "2"]
    quick = ["--llm-max-attempts", "2", "--llm-backoff-base-s", "0.02", "--llm-backoff-max-s", "0.1"]
    code = main([*args, *quick, "--llm-base-url", f"http://127.0.0.1:{port}/v1"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "calls in a row failed" in err and "re-run to resume" in err
    assert not (bench / "model_answer" / "m.jsonl").exists()

    server = fake_server()
    assert main([*args, *quick, "--llm-base-url", server.url]) == 0, capsys.readouterr().err
    rows = [json.loads(x) for x in (bench / "model_answer" / "m.jsonl").read_text().splitlines()]
    assert [x["question_id"] for x in rows] == [1, 2]
    assert all(t for x in rows for t in x["choices"][0]["turns"])


def test_off_a_terminal_answer_and_judge_report_progress_as_lines(
    tmp_path: Path, judge_server, log_progress
) -> None:
    from progress_checks import assert_progress_lines

    # 8 questions x 10 choices: 80 answers per turn, 4 at a time, each at least 50 ms: a turn lasts
    # at least 1 s, past the 0.4 s interval.
    log_progress(0.4)
    server = judge_server(_script, latency_s=0.05)
    runner = CliRunner()
    data = tmp_path / "data"
    assert runner.invoke(command, ["init", str(data), "--languages", "de"]).exit_code == 0
    bench = str(data / "de_tagengo_mini")
    http = [
        "--llm-backend",
        "openai",
        "--llm-model",
        "m",
        "--llm-base-url",
        server.url,
        "--llm-concurrency",
        "4",
    ]
    r = runner.invoke(
        command,
        [
            "answer",
            bench,
            *http,
            "--llm-cache-path",
            str(tmp_path / "c.sqlite"),
            "--model-id",
            "m",
            "--num-choices",
            "10",
        ],
    )
    assert r.exit_code == 0, r.output
    assert_progress_lines(r.stderr, "de_tagengo_mini: m turn 1", 80)
    assert_progress_lines(r.stderr, "de_tagengo_mini: m turn 2", 80)

    judge = ["--judge-backend", "openai", "--judge-model", "jx", "--judge-base-url", server.url]
    r = runner.invoke(command, ["judge", bench, *judge, "--judge-cache-path", str(tmp_path / "c.sqlite")])
    assert r.exit_code == 0, r.output
    end = [x for x in r.stderr.splitlines() if x.startswith("judge de_tagengo_mini") and " · done in " in x]
    assert len(end) == 1 and "16/16" in end[0], r.stderr  # 8 questions x 2 turns, one phase


def _one_question(tmp_path: Path) -> Path:
    bench = tmp_path / "mt_bench"
    bench.mkdir()
    (bench / "question.jsonl").write_text('{"question_id": 1, "category": "writing", "turns": ["Hi"]}\n')
    return bench


def test_judge_needs_a_named_judge(tmp_path: Path, capsys) -> None:
    """issue #23 item 10: no judge options used to judge with the bundled 135M model, whose
    verdicts are all unreadable; now it stops and says how to choose one. Run settings alone
    (--judge-concurrency) name no judge; --judge-backend llamacpp names the bundled one."""
    bench = str(_one_question(tmp_path))
    for extra in ([], ["--judge-concurrency", "2"]):
        code = main(["bench", "judge", bench, *extra])
        err = capsys.readouterr().err
        assert code == 2, err
        assert "bench judge needs a judge: name one with --judge-model" in err
        assert "--judge-backend llamacpp for the bundled SmolLM2-135M" in err and "Traceback" not in err
    # named explicitly: past the check (this bench has no answers to judge yet)
    code = main(["bench", "judge", bench, "--judge-backend", "llamacpp"])
    err = capsys.readouterr().err
    assert code == 2 and "no answer files to judge" in err


def test_a_judge_on_openai_without_its_key_stops_before_any_call(tmp_path: Path, capsys, monkeypatch) -> None:
    """issue #23 item 10: --judge-model gpt-4o without OPENAI_API_KEY retried for 30 s before
    failing; now one sentence names the variable, before any call (and so does bench answer)."""
    import time

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("MY_JUDGE_KEY", raising=False)
    bench = str(_one_question(tmp_path))
    start = time.monotonic()
    code = main(["bench", "judge", bench, "--judge-model", "gpt-4o"])
    err = capsys.readouterr().err
    assert code == 2 and time.monotonic() - start < 10, err
    assert "--judge-model gpt-4o is served by OpenAI's API, which needs a key: set $OPENAI_API_KEY" in err
    code = main(["bench", "judge", bench, "--judge-model", "gpt-4o", "--judge-api-key-env", "MY_JUDGE_KEY"])
    assert code == 2 and "set $MY_JUDGE_KEY" in capsys.readouterr().err
    code = main(["bench", "answer", bench, "--llm-model", "gpt-4o-mini"])
    assert code == 2 and "--llm-model gpt-4o-mini is served by OpenAI's API" in capsys.readouterr().err
    # the key set: the check lets it through (to the missing answers here)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    code = main(["bench", "judge", bench, "--judge-model", "gpt-4o"])
    assert code == 2 and "no answer files to judge" in capsys.readouterr().err


def test_a_judge_behind_another_server_needs_no_key(tmp_path: Path, judge_server, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server = judge_server(_script)
    runner = CliRunner()
    data = tmp_path / "data"
    assert runner.invoke(command, ["init", str(data), "--languages", "de"]).exit_code == 0
    bench = str(data / "de_tagengo_mini")
    http = ["--llm-model", "m", "--llm-base-url", server.url, "--llm-cache-path", str(tmp_path / "c.sqlite")]
    r = runner.invoke(command, ["answer", bench, *http, "--model-id", "m", "--limit", "1"])
    assert r.exit_code == 0, r.output
    judge = [
        "--judge-model",
        "jx",
        "--judge-base-url",
        server.url,
        "--judge-cache-path",
        str(tmp_path / "c.sqlite"),
    ]
    r = runner.invoke(command, ["judge", bench, *judge, "--limit", "1"])
    assert r.exit_code == 0, r.output
