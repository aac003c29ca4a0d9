"""Answering: two turns (turn 2 sees turn 1), MT-Bench temperatures, FastChat answer files,
resume; once against a scripted server (to see the requests) and once with the bundled model."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from servers.scripted_judge import ScriptedHTTPError
from tagengo.bench.answer import answer_bench
from tagengo.bench.config import AnswerConfig
from tagengo.bench.prompts import default_prompts_path
from tagengo.io.bench_layout import open_bench
from tagengo.io.fastchat import read_single_judgments
from tagengo.llm import LLMConfig, build_client

from .conftest import server_llm


def echo(messages: list[dict[str, str]]) -> str:
    last = messages[-1]["content"]
    if "FAILME" in last:
        raise ScriptedHTTPError(400, "scripted failure")
    return f"reply {len(messages)} to: {last[:30]}"


def test_two_turns_with_mt_bench_temperatures(
    fixture_copy: Callable[[str], Path], judge_server, tmp_path: Path
) -> None:
    bench = open_bench(fixture_copy("mt_bench"))
    server = judge_server(echo)
    cfg = AnswerConfig(llm=server_llm(server, tmp_path), model_id="m1", max_tokens=64)
    with build_client(cfg.llm) as client:
        (report,) = answer_bench(bench, cfg, client)
    rows = [json.loads(x) for x in bench.answer_path("m1").read_text().splitlines()]
    assert [r["question_id"] for r in rows] == [1, 2, 3, 4]
    for r in rows:
        assert set(r) >= {"question_id", "answer_id", "model_id", "choices", "tstamp"}
        assert r["model_id"] == "m1" and len(r["choices"]) == 1 and r["choices"][0]["index"] == 0
        assert len(r["choices"][0]["turns"]) == 2
    assert rows[0]["choices"][0]["turns"][0] == "reply 1 to: Write a haiku about rain on a"
    # turn 2 saw the question and answer of turn 1
    turn2 = [req for req in server.requests if len(req["messages"]) == 3]
    assert len(turn2) == 4
    haiku = next(req for req in turn2 if req["messages"][0]["content"].startswith("Write a haiku"))
    assert haiku["messages"][1] == {"role": "assistant", "content": rows[0]["choices"][0]["turns"][0]}
    temps = {req["messages"][0]["content"][:12]: req["temperature"] for req in server.requests}
    assert temps == {"Write a haik": 0.7, "What is 17 t": 0.0, "Write a Pyth": 0.0, "Why does ice": 0.1}
    assert all(req["max_tokens"] == 64 for req in server.requests)
    assert (report.questions, report.answered, report.kept, report.failed) == (4, 4, 0, [])
    assert report.reconciles


def test_failed_questions_are_left_out_reported_and_retried(tmp_path: Path, judge_server) -> None:
    data = tmp_path / "de_set"
    data.mkdir()
    (data / "question.jsonl").write_text(
        '{"question_id": 1, "category": "writing", "turns": ["Schreib etwas.", "Noch einmal, FAILME."]}\n'
        '{"question_id": 2, "category": "stem", "turns": ["Warum ist Eis leicht?"]}\n'
    )
    bench = open_bench(data)
    server = judge_server(echo)
    cfg = AnswerConfig(llm=server_llm(server, tmp_path), model_id="m")
    with build_client(cfg.llm) as client:
        (report,) = answer_bench(bench, cfg, client)
        assert report.answered == 1 and report.failed[0]["question_id"] == 1 and report.failed[0]["turn"] == 2
        assert report.reconciles
        saved = json.loads((bench.report_dir / "answer_m.json").read_text())
        assert "scripted failure" in saved["report"]["failed"][0]["error"]
        assert [json.loads(x)["question_id"] for x in bench.answer_path("m").read_text().splitlines()] == [2]
        calls = server.calls
        (again,) = answer_bench(bench, cfg, client)
    # question 2 is kept; question 1 is asked again (turn 1 from the cache, turn 2 fails again)
    assert again.kept == 1 and server.calls == calls + 1


def test_choices_get_distinct_seeds(fixture_copy, judge_server, tmp_path: Path) -> None:
    bench = open_bench(fixture_copy("mt_bench"))
    server = judge_server(echo)
    cfg = AnswerConfig(llm=server_llm(server, tmp_path), model_id="m", num_choices=2, limit=1)
    with build_client(cfg.llm) as client:
        answer_bench(bench, cfg, client)
    row = json.loads(bench.answer_path("m").read_text())
    assert [c["index"] for c in row["choices"]] == [0, 1]
    assert sorted(req["seed"] for req in server.requests) == [0, 0, 1, 1]


class Draws:
    """A sampling model: every call gives a new reply (draw 1, draw 2 ...), as temperature 0.7
    does; only a new request (cache key) can show that."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, messages: list[dict[str, str]]) -> str:
        self.n += 1
        return f"draw {self.n}"


