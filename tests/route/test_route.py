"""`tagengo route` and `generate --routing`: two scripted teachers and a scripted judge (real HTTP,
tests/servers/scripted_judge.py) whose preference differs by language. Routing must pick the
teacher the judge prefers in each language (a tie goes to the cheaper one), with win rates and
intervals, and generate must then send each language to its teacher and say which answered."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from servers.loopback import started_servers
from servers.scripted_judge import ScriptedJudgeServer
from tagengo.errors import InputError
from tagengo.generate.config import GenerateConfig
from tagengo.generate.stage import generate
from tagengo.route.checks import NoComparisonDecided
from tagengo.route.config import RouteConfig
from tagengo.route.stage import route, route_run
from tagengo.run.routing_table import RoutingTable

#: What the scripted judge prefers: language name in the judge's prompt -> the teacher it ranks first.
PREFERS = {"English": "Alpha", "German": "Alpha", "Japanese": "Beta", "French": None}
ROUTED = ("en", "de", "ja", "fr")
ANSWER = re.compile(r"\[Answer ([AB])\]\n(.*?)\n\[End of answer \1\]", re.S)


#: What a scripted teacher says in the prompt's language (route's answer-language check reads it).
IN_LANGUAGE = {
    "en": "Here is a careful answer in English, with the reasons for it and an example of each step.",
    "de": "Hier ist eine sorgfältige Antwort auf Deutsch, mit den Gründen dafür und einem Beispiel "
    "für jeden Schritt.",
    "fr": "Voici une réponse soignée en français, avec ses raisons et un exemple pour chaque étape.",
    "ja": "これは日本語で書いた丁寧な答えです。理由とそれぞれの手順の例も付けてあります。",
    "es": "Aquí tienes una respuesta cuidadosa en español, con sus razones y un ejemplo de cada paso.",
}


def teacher(name: str) -> Callable[[list[dict[str, str]]], str]:
    """Answers in the prompt's language (its ``[xx]`` tag), naming itself for the judge."""

    def script(messages: list[dict[str, str]]) -> str:
        last = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        lang = re.match(r"\[(\w+)\]", last)
        return f"{name} answers: {last}\n{IN_LANGUAGE.get(lang.group(1) if lang else 'en', '')}"

    return script


def judge(messages: list[dict[str, str]]) -> str:
    """Ranks by language (PREFERS); on its first look at prompts 0-3 of each language it gives no
    ranking line, so the stage must ask again."""
    if len(messages) > 2:  # a follow-up: the bare line
        return _ranking(messages[:2])
    if re.search(r"number [0-3]\b", messages[1]["content"]):
        return "Both answers are fine, I cannot decide."
    return f"A few reasons.\n{_ranking(messages)}"


def _ranking(messages: list[dict[str, str]]) -> str:
    language = re.search(r"the user wrote in \(([^)]+)\)", messages[0]["content"]).group(1)
    shown = {label: text.split(" answers:")[0] for label, text in ANSWER.findall(messages[1]["content"])}
    best = PREFERS[language]
    if best is None:
        return "Ranking: A=B"
    first = next(label for label, who in shown.items() if who == best)
    return f"Ranking: {first}>{'B' if first == 'A' else 'A'}"


@pytest.fixture
def servers() -> Iterator[Callable[..., ScriptedJudgeServer]]:
    yield from started_servers(lambda script: ScriptedJudgeServer(script))


