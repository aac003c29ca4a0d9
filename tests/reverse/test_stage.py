"""`tagengo reverse` end to end against the scripted OpenAI-compatible server: every branch of
the control flow (λ, re-asks, parse failures, back-translation, fragment filters) on a corpus
whose fragments steer the server (tests/servers/scripted_chat.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tagengo.errors import ConfigError
from tagengo.reverse.config import ReverseConfig
from tagengo.reverse.stage import reverse

FIXTURE = Path(__file__).parent / "fixtures" / "steered_de.txt"


def rows(out: Path, sub: str) -> list[dict]:
    got = [r for f in sorted((out / sub).glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]
    for r in got:
        r["meta"] = json.loads(r["meta"])
    return got


def by_control(rs: list[dict]) -> dict[str, dict]:
    out = {}
    for r in rs:
        text = r["messages"][-1]["content"]
        word = text.split()[-1] if text.split()[-1].isupper() or "=" in text.split()[-1] else None
        out[word or r["id"]] = r
    return out


def test_roundtrip_keeps_pairs_at_or_above_lambda_and_rejects_with_reasons(
    scripted_server, scripted, llm_options, tmp_path
):
    server = scripted_server()
    cfg = ReverseConfig(language="de", **llm_options(server))
    result = reverse(FIXTURE, tmp_path / "out", cfg)
    out = tmp_path / "out"
    kept, rejected = rows(out, "data"), rows(out, "rejected")
    counts = result.manifest["counts"]
    assert counts["read"] == 9 and counts["kept"] + counts["rejected"] == 9

    kept_by = by_control(kept)
    assert set(kept_by) == {"SCORE=5", "LATESCORE", "LATEINSTR"}
    rej = {r["reason"]: r for r in rejected}
    reasons = sorted(rej)
    assert any(r.startswith("fragment too short") for r in reasons)
    assert any(r.startswith("language ID says fr") for r in reasons)
    assert "judge score 2 below --min-score 3" in reasons
    assert any(r.startswith("judge unparseable after 2 ask(s) (no score 1-5 found)") for r in reasons)
    # NOINSTR: empty every time; the answer contract names it (tagengo.llm.answer), after the re-asks.
    assert "empty answer (instruction, after 2 ask(s))" in reasons
    assert any(
        r.startswith("the back-translated instruction is not in de: language ID says en") for r in reasons
    )
    assert {r["step"] for r in rejected} == {"fragment_length", "fragment_language", "reverse"}

    sc = scripted
    for word, row in kept_by.items():
        meta = row["meta"]["reverse"]
        user, assistant = row["messages"]
        assert user["role"] == "user" and assistant["role"] == "assistant"
        # The response is the fragment itself; the instruction is the back-translation.
        assert assistant["content"] in FIXTURE.read_text()
        assert meta["instruction_en"] == f"Explain this topic to me in a few clear sentences. {word}"
        assert user["content"] == sc.translate(meta["instruction_en"], "de") == meta["instruction"]
        assert meta["fragment_en"].startswith(sc.SENTENCES["en"])
        assert meta["score"] >= 3 and meta["task_type"]
        assert set(meta["calls"]) == {"translate_fragment", "instruction", "judge", "translate_instruction"}
        assert all(len(c["key"]) == 64 for calls in meta["calls"].values() for c in calls)
        assert row["language"] == "de"
    assert kept_by["SCORE=5"]["meta"]["reverse"]["judge_reasoning"] == "the reply fits the instruction."
    assert len(kept_by["LATESCORE"]["meta"]["reverse"]["calls"]["judge"]) == 2
    assert len(kept_by["LATEINSTR"]["meta"]["reverse"]["calls"]["instruction"]) == 2
    # A rejected pair keeps what it got: the score and the judge's answer.
    low = rej["judge score 2 below --min-score 3"]
    assert (
        low["meta"]["reverse"]["score"] == 2
        and "translate_instruction" not in low["meta"]["reverse"]["calls"]
    )

    lam = json.loads((out / "lambda.json").read_text())
    # Judged pairs: SCORE=5, SCORE=2, LATESCORE (4), LATEINSTR (4), BACKWRONG (4).
    assert lam["languages"]["de"] == {"judged": 5, "1": 5, "2": 5, "3": 4, "4": 4, "5": 1}
    assert (out / "lambda.png").stat().st_size > 0 and "λ=3" in (out / "lambda.md").read_text()


def test_min_score_moves_the_threshold(scripted_server, llm_options, tmp_path):
    server = scripted_server()
    cfg = ReverseConfig(language="de", min_score=5, **llm_options(server))
    reverse(FIXTURE, tmp_path / "out", cfg)
    kept = rows(tmp_path / "out", "data")
    assert [r["meta"]["reverse"]["score"] for r in kept] == [5]


def test_direct_mode_writes_the_instruction_without_translating(scripted_server, llm_options, tmp_path):
    server = scripted_server()
    cfg = ReverseConfig(language="de", mode="direct", check_back_translation=False, **llm_options(server))
    reverse(FIXTURE, tmp_path / "out", cfg)
    kept = by_control(rows(tmp_path / "out", "data"))
    assert set(kept) == {"SCORE=5", "LATESCORE", "LATEINSTR", "BACKWRONG"}
    meta = kept["SCORE=5"]["meta"]["reverse"]
    assert set(meta["calls"]) == {"instruction", "judge"}
    assert "fragment_en" not in meta and meta["mode"] == "direct"
    assert kept["SCORE=5"]["messages"][0]["content"] == meta["instruction"]


def test_rerun_is_up_to_date_and_force_pays_nothing(scripted_server, llm_options, tmp_path):
    server = scripted_server()
    cfg = ReverseConfig(language="de", **llm_options(server))
    first = reverse(FIXTURE, tmp_path / "out", cfg)
    paid = server.answers
    assert paid > 0
    assert reverse(FIXTURE, tmp_path / "out", cfg).up_to_date
    again = reverse(FIXTURE, tmp_path / "out", cfg, force=True)
    assert server.answers == paid
    assert again.manifest["counts"] == first.manifest["counts"]


def test_bundled_corpus_is_the_default_input(scripted_server, llm_options, tmp_path):
    server = scripted_server()
    cfg = ReverseConfig(language="ja", **llm_options(server))
    result = reverse(None, tmp_path / "out", cfg)
    steps = {s["name"]: s for s in result.manifest["steps"]}
    # All 24 fragments pass the filters; the scripted judge gives 4 to every pair.
    assert steps["fragment_length"]["in"] == 24 and steps["fragment_language"]["out"] == 24
    assert result.manifest["counts"]["kept"] == 24


def test_language_is_required(llm_options, tmp_path):
    with pytest.raises(ConfigError, match="--language"):
        reverse(FIXTURE, tmp_path / "out", ReverseConfig(model="x"))


def _digests(folder: Path) -> dict[str, str]:
    import hashlib

    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for sub in ("data", "rejected", "quarantine")
        for p in sorted((folder / sub).glob("*.parquet"))
    }


@pytest.mark.slow  # starts a local Ray instance
def test_ray_executor_writes_the_same_folder(scripted_server, llm_options, tmp_path):
    """``executor="ray"`` with 2 actors (chunks of 2 fragments, so both get some) writes the bytes
    the local run writes. Each run has its own request cache, so the actors really make their
    calls (with their own client and language-ID model, built in setup)."""
    server = scripted_server()

    def run(executor: str) -> dict:
        cfg = ReverseConfig(language="de", **llm_options(server, cache_path=tmp_path / f"{executor}.sqlite"))
        kw = {"executor": "ray", "workers": 2} if executor == "ray" else {}
        return reverse(FIXTURE, tmp_path / executor, cfg, chunk_rows=2, **kw).manifest

    local = run("local")
    paid = server.answers
    ray = run("ray")
    assert server.answers == 2 * paid  # every call again, from the actors
    assert ray["executor"] == "ray" and ray["workers"] == 2
    assert ray["counts"] == local["counts"] and local["counts"]["rejected"] > 0
    assert [(s["name"], s["in"], s["out"]) for s in ray["steps"]] == [
        (s["name"], s["in"], s["out"]) for s in local["steps"]
    ]
    assert _digests(tmp_path / "ray") == _digests(tmp_path / "local")


FRENCH = (
    "La bibliothèque du quartier ouvre désormais le dimanche matin, et beaucoup de familles viennent "
    "y passer quelques heures tranquilles à lire des romans, des bandes dessinées et des journaux."
)


def two_language_corpus(folder: Path) -> Path:
    """The German fixture (with its one French fragment) and a JSONL of French rows, one
    labelled fr and one unlabelled: a corpus in two languages, read for --language de."""
    folder.mkdir()
    (folder / "de.txt").write_text(FIXTURE.read_text())
    rows = [
        {"id": "fr-labelled", "text": FRENCH, "language": "fr"},
        {"id": "fr-bare", "text": FRENCH + " Merci."},
    ]
    (folder / "fr.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return folder


def test_per_language_counts_are_of_the_rows_once_fragment_length_labelled_them(
    scripted_server, llm_options, tmp_path
):
    server = scripted_server()
    corpus = two_language_corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    m = reverse(corpus, out, ReverseConfig(language="de", **llm_options(server))).manifest
    n_in, n_kept = m["counts"]["read"], m["counts"]["kept"]
    assert (n_in, n_kept) == (11, 3)
    reasons = [r["reason"] for r in rows(out, "rejected")]
    assert "labelled fr, not --language de" in reasons
    assert sum(r.startswith("language ID says fr") for r in reasons) == 2

    # Every row is a de row from the first step on (fragment_length sets it), so every count is under de.
    assert m["languages"] == {"de": {"in": n_in, "kept": n_kept}}
    for step in m["steps"]:
        assert step["in_by_language"] == ({"de": step["in"]} if step["in"] else {})
        assert set(step["removed_by_language"]) <= {"de"}
    assert sum(s["removed_by_language"].get("de", 0) for s in m["steps"]) == n_in - n_kept
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk["languages"] == m["languages"] and on_disk["steps"] == m["steps"]
    table = (out / "languages.md").read_text()
    assert f"| de | German | {n_in} | {n_kept} |" in table
    assert "(none)" not in table and "| fr |" not in table
    assert (out / "languages.csv").read_text().splitlines()[1].startswith(f"de,German,{n_in},{n_kept}")


def test_a_folder_counted_before_labelling_is_corrected_by_a_rerun(scripted_server, llm_options, tmp_path):
    server = scripted_server()
    corpus = two_language_corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    cfg = ReverseConfig(language="de", **llm_options(server))
    right = reverse(corpus, out, cfg).manifest
    # What the runner alone writes: the first step's input as the corpus left it.
    old = json.loads((out / "manifest.json").read_text())
    old["steps"][0]["in_by_language"] = {"(none)": 10, "fr": 1}
    old["languages"] = {
        "de": {"in": 0, "kept": 3},
        "(none)": {"in": 10, "kept": 0},
        "fr": {"in": 1, "kept": 0},
    }
    (out / "manifest.json").write_text(json.dumps(old))
    again = reverse(corpus, out, cfg)
    assert again.up_to_date
    assert again.manifest["languages"] == right["languages"] == {"de": {"in": 11, "kept": 3}}
    assert json.loads((out / "manifest.json").read_text())["steps"][0]["in_by_language"] == {"de": 11}


def test_the_judge_and_the_translator_can_be_other_models(scripted_server, llm_options, tmp_path):
    """--judge-model and --translator-model send each role's calls to its own model, so the writer
    does not grade its own instructions; a judge that answers in FastChat's ``[[N]]`` is read
    (issue #23, item 11). Without them every call goes to --model."""
    server = scripted_server()
    cfg = ReverseConfig(
        language="de",
        **llm_options(server, model="writer"),
        judge_model="judge-brackets",
        translator_model="mt",
    )
    assert cfg.separate("judge") and cfg.separate("translator")
    assert cfg.role_llm_config("judge").model == "judge-brackets"
    result = reverse(FIXTURE, tmp_path / "out", cfg)
    kept = by_control(rows(tmp_path / "out", "data"))
    assert set(kept) == {"SCORE=5", "LATESCORE", "LATEINSTR"}  # [[N]] read as Score: N is
    meta = kept["SCORE=5"]["meta"]["reverse"]
    assert meta["score"] == 5 and meta["judge_answer"].endswith("Rating: [[5]]")
    models = {phase: {c["model"] for c in calls} for phase, calls in meta["calls"].items()}
    assert models == {
        "translate_fragment": {"mt"},
        "instruction": {"writer"},
        "judge": {"judge-brackets"},
        "translate_instruction": {"mt"},
    }
    assert set(server.models) == {"writer", "judge-brackets", "mt"}
    llm = result.manifest["llm"]
    assert "judge-brackets" in llm["judge_model_id"] and "mt" in llm["translator_model_id"]
    assert "writer" in llm["model_id"]

    # The default: one model writes, judges and translates.
    server_one = scripted_server()
    default = reverse(FIXTURE, tmp_path / "one", ReverseConfig(language="de", **llm_options(server_one)))
    assert set(server_one.models) == {"scripted"}
    assert default.manifest["llm"]["judge_model_id"] == default.manifest["llm"]["model_id"]