def _turns(path: Path) -> dict[int, list[str]]:
    return {
        r["question_id"]: r["choices"][0]["turns"] for r in map(json.loads, path.read_text().splitlines())
    }


def test_redo_draws_a_new_sample(fixture_copy, judge_server, tmp_path: Path) -> None:
    bench = open_bench(fixture_copy("mt_bench"))
    server = judge_server(Draws())
    cfg = AnswerConfig(llm=server_llm(server, tmp_path), model_id="m", limit=1)  # q1: writing, 0.7
    with build_client(cfg.llm) as client:
        answer_bench(bench, cfg, client)
        first = _turns(bench.answer_path("m"))
        (redo,) = answer_bench(bench, cfg.model_copy(update={"redo": True}), client)
        second = _turns(bench.answer_path("m"))
        (again,) = answer_bench(bench, cfg.model_copy(update={"redo": True}), client)
    assert server.calls == 6 and redo.answered == 1 and redo.cached_calls == 0
    assert first[1] != second[1] != _turns(bench.answer_path("m"))[1]
    row = json.loads(bench.answer_path("m").read_text())
    assert row["tagengo"]["sample"] == 2 and again.samples == {"2": 1}
    assert all("sample" not in req for req in server.requests)  # a key index, never sent


def test_runs_give_independent_answers_judged_run_by_run(fixture_copy, judge_server, tmp_path: Path) -> None:
    """answer --runs 3 and judge --runs 3: run r's judge sees run r's answers, and show turns the
    three runs into a median with an interval."""
    from tagengo.bench.config import JudgeConfig, ShowConfig
    from tagengo.bench.judge import judge_bench
    from tagengo.bench.show import show

    bench = open_bench(fixture_copy("mt_bench"))
    server = judge_server(Draws())
    cfg = AnswerConfig(llm=server_llm(server, tmp_path), model_id="m", runs=3)
    with build_client(cfg.llm) as client:
        reports = answer_bench(bench, cfg, client)
        assert [r.run for r in reports] == [1, 2, 3] and [r.samples for r in reports] == [
            {"0": 4},
            {"1": 4},
            {"2": 4},
        ]
        (again,) = answer_bench(bench, cfg.model_copy(update={"runs": 1}), client)
    assert again.kept == 4 and server.calls == 3 * 8
    files = [bench.answer_path("m", r) for r in (1, 2, 3)]
    assert [p.name for p in files] == ["m.jsonl", "m.run2.jsonl", "m.run3.jsonl"]
    assert bench.models() == ["m"]
    answers = [_turns(p)[1][0] for p in files]
    assert len(set(answers)) == 3

    grades = iter(range(100))
    judge_srv = judge_server(lambda msgs: f"Rating: [[{1 + next(grades) % 10}]]")
    jcfg = JudgeConfig(judge=server_llm(judge_srv, tmp_path), runs=3)
    with build_client(jcfg.judge) as client:
        runs = judge_bench(bench, jcfg, client)
    assert [r.answer_files for r in runs] == [[str(p)] for p in files]
    for r, answer in zip((1, 2, 3), answers, strict=True):
        rows = read_single_judgments(bench.judgment_path("judge-x", "single", r))
        assert answer in next(j.user_prompt for j in rows if j.key == "1" and j.turn == 1)
    out = show(
        [bench], ShowConfig(bootstrap_iters=200, plots=False, judge_model="judge-x"), tmp_path / "report"
    )
    iv = out.single.overall["m"]["en"]  # type: ignore[union-attr]
    assert iv.runs == 3 and iv.low <= iv.estimate <= iv.high


