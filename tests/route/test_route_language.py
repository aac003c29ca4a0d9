"""route's answer-language check: a teacher that answers in another language than the prompt's
loses those comparisons without the judge (a forfeit), as an answer the contract rejects does.
Before it, a verbosity-biased judge sent de/fr/ja/es/ru to a teacher that always answers in long
English (the last newcomer trial: win rate 1.00), where prefer kept those answers rejected.
Real HTTP: scripted teachers and a scripted judge (tests/servers/scripted_judge.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from servers.loopback import started_servers
from servers.scripted_judge import ScriptedJudgeServer
from tagengo.route.config import RouteConfig
from tagengo.route.stage import route_run

LANGS = ("de", "en", "es", "fr", "ja", "ru")
IN_LANGUAGE = {
    "de": "Die Antwort auf Deutsch: kurz und klar.",
    "en": "The answer in English: short and clear.",
    "es": "La respuesta en español: breve y clara.",
    "fr": "La réponse en français : courte et claire.",
    "ja": "日本語での答えです。短くて分かりやすいです。",
    "ru": "Ответ на русском языке: короткий и ясный.",
}
LONG_ENGLISH = (
    "Here is a very thorough answer written in English, which explains every part of the question in "
    "detail, gives several examples, weighs the arguments for and against, and ends with a summary of "
    "the most important points so that nothing is left out. "
)
ANSWER = re.compile(r"\[Answer ([AB])\]\n(.*?)\n\[End of answer \1\]", re.S)


def _lang(messages: list[dict[str, str]]) -> str:
    last = next(m["content"] for m in reversed(messages) if m["role"] == "user")
    return re.match(r"\[(\w+)\]", last).group(1)


def in_language(messages: list[dict[str, str]]) -> str:
    return IN_LANGUAGE[_lang(messages)]


def english(messages: list[dict[str, str]]) -> str:
    return LONG_ENGLISH + f"The question was number {len(messages)}."


def fenced_english(messages: list[dict[str, str]]) -> str:
    return f"```\n{english(messages)}\n```"


def longer_wins(messages: list[dict[str, str]]) -> str:
    """A verbosity-biased judge: the longer answer first."""
    shown = dict(ANSWER.findall(messages[1]["content"]))
    return "Ranking: A>B" if len(shown["A"]) >= len(shown["B"]) else "Ranking: B>A"


@pytest.fixture
def servers() -> Iterator[Callable[..., ScriptedJudgeServer]]:
    yield from started_servers(lambda script: ScriptedJudgeServer(script))


def _prompts(path: Path, per_lang: int) -> Path:
    rows = [
        {"id": f"{lang}{i:02d}", "prompt": f"[{lang}] question {i}", "language": lang}
        for lang in LANGS
        for i in range(per_lang)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _client(server: ScriptedJudgeServer, cache: Path, model: str) -> dict[str, Any]:
    return {"backend": "openai", "model": model, "base_url": server.url, "cache_path": str(cache),
            "max_attempts": 2, "backoff_base_s": 0.01, "timeout_s": 20.0}  # fmt: skip


def _config(teachers: dict[str, ScriptedJudgeServer], jdg, cache: Path, **kw: Any) -> RouteConfig:
    return RouteConfig(
        models=[{"name": n, "max_tokens": 256, "llm": _client(s, cache, n)} for n, s in teachers.items()],
        judge=_client(jdg, cache, "judge"),
        **{"per_language": 3, "bootstrap_iters": 50, **kw},
    )


def test_an_english_only_teacher_forfeits_the_other_languages(servers, tmp_path, capsys):
    teachers = {"local": servers(in_language), "english": servers(english), "fenced": servers(fenced_english)}
    jdg = servers(longer_wins)
    src = _prompts(tmp_path / "p.jsonl", 3)
    result = route_run(src, tmp_path / "r", _config(teachers, jdg, tmp_path / "c.sqlite"), progress=False)
    table = result.table
    routed = {lang: e["teacher"] for lang, e in table["languages"].items()}
    # The in-language teacher wins every language but English, where the judge's taste decides.
    assert {lang: t for lang, t in routed.items() if lang != "en"} == dict.fromkeys(
        ("de", "es", "fr", "ja", "ru"), "local"
    )
    assert routed["en"] in {"english", "fenced"}
    de = table["languages"]["de"]["teachers"]
    assert de["local"]["win_rate"] == 1.0 and de["english"]["win_rate"] == 0.0
    assert de["english"]["wrong_language_answers"] == 3 and de["english"]["failed_answers"] == 0
    assert de["fenced"]["wrong_language_answers"] == 3  # fenced prose is read too (tagengo.lang.gate)
    assert de["english"]["forfeits"] == 3  # lost to local; english vs fenced: both failed, undecided
    assert table["languages"]["en"]["teachers"]["english"]["wrong_language_answers"] == 0
    assert table["overall"]["english"]["wrong_language_answers"] == 15
    counts = result.manifest["counts"]
    assert counts["wrong_language_answers"] == 30
    # Per prompt outside English: local beats both by forfeit; english vs fenced is undecided.
    assert counts["forfeit"] == 2 * 15 and counts["undecided"] == 15
    # The judge saw only the English comparisons (3 prompts, 3 pairs).
    assert jdg.calls == 3 * 3
    # Every forfeit and undecided comparison says why; pilot.jsonl holds what lid.176 found.
    rows = {r["id"]: r for r in map(json.loads, (tmp_path / "r" / "pilot.jsonl").read_text().splitlines())}
    ru = rows["ru00"]
    assert ru["answers"]["english"]["problem"].startswith("wrong language: lid.176 says the answer is 'en'")
    assert "all inside a code block and its text is 'en'" in ru["answers"]["fenced"]["problem"]
    assert ru["answers"]["english"]["language"]["detected"] == "en"
    assert ru["answers"]["local"]["language"]["detected"] == "ru" and "problem" not in ru["answers"]["local"]
    whys = {tuple(c["pair"]): (c["how"], c.get("why", "")) for c in ru["comparisons"]}
    assert (
        whys[("local", "english")][0] == "forfeit"
        and "english: wrong language" in whys[("local", "english")][1]
    )
    assert whys[("english", "fenced")] == ("undecided", "both answers failed (wrong language)")
    # Said on stderr, in the manifest's warnings and in routing.md.
    err = capsys.readouterr().err.replace("\n", " ")
    assert "teacher english: 15 of its 18 pilot answers are in another language" in err
    assert "(de 3, es 3, fr 3, ja 3, ru 3;" in err
    assert any("teacher fenced: 15 of its 18" in w for w in result.manifest["warnings"])
    md = (tmp_path / "r" / "routing.md").read_text()
    assert "Answers in another language than the prompt's" in md and "english 15, fenced 15." in md


def test_without_the_check_the_verbose_judge_routes_everything_to_english(servers, tmp_path):
    """--no-gate: what route did before (the check is what keeps the table right)."""
    teachers = {"local": servers(in_language), "english": servers(english)}
    jdg = servers(longer_wins)
    src = _prompts(tmp_path / "p.jsonl", 2)
    cfg = _config(teachers, jdg, tmp_path / "c.sqlite", gate={"enabled": False})
    result = route_run(src, tmp_path / "r", cfg, progress=False)
    assert {e["teacher"] for e in result.table["languages"].values()} == {"english"}
    assert result.manifest["counts"]["wrong_language_answers"] == 0
    assert result.manifest["counts"]["forfeit"] == 0


def test_the_gate_options_on_the_command_line(servers, tmp_path):
    """--gate/--no-gate and --gate-min-prob, the names generate and prefer use, reach the check."""
    local, eng, jdg = servers(in_language), servers(english), servers(longer_wins)
    cache = tmp_path / "c.sqlite"
    src = _prompts(tmp_path / "p.jsonl", 1)
    common = f"cache_path={cache},max_tokens=256,max_attempts=2"
    args = ["route", "--input", str(src), "--judge-model", "judge", "--judge-base-url", jdg.url,
            "--judge-cache-path", str(cache), "--per-language", "1", "--bootstrap-iters", "10", "--no-progress",
            "--model", f"name=local,model=local,base_url={local.url},{common}",
            "--model", f"name=english,model=english,base_url={eng.url},{common}"]  # fmt: skip

    def run(out: str, *extra: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "tagengo.cli", *args, "--out", str(tmp_path / out), *extra],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads((tmp_path / out / "manifest.json").read_text())

    assert run("on")["counts"]["wrong_language_answers"] == 5
    off = run("off", "--no-gate")
    assert off["counts"]["wrong_language_answers"] == 0 and off["config"]["gate"]["enabled"] is False
    # No answer is that sure: nothing fails.
    assert run("sure", "--gate-min-prob", "1.0")["counts"]["wrong_language_answers"] == 0
