"""Win rates against a baseline (bench.arena): pair judgments made by a scripted judge over real
HTTP (``bench judge --mode pairwise-baseline``), then ``bench show``'s arena table, with every
number the judge's script fixes asserted exactly; the statistics on hand-made games."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from servers.scripted_judge import first_position, longer_better, marked_better
from tagengo.bench.arena import Game, fit_length_controlled, games_of, win_rates
from tagengo.bench.config import ShowConfig
from tagengo.bench.judge import judge_bench
from tagengo.bench.show import show
from tagengo.io.bench_layout import Bench, open_bench
from tagengo.io.fastchat import Answer, PairJudgment, write_answers
from tagengo.llm import build_client

N = 12  # questions of the toy set


def _bench(tmp_path: Path, answers: dict[str, list[str]]) -> Bench:
    """A Japanese single-turn question set of N questions, read from a path like any user's set,
    with the given answers per model."""
    folder = tmp_path / "ja_arena"
    folder.mkdir()
    qs = [
        {"question_id": i, "category": "writing", "turns": [f"質問{i}について短く書いてください。"]}
        for i in range(N)
    ]
    (folder / "question.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in qs))
    bench = open_bench(folder)
    for model, texts in answers.items():
        write_answers(
            bench.answer_path(model),
            [
                Answer(i, model, [{"index": 0, "turns": [t]}], f"{model}-{i}", 1.0)
                for i, t in enumerate(texts)
            ],
        )
    return bench


def _judge(bench: Bench, server: Any, judge_config: Any, **kw: Any) -> None:
    cfg = judge_config(server, mode="pairwise-baseline", baseline_model="base", **kw)
    with build_client(cfg.judge) as client:
        judge_bench(bench, cfg, client)


def _show(bench: Bench, tmp_path: Path, **kw: Any) -> dict[str, dict[str, str]]:
    out = tmp_path / "shown"
    res = show([bench], ShowConfig(mode="pairwise", bootstrap_iters=200, **kw), out)
    assert (out / "arena.md").exists() and res.arena is not None
    return {r["model"]: r for r in csv.DictReader((out / "arena.csv").open())}


# Same length in o200k tokens whatever the mark: the marked test is about the verdicts alone.
BASE = ["これは普通の答えです。"] * 10 + ["これはGOODな答えです。"] * 2
SFT = ["これはGOODな答えです。"] * 8 + ["これは普通の答えです。"] * 4


def test_win_rates_against_the_baseline_from_a_scripted_judge(tmp_path, judge_server, judge_config) -> None:
    """sft wins 8 questions in both orders, ties 2 (neither marked) and loses 2 (only the
    baseline marked): (16 + 4 * 0.5) / 24. A copy of the baseline's answers is the baseline
    judged against itself: every game a tie, 50% with no spread."""
    bench = _bench(tmp_path, {"base": BASE, "sft": SFT, "copy": list(BASE)})
    server = judge_server(marked_better())
    _judge(bench, server, judge_config)
    # Both orders of two models, less the prompts already sent: where the two replies are the
    # same text both orders are one request, which the client's cache answers.
    assert server.calls == 32
    rows = _show(bench, tmp_path)  # the baseline read from the judgments (model_2 of every row)
    sft, copy = rows["sft"], rows["copy"]
    assert sft["baseline"] == "base" and sft["games"] == "24" and sft["questions"] == "12"
    assert float(sft["win_rate"]) == pytest.approx(18 / 24, abs=1e-4)
    assert float(sft["win_rate_low"]) <= 0.75 <= float(sft["win_rate_high"])
    assert float(sft["win_rate_low"]) < float(sft["win_rate_high"])
    for key in (
        "win_rate",
        "win_rate_low",
        "win_rate_high",
        "lc_win_rate",
        "lc_win_rate_low",
        "lc_win_rate_high",
    ):
        assert float(copy[key]) == pytest.approx(0.5, abs=1e-4), key
    md = (tmp_path / "shown" / "arena.md").read_text()
    assert "## ja (baseline base)" in md and "| base (baseline) | 50.0 |" in md
    assert "| sft | 75.0 |" in md


def test_a_judge_that_only_prefers_the_first_position_gives_every_model_half(
    tmp_path, judge_server, judge_config
) -> None:
    """Both orders disagree on every question: a win and a loss, weighed as a tie."""
    bench = _bench(tmp_path, {"base": BASE, "sft": SFT})
    _judge(bench, judge_server(first_position), judge_config)
    rows = _show(bench, tmp_path, baseline_model="base")
    assert float(rows["sft"]["win_rate"]) == pytest.approx(0.5, abs=1e-4)
    assert float(rows["sft"]["win_rate_low"]) == pytest.approx(0.5, abs=1e-4)


def test_a_failed_verdict_drops_both_orders_of_its_question(tmp_path, judge_server, judge_config) -> None:
    sft = list(SFT)
    sft[0] = "FAIL"  # the judge's call fails for good on question 0, in both orders
    bench = _bench(tmp_path, {"base": BASE, "sft": sft})
    _judge(bench, judge_server(marked_better()), judge_config)
    rows = _show(bench, tmp_path)
    assert rows["sft"]["dropped"] == "1" and rows["sft"]["games"] == "22"
    assert float(rows["sft"]["win_rate"]) == pytest.approx(16 / 22, abs=1e-4)  # 7 wins, 2 ties, 2 losses


def test_length_control_removes_a_win_the_judge_gave_only_for_length(
    tmp_path, judge_server, judge_config
) -> None:
    """A judge that always prefers the longer reply; 'long' is longer on 9 questions of 12 and
    shorter on 3: 75% plain. The LC rate moves toward 50%; only part of the way, since where the
    longer reply wins every game the data cannot tell length from skill (the slope's weak prior
    decides how far: 66.6% here), which the large simulated set below shows going all the way."""
    base = ["答え" * 10] * N
    long = ["答え" * 30] * 9 + ["答え" * 3] * 3
    bench = _bench(tmp_path, {"base": base, "long": long, "copy": list(base)})
    _judge(bench, judge_server(longer_better), judge_config)
    rows = _show(bench, tmp_path)
    wr, lc = float(rows["long"]["win_rate"]), float(rows["long"]["lc_win_rate"])
    assert wr == pytest.approx(0.75, abs=1e-4)
    assert lc == pytest.approx(0.666, abs=2e-3) and lc < wr - 0.08
    assert float(rows["copy"]["lc_win_rate"]) == pytest.approx(0.5, abs=1e-4)


def test_show_writes_the_arena_table_beside_the_mt_bench_scores(tmp_path, judge_server, judge_config) -> None:
    """Single mode: scores.md as before, and arena.md where pairwise-baseline judgments exist."""
    bench = _bench(tmp_path, {"base": BASE, "sft": SFT})
    _judge(bench, judge_server(marked_better()), judge_config)
    single = judge_config(judge_server(lambda msgs: "Rating: [[7]]"))
    with build_client(single.judge) as client:
        judge_bench(bench, single, client)
    out = tmp_path / "both"
    res = show([bench], ShowConfig(bootstrap_iters=50, plots=False), out)
    assert (out / "scores.md").exists() and (out / "arena.md").exists()
    assert res.arena is not None and res.arena["ja"][1][0].model == "sft"
    files = json.loads((out / "provenance.json").read_text())["files"]
    assert sorted(Path(f["path"]).name for f in files) == ["judge-x_pair.jsonl", "judge-x_single.jsonl"]


# -- the statistics on their own --------------------------------------------------------------


def _pair(q: int, g1: str, g2: str, m1: str = "sft", m2: str = "base") -> PairJudgment:
    return PairJudgment(q, m1, m2, g1, g2, ("j", "pair-v2"))


def test_games_score_both_orders_and_either_seat() -> None:
    rows = [
        _pair(0, "model_1", "model_1"),  # consistent win
        _pair(1, "model_1", "model_2"),  # inconsistent: a win and a loss
        _pair(2, "tie", "tie"),
        _pair(3, "model_1", "model_1", m1="base", m2="sft"),  # the baseline in seat 1 wins
        _pair(4, "error", "model_1"),
    ]
    games, dropped = games_of(rows, "base", {})
    assert [(g.question, g.score) for g in games] == [
        ("0", 1.0),
        ("0", 1.0),
        ("1", 1.0),
        ("1", 0.0),
        ("2", 0.5),
        ("2", 0.5),
        ("3", 0.0),
        ("3", 0.0),
    ]
    assert dropped == {"sft": 1}
    (wr,) = win_rates(games, "base", dropped=dropped, n_boot=0)
    assert wr.win_rate == pytest.approx(4 / 8) and wr.games == 8 and wr.questions == 4 and wr.dropped == 1
    assert math.isnan(wr.low)


def test_bootstrap_is_reproducible_with_its_seed_and_holds_the_estimate() -> None:
    rng = np.random.default_rng(3)
    games = [Game(str(q), "sft", float(rng.random() < 0.6), 0.0) for q in range(80) for _ in range(2)]
    a = win_rates(games, "base", n_boot=300, seed=7)[0]
    b = win_rates(games, "base", n_boot=300, seed=7)[0]
    c = win_rates(games, "base", n_boot=300, seed=8)[0]
    assert a == b and (a.low, a.high) != (c.low, c.high)
    assert a.low < a.win_rate < a.high and a.lc_low < a.lc_win_rate < a.lc_high
    assert a.lc_win_rate == pytest.approx(a.win_rate, abs=1e-6)  # equal lengths: nothing to control


def test_a_judge_that_rewards_only_length_leaves_no_lc_edge() -> None:
    rng = np.random.default_rng(1)
    games = []
    for q in range(300):
        diff = float(rng.uniform(-0.3, 1.0))  # the model mostly writes longer
        p = 1 / (1 + math.exp(-(4 * diff)))  # the judge prefers longer answers, nothing else
        games.append(Game(str(q), "sft", float(rng.random() < p), diff))
    (wr,) = win_rates(games, "base", n_boot=100)
    assert wr.win_rate > 0.65
    assert abs(wr.lc_win_rate - 0.5) < 0.12 and wr.lc_low < 0.5 < wr.lc_high


def test_the_logistic_fit_recovers_known_coefficients() -> None:
    """Expected outcomes as soft labels: the fit returns the model coefficients exactly (the
    weak prior on the slope aside)."""
    diffs = np.tile(np.linspace(-1, 1, 401), 2)
    idx = np.repeat([0, 1], 401)
    coef = np.array([0.7, -0.4])
    scores = 1 / (1 + np.exp(-(coef[idx] + 2.0 * diffs)))
    assert fit_length_controlled(idx, diffs, scores, 2) == pytest.approx(coef, abs=2e-2)


def test_the_report_shows_the_win_rates_right_after_the_mt_bench_table(
    tmp_path, judge_server, judge_config
) -> None:
    from tagengo.bench.report_section import bench_sections

    bench = _bench(tmp_path, {"base": BASE, "sft": SFT})
    _judge(bench, judge_server(marked_better()), judge_config)
    single = judge_config(judge_server(lambda msgs: "Rating: [[7]]"))
    with build_client(single.judge) as client:
        judge_bench(bench, single, client)
    (section,) = bench_sections(bench.path)
    titles = [getattr(b, "title", "") for b in section.blocks]
    at = titles.index("Models × languages")
    assert titles[at + 1] == "Win rate against base · ja"
    table = section.blocks[at + 1]
    assert table.rows[0][:2] == ["sft", 75.0] and table.rows[0][7] == 24
    assert table.rows[-1][:2] == ["base (baseline)", 50.0]


def test_the_commands_judge_against_a_baseline_and_show_the_table(tmp_path, judge_server) -> None:
    """`bench judge --mode pairwise-baseline --baseline-model` then `bench show --mode pairwise`."""
    from click.testing import CliRunner

    from tagengo.bench.cli import command

    bench = _bench(tmp_path, {"base": BASE, "sft": SFT})
    server = judge_server(marked_better())
    judge = ["--judge-backend", "openai", "--judge-model", "jx", "--judge-base-url", server.url]
    runner = CliRunner()
    r = runner.invoke(
        command,
        [
            "judge",
            str(bench.path),
            *judge,
            "--judge-cache-path",
            str(tmp_path / "c.sqlite"),
            "--mode",
            "pairwise-baseline",
            "--baseline-model",
            "base",
        ],
    )
    assert r.exit_code == 0, r.output
    out = tmp_path / "out"
    r = runner.invoke(command, ["show", str(bench.path), "--mode", "pairwise", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "| sft | 75.0 |" in (out / "arena.md").read_text()
    assert "arena.md" in r.output


@pytest.mark.llm
@pytest.mark.slow
@pytest.mark.skipif(
    __import__("importlib").util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python (llm extra)"
)
def test_the_bundled_model_answers_judges_and_gets_a_win_rate(tmp_path) -> None:
    """The whole flow on the bundled 135M model (numbers meaningless, flow real): two 'models'
    (with and without a system prompt) answer 2 questions, the same model judges them against
    the baseline in both orders with constrained verdicts, and the table's counts reconcile."""
    from tagengo.bench.answer import answer_bench
    from tagengo.bench.config import AnswerConfig, JudgeConfig
    from tagengo.llm import LLMConfig

    bench = _bench(tmp_path, {})
    llm = LLMConfig(backend="llamacpp", cache_path=tmp_path / "c.sqlite", n_ctx=2048)
    with build_client(llm) as client:
        for name, system in (("base", None), ("sft", "Antworte sehr kurz.")):
            cfg = AnswerConfig(llm=llm, model_id=name, max_tokens=12, limit=2, system_prompt=system)
            answer_bench(bench, cfg, client)
        judge = JudgeConfig(
            judge=llm,
            mode="pairwise-baseline",
            baseline_model="base",
            judge_max_tokens=8,
            constrain_verdict=True,
        )
        judge_bench(bench, judge, client)
    rows = _show(bench, tmp_path)
    sft = rows["sft"]
    assert int(sft["games"]) + 2 * int(sft["dropped"]) == 2 * 2  # 2 questions, both orders
    assert 0.0 <= float(sft["win_rate_low"]) <= float(sft["win_rate"]) <= float(sft["win_rate_high"]) <= 1.0