def test_answer_run_writes_a_manifest(fixture_copy, judge_server, tmp_path: Path) -> None:
    bench = open_bench(fixture_copy("mt_bench"))
    server = judge_server(echo)
    cfg = AnswerConfig(llm=server_llm(server, tmp_path), model_id="m", limit=2, runs=2)
    with build_client(cfg.llm) as client:
        answer_bench(bench, cfg, client)
    for name in ("answer_m.json", "answer_m.run2.json"):
        manifest = json.loads((bench.report_dir / name).read_text())
        assert manifest["stage"] == "bench answer" and manifest["config"]["runs"] == 2
        assert manifest["counts"]["answered"] == 2 and manifest["counts"]["reused"] == 0
        assert manifest["counts"]["calls"] == 4 and "tagengo" in manifest["versions"]
        assert manifest["started_at"] <= manifest["finished_at"]


@pytest.mark.llm
@pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python (llm extra)"
)
def test_bundled_model_answers_our_question_set(tmp_path: Path) -> None:
    src = default_prompts_path().parent / "ja_tagengo_mini"
    dest = tmp_path / "ja_tagengo_mini"
    dest.mkdir()
    (dest / "question.jsonl").write_text((src / "question.jsonl").read_text())
    bench = open_bench(dest)
    assert bench.language == "ja"
    cfg = AnswerConfig(
        llm=LLMConfig(backend="llamacpp", cache_path=tmp_path / "c.sqlite", n_ctx=1024),
        limit=1,
        max_tokens=8,
    )
    with build_client(cfg.llm) as client:
        (report,) = answer_bench(bench, cfg, client)
    assert report.model_id.startswith("SmolLM2-135M")
    rows = [json.loads(x) for x in bench.answer_path(report.model_id).read_text().splitlines()]
    assert [r["question_id"] for r in rows] == [1]
    for r in rows:
        turns = r["choices"][0]["turns"]
        assert len(turns) == 2 and all(isinstance(t, str) and t for t in turns)
        assert r["tagengo"]["max_new_tokens"] == 8
    # 8 new tokens cannot finish an answer: both turns stop on the limit (llama.cpp's usage count
    # may include one token more than it returns, so the token total is not asserted exactly)
    assert report.calls == 2 and report.truncated_turns == 2 and report.output_tokens > 0


def test_an_answer_is_kept_only_for_the_same_requests(fixture_copy, judge_server, tmp_path: Path) -> None:
    """Asking differently (here: another token limit) answers again, in the same sample slot,
    so going back replays the cache; a file that records no key (FastChat's) is kept."""
    bench = open_bench(fixture_copy("mt_bench"))
    server = judge_server(echo)
    cfg = AnswerConfig(llm=server_llm(server, tmp_path), model_id="m", limit=2, max_tokens=64)
    with build_client(cfg.llm) as client:
        answer_bench(bench, cfg, client)
        (same,) = answer_bench(bench, cfg, client)
        assert (same.kept, same.answered, server.calls) == (2, 0, 4)
        (short,) = answer_bench(bench, cfg.model_copy(update={"max_tokens": 32}), client)
        assert (short.kept, short.changed, short.answered, server.calls) == (0, 2, 2, 8)
        assert {req["max_tokens"] for req in server.requests[4:]} == {32}
        (back,) = answer_bench(bench, cfg, client)
        assert (back.changed, server.calls, back.cached_calls) == (2, 8, 4)
        rows = [json.loads(x) for x in bench.answer_path("m").read_text().splitlines()]
        assert all(r["tagengo"]["sample"] == 0 and len(r["tagengo"]["request_key"]) == 64 for r in rows)
        plain = [{k: v for k, v in r.items() if k != "tagengo"} for r in rows]
        bench.answer_path("m").write_text("".join(json.dumps(r) + "\n" for r in plain))
        (fastchat,) = answer_bench(bench, cfg.model_copy(update={"max_tokens": 16}), client)
    assert fastchat.kept == 2 and server.calls == 8


#: A turn long enough that a server reporting 16 prompt tokens must have cut it.
LONG_TURN = " ".join(
    f"Paragraph {i}: the history of the harbour town, its bridges, its markets and its ships."
    for i in range(35)
)


