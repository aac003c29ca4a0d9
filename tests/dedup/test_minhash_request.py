"""MinHash with the request check (the default): a lexically close pair is merged only when it
is one request without a model; `--no-content-check` keeps pure MinHash. And the warning for
options the chosen --method never reads."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from tagengo.cli import main
from tagengo.dedup.config import DedupConfig
from tagengo.dedup.minhash import CONTENT_DIFFERS, minhash_check, minhash_decide, same_request
from tagengo.dedup.step import NearDuplicateFilter
from tagengo.records import Record

#: Near misses that pure MinHash at its default 0.8 merged (a newcomer's finding), each with the
#: reason the check gives. Lower-case "austria"/"australia" is no name: a content word differs.
NEAR_MISSES = [
    ("de", "Wie viel ist 12 mal 13?", "Wie viel ist 12 mal 14?", "another number"),
    ("en", "Explain World War I", "Explain World War II", "another name"),
    ("en", "what is the capital of australia", "what is the capital of austria", CONTENT_DIFFERS),
    (
        "en",
        "Write a python function that sorts a list in ascending order",
        "Write a python function that sorts a list in descending order",
        CONTENT_DIFFERS,
    ),
    ("en", "Write a tweet about ☕", "Write a tweet about 🍵", "another symbol"),
    ("en", "Write a story where the cat chases the mouse", "Write a story where the mouse chases the cat", "the roles swap"),
]  # fmt: skip

#: One request each: case, punctuation, a filler word.
SAME = [
    ("en", "How do I reverse a list in Python?", "how do I reverse a list in Python"),
    ("zh", "写一首关于月亮的诗", "请写一首关于月亮的诗"),
    ("de", "Schreibe ein Gedicht über den Herbst.", "Schreibe bitte ein Gedicht über den Herbst!"),
]


@pytest.mark.parametrize(("lang", "a", "b", "why"), NEAR_MISSES)
def test_near_misses_are_kept_apart_with_the_reason(lang, a, b, why):
    assert same_request(a, b, lang) == why
    assert same_request(a, b, None) == why  # a row with no language: guessed, same answer
    # Pure MinHash merges each of them at its default threshold; the check keeps both rows.
    assert minhash_decide([a, b], 0.8).n_removed == 1
    res = minhash_check([a, b], 0.8, check=True, lang=lang)
    assert res.decisions.n_removed == 0
    assert dict(res.stopped) == {why: 1}


@pytest.mark.parametrize(("lang", "a", "b"), SAME)
def test_the_same_request_is_still_merged(lang, a, b):
    assert same_request(a, b, lang) is None
    res = minhash_check([a, b], 0.6, check=True, lang=lang)
    assert res.decisions.n_removed == 1
    assert res.why == {(1, 0): "same content words"}
    assert not res.stopped


def _rows(pairs: list[tuple[str, str, str, str]]) -> list[Record]:
    rows = []
    for k, (lang, a, b, _) in enumerate(pairs):
        for side, text in (("a", a), ("b", b)):
            rows.append(
                Record(
                    id=f"{lang}{k}{side}",
                    source="t",
                    messages=[{"role": "user", "content": text}],
                    language=lang,
                )
            )
    return rows


def test_step_counts_the_pairs_the_check_stopped_per_language():
    same = [(lang, a, b, "") for lang, a, b in SAME]
    rows = _rows(NEAR_MISSES + same)
    step = NearDuplicateFilter(DedupConfig(method="minhash", minhash={"threshold": 0.6}), progress=False)
    kept, rejected = step.process(rows)
    assert len(kept) + len(rejected) == len(rows)
    # Only the same-request pairs lose a row, each with the check's reason.
    assert sorted(r.record.id for r in rejected) == ["de8b", "en6b", "zh7b"]
    for r in rejected:
        assert r.reason.endswith(", same request: same content words)")
        assert r.record.meta["request_check"] == "same content words"
        assert r.record.meta["dedup_by"] == "minhash"
    langs = step.summary()["languages"]
    assert langs["en"]["minhash_stopped"] == 5 and langs["de"]["minhash_stopped"] == 1
    assert langs["en"]["minhash_stopped_by"] == {
        "another name": 1,
        CONTENT_DIFFERS: 2,
        "another symbol": 1,
        "the roles swap": 1,
    }
    assert langs["zh"]["minhash_stopped"] == 0


def test_no_content_check_is_pure_minhash():
    rows = _rows(NEAR_MISSES)
    cfg = DedupConfig(method="minhash", content_check=False)
    step = NearDuplicateFilter(cfg, progress=False)
    _, rejected = step.process(rows)
    assert len(rejected) == len(NEAR_MISSES)  # every near miss merged, as before
    assert all(r.reason.endswith(" > 0.8)") for r in rejected)
    assert "minhash_stopped" not in step.summary()["languages"]["en"]


def test_ignored_options_are_named():
    cfg = DedupConfig.model_validate(
        {"method": "minhash", "threshold": 0.5, "embedder": {"kind": "openai"}, "judge": {"model": "m"}}
    )
    assert set(cfg.ignored_options()) == {"--threshold", "--embedder-kind", "--judge-model"}
    assert DedupConfig.model_validate({"minhash": {"threshold": 0.5}}).ignored_options() == [
        "--minhash-threshold"
    ]
    # Both passes read both families; the defaults are never "set".
    assert (
        DedupConfig.model_validate(
            {"method": "both", "threshold": 0.9, "minhash": {"seed": 1}}
        ).ignored_options()
        == []
    )
    assert DedupConfig(method="minhash").ignored_options() == []


def test_cli_warns_about_options_method_minhash_ignores(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"id": "a", "language": "en", "messages": [{"role": "user", "content": "hello there"}]}\n'
    )
    out = tmp_path / "out"
    args = ["dedup", "--workers", "1", "--no-progress", "--input", str(src), "--out", str(out)]
    code = main([*args, "--method", "minhash", "--threshold", "0.5", "--embedder-kind", "openai"])
    assert code == 0
    err = capsys.readouterr().err
    assert "warning: --method minhash uses no embeddings, so --embedder-kind, --threshold are ignored" in err
    assert "--minhash-threshold (0.8)" in err
    assert pq.read_table(out / "data").num_rows == 1
    # No warning when nothing is ignored.
    assert main([*args, "--force", "--method", "minhash", "--minhash-threshold", "0.5"]) == 0
    assert "warning: --method" not in capsys.readouterr().err
