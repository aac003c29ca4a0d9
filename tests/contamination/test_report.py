import json

from tagengo.contamination.config import ContaminationConfig
from tagengo.contamination.stage import contamination


def test_report_section_shows_the_json_counts(tmp_path, mini_bench):
    from tagengo.report.html import collect_sections

    src = tmp_path / "rows.jsonl"
    rows = [
        ("en", "A shop sells pencils at 3 for 45 cents. How much do 12 pencils cost?"),
        ("en", "What is the capital of Peru?"),
    ]
    src.write_text(
        "".join(
            json.dumps({"id": f"r{i}", "source": "t", "language": lang, "meta": {},
                        "messages": [{"role": "user", "content": text}]}) + "\n"
            for i, (lang, text) in enumerate(rows)
        )
    )  # fmt: skip
    cfg = ContaminationConfig(benches=[str(mini_bench / "tagengo_mini")], checks=["exact", "ngram"])
    contamination(src, tmp_path / "out", cfg, workers=1, progress=False)
    report = json.loads((tmp_path / "out" / "report" / "contamination.json").read_text())
    assert report["benches"]["tagengo_mini"]["matched_rows"] == {"exact": 1, "ngram": 1, "any": 1}
    (section,) = [s for s in collect_sections(tmp_path / "out") if s.kind == "benchmark contamination"]
    table = section.tables()["Rows matching a benchmark question, per check"]
    assert table.rows == [["tagengo_mini", "en", 8, 1, 1, 1]]
    assert section.summary.startswith("1 of 2 rows")