def test_answers_pass_the_answer_contract_and_what_fails_it_is_listed_not_written(
    tmp_path: Path, judge_server
) -> None:
    """Answers bent the way real servers bend them (tests/servers/answer_faults.py): cleaned ones
    are written, cut ones written and counted, the others left out of the answer file and
    listed with the contract's kind, after one request each."""
    turns = {
        1: ["Write a poem about rain.", "Make it shorter."],
        2: ["Write about rain. FAULT=surrogate", "Make it shorter."],
        3: ["Write about rain. FAULT=parts", "Make it shorter."],
        4: ["Write about rain. FAULT=think", "Make it shorter."],
        5: ["Write about rain. FAULT=thinkopen", "Make it shorter."],
        6: ["Write about rain. FAULT=reasoningfield", "Make it shorter."],
        7: ["Write about rain. FAULT=budget", "Make it shorter."],
        8: ["Write about rain. FAULT=thinkonly", "Make it shorter."],
        9: [f"{LONG_TURN} FAULT=truncated", "Make it shorter."],
        10: ["Write about rain. FAULT=errorbody", "Make it shorter."],
        11: ["Write about rain. FAULT=filterprompt", "Make it shorter."],
        12: ["Write about rain. FAULT=filterempty", "Make it shorter."],
        13: ["Write about rain. FAULT=filteranswer", "Make it shorter."],
        14: ["Write about snow.", "Once more, FAULT=errorbody"],
    }
    data = tmp_path / "en_set"
    data.mkdir()
    (data / "question.jsonl").write_text(
        "".join(
            json.dumps({"question_id": q, "category": "writing", "turns": t}) + "\n" for q, t in turns.items()
        )
    )
    bench = open_bench(data)
    server = judge_server(echo)
    cfg = AnswerConfig(llm=server_llm(server, tmp_path, max_attempts=3), model_id="m", max_tokens=64)
    with build_client(cfg.llm) as client:
        (report,) = answer_bench(bench, cfg, client)

    rows = {r["question_id"]: r for r in map(json.loads, bench.answer_path("m").read_text().splitlines())}
    assert sorted(rows) == [1, 2, 3, 4, 5, 6, 7, 8]
    for q, r in rows.items():
        # FastChat's answer format, field for field (and tagengo's own key beside it).
        assert set(r) == {"question_id", "answer_id", "model_id", "choices", "tstamp", "tagengo"}
        first, second = r["choices"][0]["turns"]
        assert not any(m in t for t in (first, second) for m in ("<think>", "</think>", "DECOY")), q
        if q in (1, 3, 4, 5, 6):
            assert first == f"reply 1 to: {turns[q][0][:30]}", q
    assert rows[2]["choices"][0]["turns"][0].endswith(" \ufffd and more")
    assert rows[7]["choices"][0]["turns"][0].endswith("inter")  # cut at the limit: still the model's answer
    assert report.truncated_turns == 2  # both turns of 7: the server said stop at max_tokens
    # Nothing after the reasoning is the model's own failure: written empty and judged, never left
    # out (leaving it out would lift a weak model's average).
    assert rows[8]["choices"][0]["turns"][0] == ""

    failed = {(f["question_id"], f["turn"]): f for f in report.failed}
    assert {k: f["kind"] for k, f in failed.items()} == {
        (9, 1): "prompt truncated", (10, 1): "provider error", (11, 1): "filtered",
        (12, 1): "filtered", (13, 1): "filtered", (14, 2): "provider error",
    }  # fmt: skip
    assert failed[(13, 1)]["error"].startswith("filtered: the server's content filter withheld the answer")
    # Every turn the contract found a problem with, by kind: the cut turns were written all the same.
    assert report.answer_problems == {
        "empty answer": 2, "prompt truncated": 1, "provider error": 2, "filtered": 3, "unfinished": 2,
    }  # fmt: skip
    assert report.reconciles and (report.questions, report.answered) == (14, 8)
    saved = json.loads((bench.report_dir / "answer_m.json").read_text())
    assert saved["counts"]["failed"] == 6 and saved["counts"]["answer_problems"] == report.answer_problems
    assert saved["counts"]["truncated_turns"] == 2

    # No retry for an answer that will not change: one request for each failed turn.
    asked = Counter(
        next((q for q, t in turns.items() if body["messages"][0]["content"] == t[0]), None)
        for body in server.requests
    )
    assert asked == Counter({q: 2 if q <= 8 or q == 14 else 1 for q in turns})


