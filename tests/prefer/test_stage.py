"""`tagengo prefer` end to end against the scripted server (real HTTP): sampling, answers, the
language check, the judge's re-asks and rejections, pairs, counts and the TRL files."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tagengo.errors import ConfigError
from tagengo.llm.ranking_prompts import JUDGE_SYSTEM
from tagengo.prefer.config import PreferConfig
from tagengo.prefer.stage import prefer
from tagengo.run.dataset import read_records, read_table

from .conftest import SENTENCES, reply, scripted_judge, scripted_model, write_prompts

PROMPTS = [
    ("e1", "en", "Name three fruits."),
    ("e2", "en", "What colour is the sky? GARBLE-ONCE"),
    ("e3", "en", "Say hello to a friend. GARBLE-ALWAYS"),
    ("d1", "de", "Wie wird das Wetter morgen in Berlin?"),
    ("f1", "fr", "Bonjour, que faire à Paris ?"),
    ("f2", "fr", "Bonjour, quel vin avec du fromage ?"),
    ("f3", "fr", "Bonjour, comment apprendre le piano ?"),
    ("f4", "fr", "Bonjour, où trouver du bon pain ?"),
]


def _config(server, tmp_path, **kw):
    cache = tmp_path / "cache.sqlite"
    return PreferConfig(
        models=[scripted_model(server, r, cache) for r in ("plain", "best", "weak")],
        judge=scripted_judge(server, cache),
        per_language=3,
        **kw,
    )


def _judge_requests(server):
    return [r for r in server.requests if r["model"] == "judge"]


def test_prefer_end_to_end(prefer_server, tmp_path):
    server = prefer_server()
    src = write_prompts(tmp_path / "prompts.jsonl", PROMPTS)
    result = prefer(src, tmp_path / "out", _config(server, tmp_path))
    m = result.manifest

    # Counts reconcile: 8 in; French capped to 3; e3 has no ranking after the re-asks.
    assert m["counts"]["read"] == 8 and m["counts"]["kept"] + m["counts"]["rejected"] == 8
    rejected = {r["id"]: (r["step"], r["reason"]) for r in read_table(result.out, "rejected").to_pylist()}
    assert sum(1 for s, _ in rejected.values() if s == "per_language_cap") == 1
    assert rejected["e3"] == (
        "rank",
        "no valid ranking after 2 re-asks: no line starting with 'Ranking:'",
    )
    rows = {r.id: r for r in read_records(result.out)}
    assert set(rows) | set(rejected) == {p[0] for p in PROMPTS} and len(rows) == 6

    # Best vs worst: BEST wins; WEAK loses (the judge ranked it last, or the language check did).
    for row in rows.values():
        pref = row.meta["preference"]
        assert pref["pairs"] == [
            {"chosen": "best", "rejected": "weak", "chosen_rank": 1, "rejected_rank": len(pref["ranked"])}
        ]
        assert row.messages[-1] == {"role": "assistant", "content": "BEST " + SENTENCES[row.language]}

    # e2: the first reply had no ranking, the re-ask in the same conversation had one.
    e2 = rows["e2"].meta["preference"]
    assert len(e2["judge"]["replies"]) == 2 and e2["ranked"] == [["best"], ["plain"], ["weak"]]
    reask = [r for r in _judge_requests(server) if "GARBLE-ONCE" in r["messages"][1]["content"]]
    assert [len(r["messages"]) for r in reask] == [2, 4]
    assert "no line starting with 'Ranking:'" in reask[1]["messages"][3]["content"]

    # d1 (German): WEAK answered in English, so it is ranked last without being shown to the judge.
    d1 = rows["d1"].meta["preference"]
    assert d1["wrong_language"] == ["weak"]
    assert d1["ranked"][-1] == ["weak"] and d1["ranked"][:-1] == [["best"], ["plain"]]
    assert d1["answers"][2]["language"]["detected"] == "en"
    d1_judge = [r for r in _judge_requests(server) if "Wetter" in r["messages"][1]["content"]]
    assert len(d1_judge) == 1 and "WEAK" not in d1_judge[0]["messages"][1]["content"]
    assert sorted(d1["labels"].values()) == ["best", "plain"]
    # English prompts: WEAK's English answer is the right language and goes to the judge.
    assert rows["e1"].meta["preference"]["wrong_language"] == []
    assert sorted(rows["e1"].meta["preference"]["labels"].values()) == ["best", "plain", "weak"]

    # TRL files: conversational for every pair, standard for single-turn prompts.
    conv = [
        json.loads(line) for line in (result.out / "pairs" / "conversational.jsonl").read_text().splitlines()
    ]
    std = [json.loads(line) for line in (result.out / "pairs" / "standard.jsonl").read_text().splitlines()]
    assert len(conv) == len(std) == 6
    by_id = {p["id"]: p for p in conv}
    assert by_id["d1#0"]["prompt"] == [{"role": "user", "content": "Wie wird das Wetter morgen in Berlin?"}]
    assert by_id["d1#0"]["chosen"][0]["content"].startswith("BEST")
    assert by_id["d1#0"]["rejected"] == [{"role": "assistant", "content": "WEAK " + SENTENCES["en"]}]
    assert {"ranking", "reasons", "permutation", "models"} <= set(by_id["e1#0"]["meta"])
    assert {p["prompt"] for p in std} >= {"Name three fruits."}

    # A re-run with the same config does nothing and makes no call.
    calls = server.calls
    again = prefer(src, tmp_path / "out", _config(server, tmp_path))
    assert again.up_to_date and server.calls == calls


def test_all_pairs_above_a_margin(prefer_server, tmp_path):
    server = prefer_server()
    src = write_prompts(tmp_path / "prompts.jsonl", PROMPTS[:1])
    result = prefer(src, tmp_path / "out", _config(server, tmp_path, pairs="all", margin=1))
    pairs = read_records(result.out)[0].meta["preference"]["pairs"]
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [
        ("best", "plain"),
        ("best", "weak"),
        ("plain", "weak"),
    ]
    wide = prefer(src, tmp_path / "out2", _config(server, tmp_path, pairs="all", margin=2))
    assert [(p["chosen"], p["rejected"]) for p in read_records(wide.out)[0].meta["preference"]["pairs"]] == [
        ("best", "weak")
    ]
    none = prefer(src, tmp_path / "out3", _config(server, tmp_path, pairs="all", margin=3))
    assert none.manifest["counts"]["kept"] == 0
    (reason,) = read_table(none.out, "rejected").column("reason").to_pylist()
    assert reason == "no preference pair: no two answers 3 or more ranks apart"


def test_ties_make_no_pair(prefer_server, tmp_path):
    server = prefer_server()
    cache = tmp_path / "cache.sqlite"
    cfg = PreferConfig(
        models=[
            scripted_model(server, "plain", cache, name=n, temperature=t)
            for n, t in (("p1", 0.0), ("p2", 0.5))
        ],
        judge=scripted_judge(server, cache),
    )
    result = prefer(write_prompts(tmp_path / "p.jsonl", PROMPTS[:1]), tmp_path / "out", cfg)
    assert result.manifest["counts"]["kept"] == 0
    (row,) = read_table(result.out, "rejected").to_pylist()
    assert row["reason"] == "no preference pair: every answer ranked equal"


def test_one_model_is_refused(prefer_server, tmp_path):
    server = prefer_server()
    cfg = PreferConfig(models=[scripted_model(server, "plain", tmp_path / "c.sqlite")])
    with pytest.raises(ConfigError, match="two or more answering models"):
        prefer(write_prompts(tmp_path / "p.jsonl", PROMPTS[:1]), tmp_path / "out", cfg)


def test_off_a_terminal_answers_and_ranking_report_progress_as_lines(
    prefer_server, tmp_path, capsys, log_progress
):
    from progress_checks import assert_progress_lines

    # 60 prompts: 180 answers (3 models, 4 calls at a time each), then 60 rankings (4 at a time),
    # every reply at least 50 ms: each phase lasts at least 0.75 s, past the 0.2 s interval.
    log_progress(0.2)
    server = prefer_server(latency_s=0.05)
    cache = tmp_path / "cache.sqlite"
    models = [scripted_model(server, r, cache) for r in ("plain", "best", "weak")]
    judge = scripted_judge(server, cache)
    for llm in (*(m["llm"] for m in models), judge):
        llm["concurrency"] = 4
    src = write_prompts(tmp_path / "p.jsonl", [(f"e{i}", "en", f"Name fruit number {i}.") for i in range(60)])
    result = prefer(src, tmp_path / "out", PreferConfig(models=models, judge=judge, per_language=100))
    assert result.manifest["counts"]["read"] == 60
    err = capsys.readouterr().err
    lines = assert_progress_lines(err, "prefer answer", 180)
    assert "plain 60/60, best 60/60, weak 60/60" in lines[-1]
    assert_progress_lines(err, "rank", 60)


def _digests(folder) -> dict[str, str]:
    import hashlib

    files = [
        p for sub in ("data", "rejected", "quarantine") for p in sorted((folder / sub).glob("*.parquet"))
    ]
    files += sorted((folder / "pairs").glob("*.jsonl"))
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.mark.slow  # starts a local Ray instance
def test_ray_executor_writes_the_same_folder(prefer_server, tmp_path):
    """``executor="ray"`` with 2 actors: the answers and the judge's rankings (re-asks included)
    are called from the actors, the sample, language check and pairs decided in the driver; the
    dataset and the TRL pair files are the bytes of the local run. Each run has its own request
    cache, so the actors really call."""
    server = prefer_server()
    src = write_prompts(tmp_path / "prompts.jsonl", PROMPTS)

    def run(executor: str) -> dict:
        cache = tmp_path / f"{executor}.sqlite"
        cfg = PreferConfig(
            models=[scripted_model(server, r, cache) for r in ("plain", "best", "weak")],
            judge=scripted_judge(server, cache),
            per_language=3,
        )
        kw = {"executor": "ray", "workers": 2} if executor == "ray" else {}
        return prefer(src, tmp_path / executor, cfg, progress=False, **kw).manifest

    local = run("local")
    calls = len(server.requests)
    ray = run("ray")
    assert len(server.requests) == 2 * calls  # every call again, from the actors
    assert ray["executor"] == "ray" and ray["workers"] == 2
    assert ray["counts"] == local["counts"] and local["counts"]["rejected"] > 0
    assert ray["pairs"] == local["pairs"] and local["pairs"]["pairs"] > 0
    assert _digests(tmp_path / "ray") == _digests(tmp_path / "local")


def _position_biased(messages: list[dict[str, str]]) -> str:
    """A judge that always prefers the answer shown first, whatever it says (position bias),
    and the scripted models otherwise."""
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    if system.startswith(JUDGE_SYSTEM.split("{")[0][:60]):
        return "A: fine.\nB: fine.\nRanking: A>B"
    return reply(messages)


def test_two_answers_of_the_same_text_make_no_pair_whatever_the_judge_says(prefer_server, tmp_path):
    """Two models that answer the very same text (here both 'plain'), and a judge that ranks
    them apart all the same: no pair, in prefer, with the countable reason."""
    server = prefer_server(_position_biased)
    cache = tmp_path / "cache.sqlite"
    cfg = PreferConfig(
        models=[
            scripted_model(server, "plain", cache, name=n, temperature=t)
            for n, t in (("p1", 0.0), ("p2", 0.5))
        ],
        judge=scripted_judge(server, cache),
    )
    result = prefer(write_prompts(tmp_path / "p.jsonl", PROMPTS[:3]), tmp_path / "out", cfg)
    assert result.manifest["counts"]["kept"] == 0
    reasons = read_table(result.out, "rejected").column("reason").to_pylist()
    assert reasons and all(r.startswith("no preference pair: same_answer") for r in reasons), reasons


def test_a_judge_that_bolds_its_ranking_line_is_read(prefer_server, tmp_path):
    """A judge ending '**Ranking:** B>A' (markdown) ranks: every prompt kept, no re-ask."""

    def bold(messages: list[dict[str, str]]) -> str:
        text = reply(messages)
        return text.replace("\nRanking: ", "\n**Ranking:** ") if "\nRanking: " in text else text

    server = prefer_server(bold)
    cache = tmp_path / "cache.sqlite"
    cfg = PreferConfig(
        models=[scripted_model(server, r, cache) for r in ("weak", "best")],
        judge=scripted_judge(server, cache),
    )
    prompts = [PROMPTS[0], ("e4", "en", "Name three colours.")]
    result = prefer(write_prompts(tmp_path / "p.jsonl", prompts), tmp_path / "out", cfg)
    assert result.manifest["counts"]["kept"] == 2
    assert len(_judge_requests(server)) == 2  # one call per prompt: nothing re-asked
    for row in read_records(result.out):
        assert row.meta["preference"]["pairs"][0]["chosen"] == "best"


def test_tied_wrong_language_answers_are_rejected_without_a_model_order_bias(prefer_server, tmp_path):
    """Several English answers to German prompts are tied last: which of them becomes the
    rejected side depends on the row (a seeded hash), not on its --model position."""
    server = prefer_server()
    cache = tmp_path / "cache.sqlite"
    prompts = [(f"d{i}", "de", f"Wie wird das Wetter morgen in Stadt {i}?") for i in range(24)]
    cfg = PreferConfig(
        models=[scripted_model(server, "best", cache)]
        + [scripted_model(server, "weak", cache, name=f"weak{k}", temperature=0.1 * k) for k in range(3)],
        judge=scripted_judge(server, cache),
        per_language=24,
    )
    result = prefer(write_prompts(tmp_path / "p.jsonl", prompts), tmp_path / "out", cfg)
    rejected = Counter(r.meta["preference"]["pairs"][0]["rejected"] for r in read_records(result.out))
    assert sum(rejected.values()) == 24
    assert set(rejected) == {"weak0", "weak1", "weak2"}, rejected  # not always the first --model
    again = prefer(write_prompts(tmp_path / "p.jsonl", prompts), tmp_path / "out2", cfg)
    assert [r.meta["preference"]["pairs"] for r in read_records(again.out)] == [
        r.meta["preference"]["pairs"] for r in read_records(result.out)
    ]