def _prompts(path: Path, per_lang: int, langs: tuple[str, ...]) -> Path:
    rows = [
        {"id": f"{lang}{i:02d}", "prompt": f"[{lang}] tell me about the number {i} ", "language": lang}
        for lang in langs
        for i in range(per_lang)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _client(server: ScriptedJudgeServer, cache: Path, **kw: Any) -> dict[str, Any]:
    return {"backend": "openai", "model": "scripted", "base_url": server.url, "cache_path": str(cache),
            "max_attempts": 2, "backoff_base_s": 0.01, "timeout_s": 20.0, **kw}  # fmt: skip


def _config(alpha, beta, jdg, cache: Path, **kw: Any) -> RouteConfig:
    return RouteConfig(
        models=[
            {
                "name": "a",
                "max_tokens": 256,
                "llm": _client(alpha, cache, model="alpha", input_price_per_1m=2.0, output_price_per_1m=10.0),
            },
            {
                "name": "b",
                "max_tokens": 256,
                "llm": _client(beta, cache, model="beta", input_price_per_1m=1.0, output_price_per_1m=5.0),
            },
        ],  # fmt: skip
        judge=_client(jdg, cache, model="judge"),
        **{"per_language": 6, "languages": list(ROUTED), "bootstrap_iters": 200, **kw},
    )


def test_routing_picks_the_teacher_the_judge_prefers_in_each_language(servers, tmp_path):
    alpha, beta, jdg = servers(teacher("Alpha")), servers(teacher("Beta")), servers(judge)
    cache = tmp_path / "cache.sqlite"
    src = _prompts(tmp_path / "prompts.jsonl", 8, (*ROUTED, "es"))
    table = route(src, tmp_path / "route", _config(alpha, beta, jdg, cache), progress=False)

    assert {lang: e["teacher"] for lang, e in table["languages"].items()} == {
        "de": "a", "en": "a", "fr": "b", "ja": "b"  # fr: a tie, and b is the cheaper
    }  # fmt: skip
    assert table["default"] == "a"  # best over every language pooled
    de, ja, fr = (table["languages"][x]["teachers"] for x in ("de", "ja", "fr"))
    assert de["a"]["win_rate"] == 1.0 and de["a"]["ci"] == [1.0, 1.0] and de["a"]["wins"] == 6
    assert de["b"]["win_rate"] == 0.0 and ja["b"]["win_rate"] == 1.0
    assert fr["a"]["win_rate"] == fr["b"]["win_rate"] == 0.5 and fr["a"]["ties"] == 6
    assert 0 < fr["b"]["cost_per_answer"] < fr["a"]["cost_per_answer"]
    assert all(
        e["prompts"] == 6 and e["comparisons"] == 6 and e["undecided"] == 0
        for e in table["languages"].values()
    )
    # 24 pilot prompts per teacher; 24 comparisons plus the re-asks after an unreadable verdict.
    assert alpha.calls == beta.calls == 24
    reasked = jdg.calls - 24
    assert reasked >= 8  # a sample of 6 of 8 prompts holds at least two of 0-3 in each language
    # Seeded: both orders of the two answers were shown to the judge.
    shown = Counter(tuple(c["shown_as_a_b"]) for line in (tmp_path / "route" / "pilot.jsonl").open()
                    for c in json.loads(line)["comparisons"])  # fmt: skip
    assert set(shown) == {("a", "b"), ("b", "a")}
    md = (tmp_path / "route" / "routing.md").read_text()
    assert "| de | 6 | **a** | 1.00 [1.00, 1.00]" in md
    loaded = RoutingTable.load(tmp_path / "route")
    assert loaded.teacher_for("ja") == "b" and loaded.teacher_for("es") == "a"

    # A re-run pays for nothing and writes the same table.
    again = route(src, tmp_path / "route2", _config(alpha, beta, jdg, cache), progress=False)
    assert alpha.calls == beta.calls == 24 and jdg.calls == 24 + reasked
    assert {k: v for k, v in again.items() if k != "created_at"} == {
        k: v for k, v in table.items() if k != "created_at"
    }

    # generate --routing: each language to its teacher; the pilot answers are replayed from the cache.
    # --no-gate: the scripted teachers answer every language in English ("Alpha answers: [de] ...").
    cfg = GenerateConfig(
        routing=tmp_path / "route" / "routing.json", cache_path=cache, max_tokens=256, gate={"enabled": False}
    )
    result = generate(src, tmp_path / "gen", cfg, progress=False)
    rows = [
        r for f in sorted((tmp_path / "gen" / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()
    ]
    assert len(rows) == 40 and result.manifest["counts"]["rejected"] == 0
    want = {"en": ("a", "Alpha", "alpha"), "de": ("a", "Alpha", "alpha"), "es": ("a", "Alpha", "alpha"),
            "ja": ("b", "Beta", "beta"), "fr": ("b", "Beta", "beta")}  # fmt: skip
    for r in rows:
        name, who, model = want[r["language"]]
        gen = json.loads(r["meta"])["generation"]
        assert gen["teacher"] == name and gen["model"] == model
        assert r["messages"][-1]["content"].startswith(f"{who} answers:")
    # Alpha: en, de, es (8 each) less its 12 pilot prompts; Beta: ja, fr less its 12.
    assert alpha.calls == 24 + 24 - 12 and beta.calls == 24 + 16 - 12
    summary = result.manifest["steps"][0]["summary"]["routing"]
    assert summary["rows_by_teacher"] == {"a": 24, "b": 16}


def test_route_on_the_command_line_and_generate_reads_the_folder(servers, tmp_path):
    alpha, beta, jdg = servers(teacher("Alpha")), servers(teacher("Beta")), servers(judge)
    cache = tmp_path / "cache.sqlite"
    src = _prompts(tmp_path / "prompts.jsonl", 3, ("de", "ja"))
    common = f"cache_path={cache},max_tokens=256,max_attempts=2"
    res = subprocess.run(
        [sys.executable, "-m", "tagengo.cli", "route", "--input", str(src), "--out", str(tmp_path / "r"),
         "--model", f"name=a,model=alpha,base_url={alpha.url},{common}",
         "--model", f"name=b,model=beta,base_url={beta.url},{common}",
         "--judge-model", "judge", "--judge-base-url", jdg.url, "--judge-cache-path", str(cache),
         "--per-language", "3", "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "| de | 3 | **a** |" in res.stderr and "| ja | 3 | **b** |" in res.stderr
    cfg = GenerateConfig(routing=tmp_path / "r", cache_path=cache, max_tokens=256)
    generate(src, tmp_path / "gen", cfg, progress=False)
    assert alpha.calls == beta.calls == 6  # every prompt was in the pilot: its answer is replayed


def test_route_needs_two_teachers_and_a_table(servers, tmp_path):
    from tagengo.errors import ConfigError

    src = _prompts(tmp_path / "p.jsonl", 1, ("de",))
    with pytest.raises(ConfigError, match="two or more candidate teachers"):
        route(src, tmp_path / "r", RouteConfig(), progress=False)
    with pytest.raises(ConfigError, match="no routing table there"):
        GenerateConfig(routing=tmp_path / "missing.json").llm_config()


# -- the folder (manifest.json, up to date, --force) and what route must not trust ----------------


def never_ranks(messages: list[dict[str, str]]) -> str:
    return "Both answers have merits; I would not like to choose."


def ranks_german_only(messages: list[dict[str, str]]) -> str:
    return judge(messages) if "(German)" in messages[0]["content"] else never_ranks(messages)


def _tagengo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tagengo.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_a_judge_that_never_decides_stops_the_run_with_no_table(servers, tmp_path):
    alpha, beta, jdg = servers(teacher("Alpha")), servers(teacher("Beta")), servers(never_ranks)
    src = _prompts(tmp_path / "p.jsonl", 3, ("de", "ja"))
    out = tmp_path / "r"
    cfg = _config(alpha, beta, jdg, tmp_path / "c.sqlite", per_language=3, languages=[], reask=1)
    with pytest.raises(
        NoComparisonDecided, match=r"decided none of the 6 comparisons \(6 × no valid ranking"
    ):
        route(src, out, cfg, progress=False)
    assert not (out / "routing.json").exists() and not (out / "manifest.json").exists()
    rows = [json.loads(line) for line in (out / "pilot.jsonl").read_text().splitlines()]
    assert all(c["how"] == "undecided" and c["judge_replies"] for r in rows for c in r["comparisons"])


def test_a_language_without_a_decided_comparison_is_not_routed_and_is_named(servers, tmp_path, capsys):
    alpha, beta, jdg = servers(teacher("Alpha")), servers(teacher("Beta")), servers(ranks_german_only)
    src = _prompts(tmp_path / "p.jsonl", 3, ("de", "ja"))
    cfg = _config(alpha, beta, jdg, tmp_path / "c.sqlite", per_language=3, languages=[], reask=1)
    result = route_run(src, tmp_path / "r", cfg, progress=False)
    assert result.table["languages"]["de"]["teacher"] == "a"
    assert "ja" not in result.table["languages"]
    assert result.table["unrouted"] == {
        "ja": "none of its 3 comparisons was decided; it goes to the default teacher"
    }
    assert "language ja is not routed: none of its 3 comparisons was decided" in capsys.readouterr().err
    assert result.manifest["counts"]["languages_unrouted"] == 1
    assert "Not routed: ja" in (tmp_path / "r" / "routing.md").read_text()
    # `tagengo report` shows the folder: the table, the unrouted language and the warning.
    from tagengo.report.hooks import folder_sections

    (section,) = folder_sections(tmp_path / "r")
    rows = section.tables()["routing table"].rows
    assert rows[0][:4] == ["de", 3, "a", 0] and rows[1][:3] == ["ja", "", "a (default)"]
    assert any("language ja is not routed" in b.text for b in section.blocks if hasattr(b, "text"))


def test_two_teachers_served_as_one_model_are_warned_about(servers, tmp_path, capsys):
    # llama.cpp's server and Ollama ignore the requested model: both answers name what is loaded.
    alpha, beta, jdg = servers(teacher("Alpha")), servers(teacher("Beta")), servers(judge)
    cfg = _config(alpha, beta, jdg, tmp_path / "c.sqlite", per_language=2, languages=[])
    for m in cfg.models:
        m.llm.model = "the-loaded.gguf"
    result = route_run(_prompts(tmp_path / "p.jsonl", 2, ("de",)), tmp_path / "r", cfg, progress=False)
    said = "teachers a and b were both answered by model 'the-loaded.gguf'"
    assert said in capsys.readouterr().err.replace("\n", " ")
    assert any(said in w for w in result.manifest["warnings"])
    ok = route_run(_prompts(tmp_path / "q.jsonl", 2, ("de",)), tmp_path / "s", _config(alpha, beta, jdg, tmp_path / "c.sqlite", per_language=2, languages=[]), progress=False)  # fmt: skip
    assert "warnings" not in ok.manifest


def test_the_command_writes_a_manifest_is_up_to_date_on_a_rerun_and_keeps_other_stages_folders(
    servers, tmp_path
):
    alpha, beta, jdg = servers(teacher("Alpha")), servers(teacher("Beta")), servers(judge)
    cache = tmp_path / "cache.sqlite"
    src = _prompts(tmp_path / "p.jsonl", 3, ("de", "ja"))
    out = tmp_path / "r"
    common = f"cache_path={cache},max_tokens=256,max_attempts=2"
    args = ["route", "--input", str(src), "--out", str(out),
            "--model", f"name=a,model=alpha,base_url={alpha.url},{common}",
            "--model", f"name=b,model=beta,base_url={beta.url},{common}",
            "--judge-model", "judge", "--judge-base-url", jdg.url, "--judge-cache-path", str(cache),
            "--per-language", "3", "--no-progress"]  # fmt: skip
    first = _tagengo(*args)
    assert first.returncode == 0, first.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["stage"] == "route" and m["input"]["path"] == str(src) and m["versions"]["tagengo"]
    assert m["counts"] == {
        "read": 6, "quarantined": 0, "no_prompt": 0, "prompts": 6, "pilot_prompts": 6, "answers": 12, "wrong_language_answers": 0, "comparisons": 6, "judged": 6, "tie": 0,
        "forfeit": 0, "undecided": 0, "languages_routed": 2, "languages_unrouted": 0,
    }  # fmt: skip
    assert sum(v["calls"] for v in m["calls"]["judge"].values()) >= 6
    shown = _tagengo("inspect", str(out))
    assert shown.returncode == 0, shown.stderr
    assert "route folder" in shown.stdout + shown.stderr
    calls = alpha.received + beta.received + jdg.received
    again = _tagengo(*args)
    assert again.returncode == 0 and "up to date" in again.stderr and "| de |" not in again.stderr
    assert alpha.received + beta.received + jdg.received == calls
    forced = _tagengo(*args, "--force")
    assert forced.returncode == 0 and "| de | 3 | **a** |" in forced.stderr
    # Another stage's finished folder is not replaced without --force.
    other = tmp_path / "curated"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"stage": "curate", "finished_at": "then"}))
    refused = _tagengo(*[other.as_posix() if a == str(out) else a for a in args])
    assert refused.returncode == 2 and re.search(r"holds a finished `curate` folder", refused.stderr)
    # A judge that never decides: the command fails, exit 2, naming the fix.
    mute = servers(never_ranks)
    failed = _tagengo(
        *[mute.url if a == jdg.url else a for a in args], "--out", str(tmp_path / "mute"), "--reask", "0"
    )
    assert failed.returncode == 2 and "--judge-model" in failed.stderr, failed.stderr


def test_unreadable_lines_are_quarantined_and_counted_not_skipped(servers, tmp_path, capsys):
    """route read its input with the readers every stage uses but dropped what they quarantined,
    and the records without a prompt, without a word: read did not reconcile with prompts."""
    alpha, beta, jdg = servers(teacher("Alpha")), servers(teacher("Beta")), servers(judge)
    src = _prompts(tmp_path / "p.jsonl", 2, ("de",))
    with src.open("a") as f:
        f.write('{"id": "broken", "prompt": "half a line\n')
        f.write('{"id": "nolist", "prompt": ["not", "text"], "language": "de"}\n')
        f.write('{"id": "de99", "prompt": "[de] tell me about the number 99", "language": "de"}\n')
    cfg = _config(alpha, beta, jdg, tmp_path / "c.sqlite", per_language=3, languages=[])
    result = route_run(src, tmp_path / "r", cfg, progress=False)
    counts = result.manifest["counts"]
    assert counts["prompts"] == 3 and counts["pilot_prompts"] == 3
    assert counts["read"] == counts["prompts"] + counts["quarantined"] + counts["no_prompt"] == 5
    assert counts["quarantined"] == 2
    rows = [
        r
        for f in sorted((tmp_path / "r" / "quarantine").glob("*.parquet"))
        for r in pq.read_table(f).to_pylist()
    ]
    assert sorted(r["line"] for r in rows) == [3, 4] and all(r["file"].endswith("p.jsonl") for r in rows)
    assert all(r["reason"] for r in rows)
    err = capsys.readouterr().err.replace("\n", " ")
    assert "2 unreadable input lines quarantined" in err and "p.jsonl line 3" in err
    assert any("2 unreadable input lines quarantined" in w for w in result.manifest["warnings"])
    # Nothing readable: the error says why, and the quarantine is there to read.
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n")
    with pytest.raises(InputError, match="1 unreadable input line quarantined"):
        route_run(bad, tmp_path / "r2", cfg, progress=False)
    assert list((tmp_path / "r2" / "quarantine").glob("*.parquet"))


def test_a_judge_reply_that_is_its_prompt_sent_back_decides_nothing(servers, tmp_path):
    """The judge prompt ends with an example ranking line ("Ranking: B>A"): a server that sends the
    prompt back (tests/servers/answer_faults.py ``echo``, steered here through the teachers'
    answers, which the judge prompt quotes) must leave the comparison undecided with the answer
    contract's reason, never decided by the example."""

    def marked(name: str) -> Callable[[list[dict[str, str]]], str]:
        return lambda messages: teacher(name)(messages) + " FAULT=echo"

    alpha, beta, jdg = servers(marked("Alpha")), servers(marked("Beta")), servers(judge)
    src = _prompts(tmp_path / "p.jsonl", 3, ("de", "ja"))
    out = tmp_path / "r"
    cfg = _config(alpha, beta, jdg, tmp_path / "c.sqlite", per_language=3, languages=[], reask=1)
    with pytest.raises(NoComparisonDecided, match=r"decided none of the 6 comparisons \(6 × judge echo"):
        route(src, out, cfg, progress=False)
    rows = [json.loads(line) for line in (out / "pilot.jsonl").read_text().splitlines()]
    whys = {c["why"] for r in rows for c in r["comparisons"]}
    assert whys == {"judge echo: the answer is the last user turn sent back"}, whys
    assert jdg.calls == 6  # not asked again: the same server sends the same prompt back
