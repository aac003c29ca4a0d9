"""Judging against a scripted judge on 127.0.0.1: real HTTP through the client layer, with the
judge's replies chosen here (unreadable verdicts, out-of-range grades, failing calls, a
position-biased judge)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from servers.scripted_judge import ScriptedHTTPError
from tagengo.bench.judge import GATE_MARK, judge_bench
from tagengo.bench.prompts import REASK_SINGLE
from tagengo.io.bench_layout import Bench, open_bench
from tagengo.io.fastchat import Answer, read_pair_judgments, read_single_judgments, write_answers
from tagengo.llm import build_client


def _answers(bench: Bench, model: str, turns: dict[int | str, list[str]]) -> None:
    write_answers(
        bench.answer_path(model),
        [Answer(qid, model, [{"index": 0, "turns": t}], f"id-{qid}", 1.0) for qid, t in turns.items()],
    )


def _last_answer(messages: list[dict[str, str]]) -> str:
    """The answer under judgment: in our prompts it is the last thing before the grading line."""
    return next(m["content"] for m in messages if m["role"] == "user")


def grading_script(messages: list[dict[str, str]]) -> str:
    prompt = _last_answer(messages)
    judged = prompt.split("[Assistant, turn 2]")[-1] if "[Assistant, turn 2]" in prompt else prompt
    reasked = messages[-1]["content"] == REASK_SINGLE
    if "FAIL" in judged:
        raise ScriptedHTTPError(400, "scripted: this request always fails")
    if "MEH" in judged:
        return "Rating: [[5]]" if reasked else "It is fine, I suppose."
    if "HUGE" in judged:
        return "Rating: [[15]]"  # out of range every time
    if "GOOD" in judged:
        return "Thorough and correct. Rating: [[9]]"
    return "Weak. Rating: [[3]]"


@pytest.fixture
def toy(fixture_copy: Callable[[str], Path]) -> Bench:
    bench = open_bench(fixture_copy("mt_bench"))
    _answers(
        bench,
        "alpha",
        {
            1: ["GOOD haiku", "GOOD snow haiku"],
            2: ["51 GOOD", "MEH 510"],
            3: ["xs[::-1] GOOD", "HUGE"],
            4: ["FAIL", "GOOD"],
        },
    )
    _answers(bench, "beta", {1: ["plain", "plain too"], 2: ["50", "500"], 3: ["no idea", "none"]})  # no q4
    (bench.judgment_dir).mkdir(exist_ok=True)
    return bench


def _by_key(path: Path) -> dict[tuple, dict]:
    return {
        (r["question_id"], r["model"], r["turn"]): r for r in map(json.loads, path.read_text().splitlines())
    }


def test_single_grading_reasks_and_records_failures(toy: Bench, judge_server, judge_config) -> None:
    """The robust policy: unreadable and out-of-range verdicts are asked again."""
    server = judge_server(grading_script)
    cfg = judge_config(server, judge_policy="robust", reask=2, language_check=True)
    with build_client(cfg.judge) as client:
        (report,) = judge_bench(toy, cfg, client)
    rows = _by_key(toy.judgment_path("judge-x", "single"))
    assert rows[(1, "alpha", 1)]["score"] == 9
    assert rows[(1, "alpha", 1)]["judge"] == ["judge-x", "tagengo-single-v1"]
    assert rows[(2, "alpha", 1)]["judge"] == ["judge-x", "tagengo-single-ref-v1"]  # math gets the reference
    assert "[Reference solution (begin)]" not in rows[(2, "alpha", 1)]["user_prompt"]
    assert "### Reference solution (begin)\n51\n" in rows[(2, "alpha", 1)]["user_prompt"]
    t2 = rows[(1, "alpha", 2)]
    assert t2["judge"][1] == "tagengo-single-multi-v1"
    assert (
        "GOOD haiku" in t2["user_prompt"] and "GOOD snow haiku" in t2["user_prompt"]
    )  # the whole conversation
    # MEH: unreadable first, then a grade on the follow-up; the explanation stays in 'judgment'
    meh = rows[(2, "alpha", 2)]
    assert (
        meh["score"] == 5
        and meh["judgment"] == "It is fine, I suppose."
        and meh["reasks"] == ["Rating: [[5]]"]
    )
    # HUGE: 15 three times -> no grade
    huge = rows[(3, "alpha", 2)]
    assert huge["score"] == -1 and len(huge["reasks"]) == 2
    # FAIL: the call failed for good -> FastChat's $ERROR$ row with score -1
    fail = rows[(4, "alpha", 1)]
    assert fail["judgment"] == "$ERROR$" and fail["score"] == -1 and "400" in fail["error"]
    assert rows[(1, "beta", 1)]["score"] == 3
    assert (4, "beta", 1) not in rows
    assert report.matches == 14 and report.missing_answers == 2 and report.judged == 14 and report.reconciles
    assert report.replies == 14 and report.parse_failures_first == 2 and report.parse_failures_final == 1
    assert report.reasks == 3 and report.api_errors == 1 and report.failed_calls == 1
    assert report.parse_failure_rate == pytest.approx(2 / 14)
    assert server.calls == 14 + 3  # first calls and follow-ups; a 400 is not retried
    assert {r["policy"] for r in rows.values()} == {"robust"} and report.policy == "robust"


def test_default_policy_is_fastchat_exact(toy: Bench, judge_server, judge_config) -> None:
    """By default a reply is read once, as FastChat reads it: no follow-ups, no number -> -1,
    and a grade outside 1-10 is kept as given."""
    server = judge_server(grading_script)
    cfg = judge_config(server)
    assert cfg.judge_policy == "fastchat" and cfg.policy().reask == 0
    with build_client(cfg.judge) as client:
        (report,) = judge_bench(toy, cfg, client)
    rows = _by_key(toy.judgment_path("judge-x", "single"))
    assert rows[(2, "alpha", 2)]["score"] == -1 and "reasks" not in rows[(2, "alpha", 2)]  # MEH: no number
    assert rows[(3, "alpha", 2)]["score"] == 15  # HUGE: FastChat keeps [[15]]
    assert server.calls == 14 and report.reasks == 0  # one call per verdict
    assert report.parse_failures_first == report.parse_failures_final == 1 and report.out_of_range == 1
    assert {r["policy"] for r in rows.values()} == {"fastchat"}
    assert all(r["sample"] == 0 and len(r["request_key"]) == 64 for r in rows.values())
    with pytest.raises(ValueError, match="--judge-policy robust"):
        judge_config(server, reask=2)


def test_rerun_makes_no_calls_and_retries_only_errors(toy: Bench, judge_server, judge_config) -> None:
    state = {"fail": True}

    def script(messages):
        if "FAIL" in _last_answer(messages) and not state["fail"]:
            return "Fixed now. Rating: [[2]]"
        return grading_script(messages)

    server = judge_server(script)
    cfg = judge_config(server)
    with build_client(cfg.judge) as client:
        judge_bench(toy, cfg, client)
        path = toy.judgment_path("judge-x", "single")
        first = path.read_text()
        calls = server.calls
        (again,) = judge_bench(toy, cfg, client)
        assert server.calls == calls + 1  # only the $ERROR$ row is asked again (and fails again)
        assert again.kept == 13 and again.judged == 1
        state["fail"] = False
        (fixed,) = judge_bench(toy, cfg, client)
    assert server.calls == calls + 2
    assert fixed.kept == 13 and fixed.api_errors == 0
    rows = _by_key(path)
    assert rows[(4, "alpha", 1)]["score"] == 2
    before = _by_key_text(first)
    assert {k: v["score"] for k, v in rows.items() if k != (4, "alpha", 1)} == {
        k: v["score"] for k, v in before.items() if k != (4, "alpha", 1)
    }


def _by_key_text(text: str) -> dict[tuple, dict]:
    return {(r["question_id"], r["model"], r["turn"]): r for r in map(json.loads, text.splitlines())}


def test_warm_cache_rejudge_makes_no_calls(toy: Bench, judge_server, judge_config) -> None:
    server = judge_server(grading_script)
    cfg = judge_config(server)
    with build_client(cfg.judge) as client:
        judge_bench(toy, cfg, client)
    calls = server.calls
    cfg2 = cfg.model_copy(update={"rejudge": True})
    with build_client(cfg2.judge) as client:  # a new client: only the SQLite cache is shared
        (r,) = judge_bench(toy, cfg2, client)
    assert server.calls == calls + 1  # the 400 is not cached; everything else replays
    assert r.cached_calls == r.calls - 1


def test_language_gate_skips_the_judge(fixture_copy, judge_server, judge_config) -> None:
    bench = open_bench(fixture_copy("mt_bench_DE"))
    _answers(
        bench,
        "m",
        {
            "81_DE": [
                "Der Herbst färbt die Blätter golden und der Wind trägt sie fort.",
                "Im Herbst, da fällt das Laub, es wird zu Staub.",
            ],
            "101_DE": [
                "Eva is the smallest one of the three people in this question.",
                "Tom ist am größten.",
            ],
        },
    )
    server = judge_server(lambda msgs: "Bewertung: [[7]]")
    cfg = judge_config(server, gate={"enabled": True})
    with build_client(cfg.judge) as client:
        (report,) = judge_bench(bench, cfg, client)
    rows = {(r.key, r.turn): r for r in read_single_judgments(bench.judgment_path("judge-x", "single"))}
    gated = rows[("101_DE", 1)]
    assert gated.score == 1 and gated.judgment.startswith(GATE_MARK)
    assert gated.extra["gate"]["detected"] == "en" and gated.extra["gate"]["expected"] == "de"
    assert rows[("101_DE", 2)].score == 7 and rows[("81_DE", 1)].score == 7
    assert report.gated == 1 and report.judged == 3 and server.calls == 3
    # The English answer reached the judge only as context of the turn-2 conversation.
    seen = [
        m["content"]
        for req in server.requests
        for m in req["messages"]
        if "Eva is the smallest" in m["content"]
    ]
    assert len(seen) == 1 and "Tom ist am größten" in seen[0]
    # The bench's own translated prompts were used, and no language sentence was added to them.
    assert gated.judge == ("judge-x", "single-math-v1") and rows[("81_DE", 1)].judge == (
        "judge-x",
        "single-v1",
    )
    sys_prompts = {m["content"] for req in server.requests for m in req["messages"] if m["role"] == "system"}
    assert all("the user wrote in German" not in s for s in sys_prompts)


def _sentence_judge(messages: list[dict[str, str]]) -> str:
    """Grades 2 when the system prompt carries the language sentence, else 9."""
    return "[[2]]" if "the user wrote in German" in messages[0]["content"] else "[[9]]"


def test_our_prompts_carry_the_language_sentence(fixture_copy, judge_server, judge_config) -> None:
    """Resume, not --rejudge: switching the language check on must re-judge the verdicts the
    check-off run left (the system prompt is part of the judge request), and switching back
    replays the first verdicts from the request cache."""
    from tagengo.bench.prompts import default_prompts_path

    bench = open_bench(fixture_copy("mt_bench_DE"))
    _answers(bench, "m", {"81_DE": ["Ein Gedicht.", "Ein Reim."]})
    server = judge_server(_sentence_judge)
    path = bench.judgment_path("judge-x", "single")
    seen = []
    for check, calls, judged, score in ((False, 2, 2, 9), (True, 4, 2, 2), (True, 4, 0, 2), (False, 4, 2, 9)):
        cfg = judge_config(server, prompts=default_prompts_path(), language_check=check)
        with build_client(cfg.judge) as client:
            (report,) = judge_bench(bench, cfg, client)
        scores = [r.score for r in read_single_judgments(path)]
        seen.append((server.calls, report.judged, report.kept, scores))
        assert (server.calls, report.judged, scores) == (calls, judged, [score, score]), seen
        assert report.kept == 2 - judged
    on = [req for req in server.requests if "the user wrote in German" in req["messages"][0]["content"]]
    assert len(on) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"judge_temperature": 0.5},
        {"judge_max_tokens": 100},
        {"constrain_verdict": True},
        {"judge_policy": "robust"},
        {"judge_policy": "robust", "reask": 1},
        {"llm": {"model": "judge-y"}, "judge_name": "judge-x"},
    ],
    ids=["temperature", "max-tokens", "grammar", "policy", "reask", "judge-model"],
)
def test_a_verdict_is_reused_only_for_the_same_request(
    toy: Bench, judge_server, judge_config, change: dict
) -> None:
    server = judge_server(grading_script)
    cfg = judge_config(server, models=["beta"])  # beta: 6 verdicts, no failing calls
    with build_client(cfg.judge) as client:
        (first,) = judge_bench(toy, cfg, client)
        (same,) = judge_bench(toy, cfg, client)
    assert first.judged == 6 and same.kept == 6 and same.judged == 0
    keys = {r["request_key"] for r in _by_key(toy.judgment_path("judge-x", "single")).values()}
    llm = change.pop("llm", None)
    other = judge_config(server, llm=llm, models=["beta"], **change)
    with build_client(other.judge) as client:
        (again,) = judge_bench(toy, other, client)
    assert again.kept == 0 and again.judged == 6
    new_keys = {r["request_key"] for r in _by_key(toy.judgment_path("judge-x", "single")).values()}
    assert not keys & new_keys


def test_one_verdict_per_match_when_the_prompt_set_changes(fixture_copy, judge_server, judge_config) -> None:
    """Judging again with another prompt set under the same judge name replaces the verdicts
    (FastChat's judge field names the prompt; the match is question, model, turn, judge)."""
    from tagengo.bench.config import ShowConfig
    from tagengo.bench.prompts import default_prompts_path
    from tagengo.bench.show import show

    bench = open_bench(fixture_copy("mt_bench_DE"))
    _answers(bench, "m", {"81_DE": ["Ein Gedicht.", "Ein Reim."]})
    grade = {"n": 8}
    server = judge_server(lambda msgs: f"[[{grade['n']}]]")
    cfg = judge_config(server, prompts=default_prompts_path())
    with build_client(cfg.judge) as client:
        judge_bench(bench, cfg, client)
        grade["n"] = 2
        (second,) = judge_bench(bench, cfg.model_copy(update={"prompts": None}), client)  # the bench's own
    rows = read_single_judgments(bench.judgment_path("judge-x", "single"))
    assert [(r.turn, r.judge[1], r.score) for r in rows] == [
        (1, "single-v1", 2),
        (2, "single-v1-multi-turn", 2),
    ]
    assert second.judged == 2 and second.kept == 0
    out = show([bench], ShowConfig(plots=False, bootstrap_iters=0), bench.path / "report")
    assert out.single is not None and out.single.overall["m"]["de"].estimate == 2.0


def test_duplicates_in_a_file_are_judged_again_and_written_once(
    toy: Bench, judge_server, judge_config
) -> None:
    server = judge_server(grading_script)
    cfg = judge_config(server, models=["beta"], limit=1)
    path = toy.judgment_path("judge-x", "single")
    with build_client(cfg.judge) as client:
        judge_bench(toy, cfg, client)
        lines = path.read_text().splitlines()
        twin = json.loads(lines[0])
        twin.update(judge=["judge-x", "other-prompt"], score=1)
        path.write_text("\n".join([*lines, json.dumps(twin)]) + "\n")
        (again,) = judge_bench(toy, cfg, client)
    rows = read_single_judgments(path)
    assert len(rows) == 2 and again.duplicates_replaced == 1 and again.judged == 1 and again.kept == 1
    assert [r.score for r in rows] == [3, 3]


def test_pairwise_plays_both_orders(toy: Bench, judge_server, judge_config) -> None:
    def fair(messages):
        prompt = _last_answer(messages)
        a = prompt.split("assistant A (begin)")[1].split("assistant A (end)")[0]
        b = prompt.split("assistant B (begin)")[1].split("assistant B (end)")[0]
        if ("GOOD" in a) == ("GOOD" in b):
            return "Both similar. [[C]]"
        return "[[A]]" if "GOOD" in a else "[[B]]"

    server = judge_server(fair)
    cfg = judge_config(server, mode="pairwise-all", limit=1)
    with build_client(cfg.judge) as client:
        (report,) = judge_bench(toy, cfg, client)
    rows = read_pair_judgments(toy.judgment_path("judge-x", "pair"))
    assert [(r.turn, r.g1_winner, r.g2_winner) for r in rows] == [
        (1, "model_1", "model_1"),
        (2, "model_1", "model_1"),
    ]
    r = rows[0]
    assert r.g1_user_prompt.index("GOOD haiku") < r.g1_user_prompt.index("plain")  # game 1: alpha is A
    assert r.g2_user_prompt.index("plain") < r.g2_user_prompt.index("GOOD haiku")  # game 2: beta is A
    assert report.position_consistency == 1.0 and server.calls == 4


def test_position_biased_judge_gives_ties(toy: Bench, judge_server, judge_config) -> None:
    server = judge_server(lambda msgs: "The first one. [[A]]")
    cfg = judge_config(server, mode="pairwise-baseline", baseline_model="beta", limit=2)
    with build_client(cfg.judge) as client:
        (report,) = judge_bench(toy, cfg, client)
    rows = read_pair_judgments(toy.judgment_path("judge-x", "pair"))
    assert len(rows) == 4 and all((r.g1_winner, r.g2_winner) == ("model_1", "model_2") for r in rows)
    assert all(r.outcome() == "tie" for r in rows)
    assert report.position_consistency == 0.0
    assert rows[2].judge == ("judge-x", "tagengo-pair-ref-v1")  # q2 is math


def test_repeated_runs_use_new_seeds_and_files(toy: Bench, judge_server, judge_config) -> None:
    server = judge_server(grading_script)
    cfg = judge_config(server, runs=2, limit=1, models=["alpha"])
    with build_client(cfg.judge) as client:
        reports = judge_bench(toy, cfg, client)
    assert [r.run for r in reports] == [1, 2]
    assert toy.judgment_path("judge-x", "single", 2).name == "judge-x_single.run2.jsonl"
    assert toy.judgment_path("judge-x", "single", 2).exists()
    seeds = sorted({req.get("seed") for req in server.requests}, key=str)
    assert seeds == [2, None] or seeds == [None, 2]
    assert server.calls == 4
    assert all("sample" not in req for req in server.requests)  # an index for the key, never sent
    run1 = _by_key(toy.judgment_path("judge-x", "single"))
    run2 = _by_key(toy.judgment_path("judge-x", "single", 2))
    assert {r["sample"] for r in run1.values()} == {0} and {r["sample"] for r in run2.values()} == {1}
    assert not {r["request_key"] for r in run1.values()} & {r["request_key"] for r in run2.values()}


def test_runs_are_independent_samples_even_without_seeds(toy: Bench, judge_server, judge_config) -> None:
    """A backend that ignores seeds still gets a call per run: the sample index is in the
    cache key, so run 2 is never run 1 replayed from the cache."""
    from tagengo.llm.types import ChatRequest

    server = judge_server(grading_script)
    cfg = judge_config(server, runs=3, limit=1, models=["beta"])
    with build_client(cfg.judge) as client:
        judge_bench(toy, cfg, client)
    assert server.calls == 2 * 3
    a = ChatRequest.from_messages([{"role": "user", "content": "x"}])
    assert a.key("m") != ChatRequest.from_messages([{"role": "user", "content": "x"}], sample=1).key("m")


def test_missing_references_are_judged_without_one_and_named(
    fixture_copy, judge_server, judge_config
) -> None:
    """reference_answer/gpt-4.jsonl covers only turn 1 of question 2: turn 2 gets the
    no-reference prompt (never a reference prompt with an empty reference), is counted, and
    one warning names the file and the question."""
    import io

    from rich.console import Console

    bench = open_bench(fixture_copy("mt_bench"))
    ref = bench.reference_dir / "gpt-4.jsonl"
    ref.write_text(
        '{"question_id": 2, "answer_id": "r2", "model_id": "gpt-4", "choices": [{"index": 0, "turns": ["51"]}]}\n'
        '{"question_id": 3, "answer_id": "r3", "model_id": "gpt-4", "choices": [{"index": 0, "turns": ["a", ""]}]}\n'
    )
    _answers(bench, "m", {2: ["51", "510"], 3: ["xs[::-1]", "list(reversed(xs))"]})
    server = judge_server(lambda msgs: "[[7]]")
    cfg = judge_config(server, runs=2)
    buf = io.StringIO()
    with build_client(cfg.judge) as client:
        reports = judge_bench(bench, cfg, client, console=Console(file=buf, width=2000))
    rows = {(r.key, r.turn): r for r in read_single_judgments(bench.judgment_path("judge-x", "single"))}
    assert rows[("2", 1)].judge[1] == "tagengo-single-ref-v1"
    assert (
        rows[("2", 2)].judge[1] == "tagengo-single-multi-v1" and "Reference" not in rows[("2", 2)].user_prompt
    )
    assert rows[("3", 2)].judge[1] == "tagengo-single-multi-v1"  # an empty reference is no reference
    assert all(r.no_reference == 2 for r in reports)
    assert reports[0].no_reference_questions == ["2 turn 2", "3 turn 2"]
    text = buf.getvalue()
    assert text.count("no reference for") == 1 and str(ref) in text and "Question ids: 2, 3" in text
    saved = json.loads((bench.report_dir / "judge_judge-x_single.json").read_text())
    assert saved["counts"]["no_reference"] == 2
    with build_client(cfg.judge) as client, pytest.warns(UserWarning, match="no reference for 2 turn"):
        judge_bench(bench, cfg, client)  # no console: a Python warning


def test_position_consistency_leaves_out_gated_pairs(fixture_copy, judge_server, judge_config) -> None:
    bench = open_bench(fixture_copy("mt_bench_DE"))
    german = [
        "Ein Gedicht über den Herbst und die fallenden Blätter.",
        "Der Wind weht kalt und die Blätter fallen.",
    ]
    _answers(
        bench,
        "a",
        {"81_DE": german, "101_DE": ["Eva ist am kleinsten von allen dreien.", "Tom ist am größten."]},
    )
    _answers(
        bench,
        "b",
        {
            "81_DE": german,
            "101_DE": [
                "Eva is the smallest one of the three people in this question.",
                "Tom ist am größten.",
            ],
        },
    )
    from tagengo.bench.prompts import default_prompts_path

    server = judge_server(lambda msgs: "[[A]]")  # always the first: inconsistent on every judged pair
    cfg = judge_config(server, mode="pairwise-all", gate={"enabled": True}, prompts=default_prompts_path())
    with build_client(cfg.judge) as client:
        (report,) = judge_bench(bench, cfg, client)
    assert report.gated == 1 and report.judged == 3
    assert report.pairs_without_error == 3 and report.consistent_pairs == 0
    assert report.position_consistency == 0.0


@pytest.mark.llm
@pytest.mark.skipif(
    __import__("importlib").util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python (llm extra)"
)
def test_bundled_model_as_judge(toy: Bench, tmp_path: Path) -> None:
    """The 135M model is a poor judge: whatever it replies, every verdict ends up as a grade in
    1-10 or -1, each unreadable first reply was followed up, and the counts reconcile."""
    from tagengo.bench.config import JudgeConfig
    from tagengo.llm import LLMConfig

    cfg = JudgeConfig(
        judge=LLMConfig(backend="llamacpp", cache_path=tmp_path / "c.sqlite", n_ctx=2048),
        models=["alpha"],
        limit=1,
        judge_max_tokens=12,
        judge_policy="robust",
        reask=1,
    )
    with build_client(cfg.judge) as client:
        (report,) = judge_bench(toy, cfg, client)
    rows = read_single_judgments(toy.judgment_path(report.judge, "single"))
    assert report.judge.startswith("SmolLM2-135M") and len(rows) == 2 and report.reconciles
    assert all(r.score == -1 or 1 <= r.score <= 10 for r in rows)
    assert report.reasks == report.parse_failures_first
    assert report.parse_failures_final == sum(r.score == -1 for r in rows)


@pytest.mark.llm
@pytest.mark.skipif(
    __import__("importlib").util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python (llm extra)"
)
def test_constrained_verdicts_make_the_bundled_judge_readable(toy: Bench, tmp_path: Path) -> None:
    """With --constrain-verdict a grammar makes the 135M model's whole reply a verdict: every
    single grade parses at once (no re-asks), in both turns, and pairwise verdicts are A/B/tie."""
    from tagengo.bench.config import JudgeConfig
    from tagengo.llm import LLMConfig

    llm = LLMConfig(backend="llamacpp", cache_path=tmp_path / "c.sqlite", n_ctx=2048)
    cfg = JudgeConfig(
        judge=llm,
        models=["alpha"],
        limit=1,
        judge_max_tokens=8,
        judge_policy="robust",
        reask=1,
        constrain_verdict=True,
    )
    with build_client(cfg.judge) as client:
        (report,) = judge_bench(toy, cfg, client)
        rows = read_single_judgments(toy.judgment_path(report.judge, "single"))
        assert len(rows) == 2 and report.reconciles
        assert all(1 <= r.score <= 10 for r in rows)
        assert all(re.fullmatch(r"\[\[(10|[1-9])\]\]", r.judgment) for r in rows)
        assert report.parse_failures_first == 0 and report.reasks == 0

        pair_cfg = cfg.model_copy(update={"mode": "pairwise-all", "models": [], "limit": 1})
        judge_bench(toy, pair_cfg, client)
        pairs = read_pair_judgments(toy.judgment_path(report.judge, "pair"))
        assert pairs and all(r.g1_winner in ("model_1", "model_2", "tie") for r in pairs)


def test_unreadable_pair_verdicts_are_errors_but_not_asked_again(
    toy: Bench, judge_server, judge_config
) -> None:
    server = judge_server(lambda msgs: "Both have merits; hard to say.")
    cfg = judge_config(server, mode="pairwise-all", limit=1, judge_policy="robust", reask=1)
    with build_client(cfg.judge) as client:
        (first,) = judge_bench(toy, cfg, client)
        rows = read_pair_judgments(toy.judgment_path("judge-x", "pair"))
        assert all((r.g1_winner, r.g2_winner) == ("error", "error") for r in rows)
        assert all(r.g1_judgment == "Both have merits; hard to say." for r in rows)
        assert first.parse_failures_first == 4 and first.reasks == 4 and first.parse_failures_final == 4
        calls = server.calls
        (again,) = judge_bench(toy, cfg, client)
    assert server.calls == calls == 8 and again.kept == 2


def test_judge_run_manifest_and_show_provenance(
    toy: Bench, judge_server, judge_config, tmp_path: Path
) -> None:
    from tagengo.bench.config import ShowConfig
    from tagengo.bench.show import show

    server = judge_server(grading_script)
    cfg = judge_config(server)
    with build_client(cfg.judge) as client:
        judge_bench(toy, cfg, client)
    manifest_path = toy.report_dir / "judge_judge-x_single.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["stage"] == "bench judge" and manifest["config"]["judge_policy"] == "fastchat"
    assert "tagengo" in manifest["versions"] and manifest["started_at"] <= manifest["finished_at"]
    counts = manifest["counts"]
    assert (counts["judged"], counts["reused"], counts["gated"], counts["calls"]) == (14, 0, 0, 14)
    assert {"parse_failures_first", "reasks", "input_tokens", "output_tokens", "cost"} <= set(counts)
    out = show([toy], ShowConfig(plots=False, bootstrap_iters=0, judge_model="judge-x"), tmp_path / "r")
    prov = json.loads((tmp_path / "r" / "provenance.json").read_text())
    assert prov["policies"] == {"fastchat": 14} and prov["files"][0]["manifest"] == str(manifest_path)
    assert "Judge policy: fastchat (14 rows)." in (tmp_path / "r" / "scores.md").read_text()
    assert out.single is not None


def _wording_judge(messages: list[dict[str, str]]) -> str:
    """Grades by the language sentence in the system prompt: strict 2 (pairs: B), consider 6
    (pairs: A), none 9 (pairs: tie)."""
    system = messages[0]["content"] if messages[0]["role"] == "system" else ""
    pair = "A and B" in system
    if "grade it low" in system or "must lose" in system:
        return "[[B]]" if pair else "[[2]]"
    if "Besides the points above" in system:
        return "[[A]]" if pair else "[[6]]"
    return "[[C]]" if pair else "[[9]]"


def test_language_wording_is_sent_and_recorded(
    fixture_copy, judge_server, judge_config, tmp_path: Path
) -> None:
    """issue #23 item 7: the wording of the language sentence moves the numbers, so each verdict
    records the wording that produced it (rows, run manifest, show's tables and provenance)."""
    from tagengo.bench.config import ShowConfig
    from tagengo.bench.prompts import LANGUAGE_WORDINGS, default_prompts_path
    from tagengo.bench.show import show

    bench = open_bench(fixture_copy("mt_bench_DE"))
    _answers(bench, "m", {"81_DE": ["Ein Gedicht.", "Ein Reim."]})
    server = judge_server(_wording_judge)
    path = bench.judgment_path("judge-x", "single")
    manifest = bench.report_dir / "judge_judge-x_single.json"
    seen = {}
    for wording, score in (("strict", 2), ("consider", 6)):
        cfg = judge_config(server, prompts=default_prompts_path(), language_wording=wording)
        with build_client(cfg.judge) as client:
            (report,) = judge_bench(bench, cfg, client)
        rows = read_single_judgments(path)
        assert report.judged == 2 and [r.score for r in rows] == [score, score]
        assert [r.extra["language_wording"] for r in rows] == [wording, wording]
        m = json.loads(manifest.read_text())
        assert m["config"]["language_wording"] == wording
        assert m["counts"]["language_wordings"] == {wording: 2}
        seen[wording] = show([bench], ShowConfig(plots=False, bootstrap_iters=0), tmp_path / wording)
        assert f"Language sentence: {wording} (2 rows)." in (tmp_path / wording / "scores.md").read_text()
        prov = json.loads((tmp_path / wording / "provenance.json").read_text())
        assert prov["language_wordings"] == {wording: 2}
    systems = [req["messages"][0]["content"] for req in server.requests]
    for wording in ("strict", "consider"):
        sentence = LANGUAGE_WORDINGS[wording]["single"].replace("{language}", "German")
        assert sum(s.endswith(sentence) for s in systems) == 2
    # The same bench's own translated prompts take no sentence: their verdicts say so.
    cfg = judge_config(server, language_wording="consider")
    with build_client(cfg.judge) as client:
        judge_bench(bench, cfg, client)
    assert {r.extra["language_wording"] for r in read_single_judgments(path)} == {"as written"}
    cfg = judge_config(server, prompts=default_prompts_path(), language_check=False)
    with build_client(cfg.judge) as client:
        judge_bench(bench, cfg, client)
    assert {r.extra["language_wording"] for r in read_single_judgments(path)} == {"off"}


def test_pair_verdicts_record_the_wording(toy: Bench, judge_server, judge_config) -> None:
    from tagengo.bench.prompts import default_prompts_path

    server = judge_server(_wording_judge)
    cfg = judge_config(
        server, mode="pairwise-all", prompts=default_prompts_path(), language_wording="consider", limit=1
    )
    with build_client(cfg.judge) as client:
        (report,) = judge_bench(
            toy,
            cfg,
            client,
        )
    rows = read_pair_judgments(toy.judgment_path("judge-x", "pair"))
    assert rows and {r.extra["language_wording"] for r in rows} == {"consider"}
    assert {(r.g1_winner, r.g2_winner) for r in rows} == {("model_1", "model_2")}  # [[A]] in both orders
    assert report.language_wordings == {"consider": len(rows)}


def test_verdicts_without_a_recorded_wording_get_it_on_a_rerun_without_calls(
    fixture_copy, judge_server, judge_config
) -> None:
    from tagengo.bench.prompts import default_prompts_path

    bench = open_bench(fixture_copy("mt_bench_DE"))
    _answers(bench, "m", {"81_DE": ["Ein Gedicht.", "Ein Reim."]})
    server = judge_server(_wording_judge)
    cfg = judge_config(server, prompts=default_prompts_path())
    path = bench.judgment_path("judge-x", "single")
    with build_client(cfg.judge) as client:
        judge_bench(bench, cfg, client)
        old = [json.loads(x) for x in path.read_text().splitlines()]
        for r in old:  # as a tagengo that did not record wordings wrote them
            del r["language_wording"]
        path.write_text("".join(json.dumps(r) + "\n" for r in old))
        calls = server.calls
        (again,) = judge_bench(bench, cfg, client)
    assert server.calls == calls and again.kept == 2 and again.judged == 0
    assert [r.extra["language_wording"] for r in read_single_judgments(path)] == ["strict", "strict"]