def test_an_answer_cut_inside_its_reasoning_is_written_empty_and_counted(
    tmp_path: Path,
) -> None:
    """finish_reason=length with nothing after the reasoning (a model that thought until the
    budget ran out): the model's own failure, so it is written as an empty answer (and judged),
    never as its reasoning, and counted as cut."""
    from tagengo.llm.types import ChatResponse

    class Thinker:
        model_id = "thinker"

        def chat_many(self, requests: list, *, desc: str = "") -> list[ChatResponse]:
            return [
                ChatResponse(
                    content="",
                    finish_reason="length",
                    model="thinker",
                    reasoning="let me see",
                    output_tokens=8,
                )
                if "Think" in r.messages[-1][1]
                else ChatResponse(
                    content="An answer.", finish_reason="length", model="thinker", output_tokens=8
                )
                for r in requests
            ]

        def close(self) -> None: ...

    data = tmp_path / "en_set"
    data.mkdir()
    (data / "question.jsonl").write_text(
        '{"question_id": 1, "category": "writing", "turns": ["Think and get cut."]}\n'
        '{"question_id": 2, "category": "writing", "turns": ["Answer and get cut."]}\n'
    )
    bench = open_bench(data)
    cfg = AnswerConfig(llm=LLMConfig(backend="openai", model="thinker"), model_id="t", max_tokens=8)
    (report,) = answer_bench(bench, cfg, Thinker())
    assert report.failed == []
    rows = [json.loads(x) for x in bench.answer_path("t").read_text().splitlines()]
    assert [(r["question_id"], r["choices"][0]["turns"]) for r in rows] == [(1, [""]), (2, ["An answer."])]
    assert report.truncated_turns == 2 and report.answer_problems == {"unfinished": 2}


def test_the_console_says_per_model_how_many_turns_were_cut_filtered_and_failed(
    tmp_path: Path, judge_server
) -> None:
    """A newcomer's finding: cut and filtered turns were counted as answered. The console now
    names them per model, and its counts agree with each other and with the file."""
    from rich.console import Console

    turns = {
        1: ["Write about rain.", "Make it shorter."],
        2: ["Write about rain. FAULT=budget", "Make it shorter."],  # both turns cut, written
        3: ["Write about rain. FAULT=filteranswer", "Make it shorter."],
        4: ["Write about snow.", "Once more, FAULT=errorbody"],  # turn 1 fine, turn 2 fails
        5: ["FAILME at once.", "Never asked."],
    }
    data = tmp_path / "en_set"
    data.mkdir()
    (data / "question.jsonl").write_text(
        "".join(
            json.dumps({"question_id": q, "category": "writing", "turns": t}) + "\n" for q, t in turns.items()
        )
    )
    bench = open_bench(data)
    server = judge_server(echo)
    cfg = AnswerConfig(llm=server_llm(server, tmp_path, max_attempts=1), model_id="m", max_tokens=64)
    console = Console(record=True, width=400)
    with build_client(cfg.llm) as client:
        (report,) = answer_bench(bench, cfg, client, console=console)
    text = console.export_text()
    rows = bench.answer_path("m").read_text().splitlines()
    assert len(rows) == 2 == report.answered == report.answers_in_file
    assert "5 questions: 2 answered, 0 already there, 3 failed (not written)" in text
    assert "(2 answers in the file)" in text
    assert report.written_turns == 4 and report.truncated_turns == 2
    assert (
        "turns: 4 written (2 cut at the token limit); 1 filtered; 2 failed (1 call failed, 1 provider error)"
        in (text)
    ), text
    assert report.failed_turns == {"filtered": 1, "call failed": 1, "provider error": 1}
    saved = json.loads((bench.report_dir / "answer_m.json").read_text())["counts"]
    assert (saved["written_turns"], saved["truncated_turns"], saved["answers_in_file"]) == (4, 2, 2)
    assert saved["failed"] + saved["answered"] + saved["reused"] == saved["questions"] == 5


