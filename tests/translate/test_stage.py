"""`tagengo translate` against the scripted OpenAI-compatible server: parallel groups, protected
spans restored, and each check (lost span, wrong language, empty) rejecting with its reason."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tagengo.errors import ConfigError
from tagengo.translate.config import TranslateConfig
from tagengo.translate.stage import translate

FIXTURE = Path(__file__).parent / "fixtures" / "chats_en.jsonl"


def rows(out: Path, sub: str) -> list[dict]:
    got = [r for f in sorted((out / sub).glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]
    for r in got:
        r["meta"] = json.loads(r["meta"])
    return got


def test_parallel_rows_share_a_group_and_failed_checks_are_rejected(
    scripted_server, scripted, llm_options, tmp_path
):
    server = scripted_server()
    # the scripted translator writes stock sentences by length, not one per source sentence
    cfg = TranslateConfig(to=["de", "ja"], check_sentences=False, **llm_options(server))
    result = translate(FIXTURE, tmp_path / "out", cfg)
    counts = result.manifest["counts"]
    # 5 readable items x (source + 2 languages); the broken last line is quarantined.
    assert counts["read"] == 15 and counts["quarantined"] == 1
    assert counts["kept"] + counts["rejected"] == 15
    # ... from a file of 6 lines, which is what the funnel says it read.
    assert counts["lines"] == 6
    funnel = (tmp_path / "out" / "funnel.md").read_text()
    assert "6 lines made into 16 rows by the stage: 15 read, 1 quarantined" in funnel
    kept, rejected = rows(tmp_path / "out", "data"), rows(tmp_path / "out", "rejected")
    assert sorted(r["id"] for r in kept) == sorted(
        ["plain", "plain-de", "plain-ja", "code", "code-de", "code-ja", "dropmark", "wronglang", "empty"]
    )
    reasons = {r["id"]: r["reason"] for r in rejected}
    assert reasons["dropmark-de"].startswith(
        "protected span of message 1 (user): inline_code '`ls -la`' lost"
    )
    assert reasons["wronglang-ja"].startswith("message 1 (user) is not in ja: language ID says en")
    # An empty answer fails the answer contract (tagengo.llm.answer) before translate's own checks.
    assert reasons["empty-de"] == "empty answer (translation of message 1 (user))"

    groups = {r["id"]: r["meta"]["parallel_group"] for r in kept}
    assert groups["plain-de"] == groups["plain-ja"] == groups["plain"] == "plain"
    de = next(r for r in kept if r["id"] == "code-de")
    assert de["language"] == "de"
    user, assistant = (m["content"] for m in de["messages"])
    # Protected spans come back verbatim; the prose is the (scripted) German translation.
    for span in ("`xs.reverse()`", "https://docs.python.org/3/tutorial/datastructures.html"):
        assert span in user
    for span in ("`xs.reverse()`", "```python\nys = xs[::-1]\n```", "3 * 4 = 12", "{count}"):
        assert span in assistant
    assert scripted.SENTENCES["de"] in user
    info = de["meta"]["translation"]
    assert info["from"] == "en" and info["to"] == "de"
    assert info["messages"][0]["source"].startswith("How do I reverse a list")
    assert info["messages"][1]["protected"] == 4 and info["messages"][1]["lid"] == "de"
    assert len(info["calls"]) == 2 and all(len(c["key"]) == 64 for c in info["calls"])


def test_rerun_with_force_pays_nothing(scripted_server, llm_options, tmp_path):
    server = scripted_server()
    cfg = TranslateConfig(to=["fr"], **llm_options(server))
    translate(FIXTURE, tmp_path / "out", cfg)
    paid = server.answers
    translate(FIXTURE, tmp_path / "out", cfg, force=True)
    assert server.answers == paid


def test_without_source_rows_only_translations_are_written(scripted_server, llm_options, tmp_path):
    server = scripted_server()
    cfg = TranslateConfig(to=["it"], include_source=False, **llm_options(server))
    result = translate(FIXTURE, tmp_path / "out", cfg)
    assert result.manifest["counts"]["read"] == 5
    assert {r["language"] for r in rows(tmp_path / "out", "data")} == {"it"}


def test_unknown_target_language_is_a_config_error(llm_options, tmp_path):
    with pytest.raises(ConfigError, match="unknown language code"):
        translate(FIXTURE, tmp_path / "out", TranslateConfig(to=["xx"], model="m"))
    with pytest.raises(ConfigError, match="--to"):
        translate(FIXTURE, tmp_path / "out", TranslateConfig(model="m"))


def test_a_target_in_the_source_language_is_the_source_row(scripted_server, llm_options, tmp_path):
    server = scripted_server()
    cfg = TranslateConfig(to=["en", "es"], include_source=False, **llm_options(server))
    result = translate(FIXTURE, tmp_path / "out", cfg)
    assert result.manifest["counts"]["read"] == 10
    kept = rows(tmp_path / "out", "data")
    plain = {r["language"]: r for r in kept if r["meta"]["parallel_group"] == "plain"}
    assert (
        set(plain) == {"en", "es"}
        and plain["en"]["id"] == "plain"
        and "translation" not in plain["en"]["meta"]
    )


def _digests(folder: Path) -> dict[str, str]:
    import hashlib

    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for sub in ("data", "rejected", "quarantine")
        for p in sorted((folder / sub).glob("*.parquet"))
    }


@pytest.mark.slow  # starts a local Ray instance
def test_ray_executor_writes_the_same_folder(scripted_server, llm_options, tmp_path):
    """``executor="ray"`` with 2 actors and chunks of 2 items writes the bytes the local run
    writes: the same kept rows, rejections (lost span, wrong language, empty) and quarantined
    line. Each run has its own request cache, so the actors really translate."""
    server = scripted_server()

    def run(executor: str) -> dict:
        cfg = TranslateConfig(
            to=["de", "ja"], **llm_options(server, cache_path=tmp_path / f"{executor}.sqlite")
        )
        kw = {"executor": "ray", "workers": 2} if executor == "ray" else {}
        return translate(FIXTURE, tmp_path / executor, cfg, chunk_rows=2, **kw).manifest

    local = run("local")
    paid = server.answers
    ray = run("ray")
    assert server.answers == 2 * paid  # every call again, from the actors
    assert ray["executor"] == "ray" and ray["workers"] == 2
    assert ray["counts"] == local["counts"] and local["counts"]["rejected"] > 0
    assert local["counts"]["quarantined"] == 1
    assert [(s["name"], s["in"], s["out"]) for s in ray["steps"]] == [
        (s["name"], s["in"], s["out"]) for s in local["steps"]
    ]
    assert _digests(tmp_path / "ray") == _digests(tmp_path / "local")
    assert ray["translate"] == local["translate"]


def test_off_a_terminal_translation_progress_comes_as_lines(
    scripted_server, llm_options, tmp_path, capsys, log_progress
):
    from progress_checks import assert_progress_lines

    # 60 one-message chats into German, 4 calls at a time, each at least 20 ms: at least 0.3 s,
    # past the 0.1 s interval.
    log_progress(0.1)
    server = scripted_server(latency_s=0.02)
    src = tmp_path / "chats.jsonl"
    src.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"c{i}",
                    "language": "en",
                    "messages": [
                        {"role": "user", "content": f"How do I cook dish number {i} for my family?"}
                    ],
                }
            )
            + "\n"
            for i in range(60)
        )
    )
    result = translate(
        src, tmp_path / "out", TranslateConfig(to=["de"], **llm_options(server, concurrency=4))
    )
    assert result.manifest["counts"]["read"] == 120
    assert_progress_lines(capsys.readouterr().err, "translate", 60)


def test_a_translation_whose_numbers_changed_is_rejected_naming_them(scripted_server, llm_options, tmp_path):
    """MT-Bench Q111's ``(3, 3)`` translated as ``(3, 5)`` passes language ID, the length ratio
    and the protected spans; the numbers check rejects it (issue #23, item 2)."""
    server = scripted_server()
    q111 = "The vertices of a triangle are at points (0, 0), (-1, 1), and (3, 3). What is the area of the triangle?"
    src = tmp_path / "q.jsonl"
    src.write_text(
        "".join(
            json.dumps({"id": i, "language": "en", "messages": [{"role": "user", "content": text}]}) + "\n"
            for i, text in (("q111", q111), ("q111-bad", q111 + " BADNUM"))
        )
    )
    translate(src, tmp_path / "out", TranslateConfig(to=["de"], **llm_options(server)))
    kept = {r["id"]: r for r in rows(tmp_path / "out", "data")}
    rejected = {r["id"]: r for r in rows(tmp_path / "out", "rejected")}
    assert "q111-de" in kept
    bad = rejected["q111-bad-de"]
    assert bad["reason"] == "numbers differ (message 1 (user)): missing 3; added 5"
    assert bad["meta"]["translation"]["messages"][0]["numbers"] == "missing 3; added 5"
    # --no-check-numbers keeps it (the same calls, from the cache).
    translate(src, tmp_path / "off", TranslateConfig(to=["de"], check_numbers=False, **llm_options(server)))
    assert "q111-bad-de" in {r["id"] for r in rows(tmp_path / "off", "data")}


def test_a_slow_call_still_gets_progress_lines_on_time(
    scripted_server, llm_options, tmp_path, capsys, log_progress
):
    """One call that takes 2.5 s, lines due every second: they come while it runs (a newcomer's
    25 s call printed nothing until it answered), saying nothing has finished yet."""
    log_progress(1.0)
    server = scripted_server(latency_s=2.5)
    src = tmp_path / "one.jsonl"
    src.write_text(
        json.dumps(
            {
                "id": "a",
                "language": "en",
                "messages": [{"role": "user", "content": "Hi there, how are you today?"}],
            }
        )
        + "\n"
    )
    translate(src, tmp_path / "out", TranslateConfig(to=["de"], **llm_options(server)))
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("translate: 0/1 ")]
    assert len(lines) >= 1, lines
    assert "nothing finished for 0:0" in lines[0]
    assert "1 in flight, the oldest for 0:0" in lines[0], lines[0]  # the client marks its calls