def test_a_run_whose_every_call_fails_writes_no_answer_file_and_stops(tmp_path: Path, judge_server) -> None:
    """A wrong model name or a refused request: no empty answer file for `bench judge` to read as
    "no answers"; the manifest lists the reasons and the run stops with the fix."""
    from tagengo.run.llm_stage import NoCallSucceeded

    data = tmp_path / "en_set"
    data.mkdir()
    (data / "question.jsonl").write_text(
        '{"question_id": 1, "category": "writing", "turns": ["FAILME one.", "Two."]}\n'
        '{"question_id": 2, "category": "stem", "turns": ["FAILME too."]}\n'
    )
    bench = open_bench(data)
    server = judge_server(echo)
    cfg = AnswerConfig(llm=server_llm(server, tmp_path, max_attempts=1), model_id="m")
    with build_client(cfg.llm) as client, pytest.raises(NoCallSucceeded) as err:
        answer_bench(bench, cfg, client)
    message = str(err.value)
    assert "no call to m succeeded (2 failed: 2 call failed" in message and "scripted failure" in message
    assert "Re-run once fixed" in message and "answer_m.json" in message
    assert not bench.answer_path("m").exists() and bench.models() == []
    saved = json.loads((bench.report_dir / "answer_m.json").read_text())
    assert saved["counts"]["failed"] == 2 and saved["counts"]["answers_in_file"] == 0

    # An earlier answer file is left as it was.
    bench.answer_path("m").parent.mkdir(parents=True, exist_ok=True)
    bench.answer_path("m").write_text("")
    with build_client(cfg.llm) as client, pytest.raises(NoCallSucceeded):
        answer_bench(bench, cfg.model_copy(update={"redo": True}), client)
    assert bench.answer_path("m").read_text() == ""


def test_a_looped_or_echoed_answer_is_the_models_own_and_is_written_for_the_judge(
    tmp_path: Path, judge_server
) -> None:
    """A loop to the end and the prompt sent back are the model's failures (tagengo.llm.answer
    MODEL_OWN): written and judged, as an empty answer is, and counted by kind; control characters
    (a broken stream) leave the turn out like any failure of the server."""
    turns = {
        1: ["Write about rain. FAULT=repetition", "Make it shorter."],
        2: ["Write a long story about the rain in spring. FAULT=echo", "Make it shorter."],
        3: ["Write about rain. FAULT=nul", "Make it shorter."],
    }
    data = tmp_path / "en_set"
    data.mkdir()
    (data / "question.jsonl").write_text(
        "".join(
            json.dumps({"question_id": q, "category": "writing", "turns": t}) + "\n" for q, t in turns.items()
        )
    )
    bench = open_bench(data)
    server = judge_server(echo)
    cfg = AnswerConfig(llm=server_llm(server, tmp_path, max_attempts=3), model_id="m", max_tokens=4096)
    with build_client(cfg.llm) as client:
        (report,) = answer_bench(bench, cfg, client)
    rows = {r["question_id"]: r for r in map(json.loads, bench.answer_path("m").read_text().splitlines())}
    assert sorted(rows) == [1, 2]
    assert rows[1]["choices"][0]["turns"][0].endswith("I will now explain it again in other words.")
    assert rows[2]["choices"][0]["turns"][0] == turns[2][0]
    assert [(f["question_id"], f["kind"]) for f in report.failed] == [(3, "control characters")]
    assert report.answer_problems == {"repetition": 1, "echo": 1, "control characters": 1}


def test_round_two_faults_written_clean_judged_as_the_models_own_or_left_out(
    tmp_path: Path, judge_server
) -> None:
    """A lone stop token and a JSON-encoded message are cleaned and written; a tool call as text is
    the model's own answer (judged, counted); leaks, a text completion and the passing faults
    (retried --max-attempts times) leave the turn out with the contract's kind."""
    kinds = (
        "stoptoken",
        "wrapped",
        "toolcall",
        "deepseekleak",
        "plainturn",
        "textfield",
        "abort",
        "ollamanull",
    )
    turns = {q: [f"Write about rain. FAULT={k}", "Make it shorter."] for q, k in enumerate(kinds, 1)}
    turns[9] = ["Write about snow.", "Make it shorter."]  # one clean question: the run is not all failures
    data = tmp_path / "en_set"
    data.mkdir()
    (data / "question.jsonl").write_text(
        "".join(
            json.dumps({"question_id": q, "category": "writing", "turns": t}) + "\n" for q, t in turns.items()
        )
    )
    bench = open_bench(data)
    server = judge_server(echo)
    cfg = AnswerConfig(llm=server_llm(server, tmp_path, max_attempts=3), model_id="m", max_tokens=4096)
    with build_client(cfg.llm) as client:
        (report,) = answer_bench(bench, cfg, client)
    rows = {r["question_id"]: r for r in map(json.loads, bench.answer_path("m").read_text().splitlines())}
    assert sorted(rows) == [1, 2, 3, 9]
    for q in (1, 2):
        assert rows[q]["choices"][0]["turns"][0] == f"reply 1 to: {turns[q][0][:30]}", q
    assert rows[3]["choices"][0]["turns"][0].startswith('{"name": "get_weather"')
    assert {f["question_id"]: f["kind"] for f in report.failed} == {
        4: "template leak", 5: "template leak", 6: "provider error", 7: "call failed", 8: "call failed",
    }  # fmt: skip
    assert report.answer_problems == {
        "tool call": 2,
        "template leak": 2,
        "provider error": 1,
        "call failed": 2,
    }
    asked = Counter(
        next(q for q, t in turns.items() if body["messages"][0]["content"] == t[0])
        for body in server.requests
    )
    assert asked == Counter({1: 2, 2: 2, 3: 2, 4: 1, 5: 1, 6: 1, 7: 3, 8: 3, 9: 2})


def test_the_other_faults_written_judged_or_left_out(tmp_path: Path, judge_server) -> None:
    """The rest of the kinds of tests/servers/answer_faults.py (``KINDS`` + ``RETRIED``): reasoning
    in the other formats split off and the answer written; a dated model name is the model asked;
    an answer in another language is written (bench judge's language gate scores it); a structured
    tool call is the model's own answer (tagengo.llm.answer MODEL_OWN: written empty, judged,
    counted); the server's faults leave the turn out with the contract's kind, after one request,
    or --max-attempts for the retried one; a refusal is ``call failed`` (a run whose every call is
    refused stops: tests/run/test_no_call_succeeded.py); another model than the one asked is written
    unless --require-served-model (tests/llm/test_served_model.py)."""
    kinds = ("harmony", "seedthink", "kimithink", "dated", "wronglang", "drift", "toolcallsfield",
             "templateleak", "instleak", "fffd", "contentnumber", "ollamaempty", "fallback", "refuse")  # fmt: skip
    turns = {q: [f"Write about rain. FAULT={k}", "Make it shorter."] for q, k in enumerate(kinds, 1)}
    turns[15] = ["Write about snow.", "Make it shorter."]
    data = tmp_path / "en_set"
    data.mkdir()
    (data / "question.jsonl").write_text(
        "".join(
            json.dumps({"question_id": q, "category": "writing", "turns": t}) + "\n" for q, t in turns.items()
        )
    )
    bench = open_bench(data)
    server = judge_server(echo)
    cfg = AnswerConfig(llm=server_llm(server, tmp_path, max_attempts=3), model_id="m", max_tokens=4096)
    with build_client(cfg.llm) as client:
        (report,) = answer_bench(bench, cfg, client)
    rows = {r["question_id"]: r for r in map(json.loads, bench.answer_path("m").read_text().splitlines())}
    assert sorted(rows) == [1, 2, 3, 4, 5, 6, 7, 13, 15]
    for q in (1, 2, 3, 4, 13):
        assert rows[q]["choices"][0]["turns"] == [
            f"reply 1 to: {turns[q][0][:30]}",
            "reply 3 to: Make it shorter.",
        ]
    assert rows[5]["choices"][0]["turns"][0].startswith("Rain forms when water vapour")
    assert rows[6]["choices"][0]["turns"][0].startswith("Regen entsteht,")
    assert rows[7]["choices"][0]["turns"] == ["", ""]
    failed = {f["question_id"]: f for f in report.failed}
    assert {q: f["kind"] for q, f in failed.items()} == {
        8: "template leak", 9: "template leak", 10: "replacement characters", 11: "provider error", 12: "call failed",
        14: "call failed",
    }  # fmt: skip
    assert failed[14]["error"].startswith("call failed: HTTP 400: Unsupported parameter: 'max_tokens'")
    assert failed[10]["error"].startswith(
        "replacement characters: 1 U+FFFD replacement character from the server"
    )
    assert (
        failed[11]["error"] == "provider error: malformed response: the message's content is int 42, not text"
    )
    assert failed[12]["error"].startswith(
        "call failed: the server sent no finish reason, no content and no completion tokens"
    )
    assert report.answer_problems == {
        "tool call": 2, "template leak": 2, "replacement characters": 1, "provider error": 1, "call failed": 2,
    }  # fmt: skip
    assert report.reconciles and (report.questions, report.answered) == (15, 9)
    asked = Counter(
        next(q for q, t in turns.items() if body["messages"][0]["content"] == t[0])
        for body in server.requests
    )
    assert asked == Counter({**dict.fromkeys(rows, 2), 8: 1, 9: 1, 10: 1, 11: 1, 12: 3, 14: 1})
