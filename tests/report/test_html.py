"""`tagengo report`: the page's numbers against the files they name, and the page itself in
headless Chromium (no console errors, no request leaving the file, not blank)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tagengo.cli import main
from tagengo.errors import InputError
from tagengo.report.html import collect_sections, write_report

from .conftest import VIEWPORT_WIDTH

pytestmark = [pytest.mark.slow, pytest.mark.embedder]  # curate with the bundled embedder builds the fixture


def _by_kind(root: Path) -> dict[str, list]:
    out: dict[str, list] = {}
    for s in collect_sections(root):
        out.setdefault(s.kind, []).append(s)
    return out


def test_funnel_and_languages_match_the_manifest(stage_outputs: Path) -> None:
    m = json.loads((stage_outputs / "1-curated" / "manifest.json").read_text())
    (curate,) = _by_kind(stage_outputs)["curate"]
    t = curate.tables()
    funnel = t["Funnel"]
    assert [r[0] for r in funnel.rows] == ["read"] + [s["name"] for s in m["steps"]]
    assert [r[2] for r in funnel.rows] == [m["counts"]["read"]] + [s["out"] for s in m["steps"]]
    assert funnel.rows[-1][2] == m["counts"]["kept"]
    assert "1-curated/manifest.json" in funnel.source
    langs = {r[0]: r for r in t["Rows per language"].rows}
    assert {k: (v["in"], v["kept"]) for k, v in m["languages"].items()} == {
        k: (r[2], r[3]) for k, r in langs.items()
    }
    lid = {r[0]: r for r in t["LID removal per language (language_id)"].rows}
    step = next(s for s in m["steps"] if s["name"] == "language_id")
    assert sum(r[3] for r in lid.values()) == step["removed"] > 0
    # Rejection reasons: every rejected row is counted once, under its own step.
    reasons = t["curate: rejection reasons"]
    rej = pq.read_table(stage_outputs / "1-curated" / "rejected").to_pylist()
    assert sum(r[2] for r in reasons.rows) == len(rej) == m["counts"]["rejected"]
    per_step: dict[str, int] = {}
    for r in reasons.rows:
        per_step[r[0]] = per_step.get(r[0], 0) + r[2]
    assert per_step == {s["name"]: s["removed"] for s in m["steps"] if s["removed"]}


def test_dedup_section_reads_the_step_summary_and_pairs(stage_outputs: Path) -> None:
    m = json.loads((stage_outputs / "1-curated" / "manifest.json").read_text())
    summ = next(s for s in m["steps"] if s["name"] == "dedup")["summary"]
    (dedup,) = _by_kind(stage_outputs)["dedup"]
    per_lang = {r[0]: r for r in dedup.tables()["Dedup per language"].rows}
    assert {k: v["removed"] for k, v in summ["languages"].items()} == {k: r[6] for k, r in per_lang.items()}
    assert "Similarity histogram" in dedup.figures()
    hist = json.loads((stage_outputs / "1-curated" / "report" / "dedup_nn_similarity.json").read_text())
    above = {r[0]: r[3] for r in dedup.tables()["Prompts above the threshold per language"].rows}
    assert above == {k: v["above_threshold"] for k, v in hist["languages"].items()}
    pairs = dedup.tables()["Example pairs"].rows
    assert pairs
    threshold = summ["threshold"]
    for _lang, sim, by, removed, kept in pairs:
        assert sim > threshold if by == "embedding" else sim == 1.0
        # The prompt it duplicates was found among the kept rows, by id.
        assert "(not in data/)" not in kept
        assert removed.split(":")[0] != kept.split(":")[0]
    # The other side: kept prompts just below the threshold, as --report recorded them.
    below = dedup.tables()["Kept pairs just below the threshold"]
    recorded = sorted(
        (
            (lang, p["similarity"], p["id"], p["neighbour"])
            for lang, h in hist["languages"].items()
            for p in h.get("closest_kept", [])
        ),
        key=lambda x: -x[1],
    )
    assert below.rows and "closest_kept" in below.source
    # Two prompts that are each other's nearest neighbour are one pair, not two.
    assert len({frozenset(r[2:]) for r in recorded}) == len(recorded)
    kept_ids = set(pq.read_table(stage_outputs / "1-curated" / "data").column("id").to_pylist())
    for (lang, sim, prompt, neighbour, _), want in zip(below.rows, recorded, strict=False):
        assert (lang, sim, prompt.split(":")[0], neighbour.split(":")[0]) == want
        assert sim <= threshold and prompt.split(":")[0] in kept_ids
        assert "(not found)" not in prompt + neighbour


def test_mix_rows_per_language_and_source_add_up(stage_outputs: Path) -> None:
    (mix,) = _by_kind(stage_outputs)["mixture"]
    table = mix.tables()["Rows per language and source"]
    data = pq.read_table(stage_outputs / "2-mix" / "data").to_pylist()
    assert sum(r[-1] for r in table.rows) == len(data)
    sources = table.columns[2:-1]
    got = {(r[0], s): n for r in table.rows for s, n in zip(sources, r[2:-1], strict=True) if n}
    want: dict[tuple[str, str], int] = {}
    for row in data:
        key = (row["language"], row["source"])
        want[key] = want.get(key, 0) + 1
    assert got == want


def test_bench_numbers_are_bench_shows(stage_outputs: Path, tmp_path: Path) -> None:
    """The page's models x languages table is what `tagengo bench show` writes to scores.csv."""
    bench = stage_outputs / "5-bench" / "data" / "mt_bench"
    assert main(["bench", "show", str(bench), "--out", str(tmp_path / "show")]) == 0
    with open(tmp_path / "show" / "scores.csv", newline="") as f:
        shown = {(r["model"], r["language"]): float(r["score"]) for r in csv.DictReader(f)}
    (sec,) = _by_kind(stage_outputs)["bench"]
    t = sec.tables()
    table = t["Models × languages"]
    cols = table.columns[1:-1]
    got = {(r[0], c): v for r in table.rows for c, v in zip(cols, r[1:-1], strict=True) if v is not None}
    assert got.keys() == shown.keys()
    for k, v in shown.items():
        assert got[k] == pytest.approx(v, abs=1e-3)
    assert "model_judgment" in table.source
    # Parse failures: the fixture's -1 rows; position consistency: its pairwise file.
    lines = (bench / "model_judgment" / "gpt-4_single.jsonl").read_text().splitlines()
    n_bad = sum(json.loads(x)["score"] == -1 for x in lines)
    (pf,) = t["Judge parse failures"].rows
    assert (pf[1], pf[3]) == (len(lines), n_bad)
    assert t["Position consistency (pairwise)"].rows
    assert {"Heatmap", "Score intervals"} <= set(sec.figures())
    assert any(name.startswith("Radar") for name in sec.figures())


def test_page_in_headless_chromium(stage_outputs: Path, tmp_path: Path, chromium) -> None:
    html = tmp_path / "report.html"
    assert main(["report", str(stage_outputs), "--out", str(html)]) == 0
    text = html.read_text()
    # Nothing to fetch: no http(s) URL in any src/href, images inline.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert text.count("data:image/png;base64,") >= 10
    shot = tmp_path / "report.png"
    v = chromium(html, shot, click_sort="section[data-kind=curate] table.sortable")
    assert v.errors == []
    assert v.external_requests == [] and v.failed == []
    assert v.requests == [html.resolve().as_uri()]
    assert v.section_kinds == [
        "curate",
        "dedup",
        "mix",
        "mixture",
        "reverse",
        "instructions",
        "translate",
        "translation",
        "bench",
    ]
    # The click sorted the funnel by "remaining", ascending.
    nums = [int(x.replace(",", "")) for x in v.sorted_column]
    assert nums == sorted(nums) and len(nums) > 3
    # Not blank: the most common colour (the background) covers well under the whole page.
    assert v.blank_fraction < 0.9
    # Nothing widens the page past the window (wide tables scroll inside their own box).
    assert v.page_width <= VIEWPORT_WIDTH


def test_missing_folder_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        write_report([tmp_path / "nope"], tmp_path / "r.html")


def test_a_folder_with_nothing_known_is_listed_not_dropped(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    out = write_report([tmp_path / "empty"], tmp_path / "r.html")
    text = out.read_text()
    assert "Not shown" in text and str(tmp_path / "empty") in text


def test_cli_warns_in_the_terminal_when_there_is_nothing_to_show(tmp_path: Path, capsys) -> None:
    """Nothing known: a warning on stderr naming the folder, the page still written, exit 0.
    A folder that does not exist: one sentence, exit 2."""
    (tmp_path / "empty").mkdir()
    html = tmp_path / "r.html"
    assert main(["report", str(tmp_path / "empty"), "--out", str(html)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {tmp_path / 'empty'}: nothing to show" in err
    assert "none of the folders given holds stage output this report knows" in err
    assert "None of the folders given holds stage output" in html.read_text()
    assert main(["report", str(tmp_path / "nope"), "--out", str(html)]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_sub_folders_with_nothing_known_are_listed(stage_outputs: Path, tmp_path: Path, capsys) -> None:
    """A folder of stage folders (out/demo) also lists, and warns about, its other sub-folders."""
    (stage_outputs / "cache").is_dir() or (stage_outputs / "cache").mkdir()
    html = tmp_path / "r.html"
    assert main(["report", str(stage_outputs), "--out", str(html)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {stage_outputs / 'cache'}: nothing to show" in err
    assert "none of the folders given" not in err
    assert "Not shown" in html.read_text() and str(stage_outputs / "cache") in html.read_text()


@pytest.mark.llm
def test_generation_section_counts_what_the_rows_carry(tmp_path: Path) -> None:
    """A real generate run (bundled SmolLM2, a few tokens, so most answers are cut and rejected):
    the page's tokens, finish reasons and rejection reasons are the rows' meta.generation."""
    from tagengo.generate.config import GenerateConfig
    from tagengo.generate.stage import generate

    prompts = tmp_path / "prompts.jsonl"
    rows = [
        ("g1", "en", "Reply with one word: what colour is the sky on a clear day?"),
        ("g2", "de", "Nenne drei Farben des Regenbogens."),
        ("g3", "es", "Escribe un poema largo sobre el mar y las olas."),
    ]
    prompts.write_text(
        "\n".join(
            json.dumps({"id": i, "language": lang, "messages": [{"role": "user", "content": text}]})
            for i, lang, text in rows
        )
        + "\n"
    )
    cfg = GenerateConfig(backend="llamacpp", cache_path=str(tmp_path / "llm.sqlite"), max_tokens=6)
    m = generate(prompts, tmp_path / "gen", cfg, progress=False).manifest
    (sec,) = [s for s in collect_sections(tmp_path / "gen") if s.kind == "generation"]
    t = sec.tables()
    metas = [
        json.loads(x)["generation"]
        for sub in ("data", "rejected")
        for x in pq.read_table(tmp_path / "gen" / sub).column("meta").to_pylist()
    ]
    (model_row,) = t["Tokens and cost"].rows
    assert model_row[1] == len(metas) == len(rows)
    assert model_row[2] == m["counts"]["kept"]
    assert model_row[3] == sum(g["input_tokens"] for g in metas)
    assert model_row[4] == sum(g["output_tokens"] for g in metas)
    finish = {r[0]: (r[1], r[2], r[3]) for r in t["Finish reasons"].rows}
    assert sum(v[0] for v in finish.values()) == len(rows)
    assert sum(v[2] for v in finish.values()) == m["counts"]["rejected"]
    assert {r[0] for r in t["Per language"].rows} == {"en", "de", "es"}
    assert {"Finish reasons", "Answer length"} <= set(sec.figures())
    if m["counts"]["rejected"]:
        reasons = next(s for s in collect_sections(tmp_path / "gen") if s.kind == "generate").tables()
        assert any("unfinished" in r[1] for r in reasons["generate: rejection reasons"].rows)


def test_a_stage_where_nothing_survives_still_reports(tmp_path: Path, chromium) -> None:
    """Every row rejected (a 1-token limit): the funnel ends at 0, the reasons are all there,
    and the page has no chart that needs kept rows but still loads cleanly."""
    from tagengo.curate.stage import curate, preset_config

    # No global step: an empty table through the cap is the runner's own case (its tests).
    cfg = preset_config("default", length={"max_tokens": 1}, cap={"enabled": False})
    m = curate(None, tmp_path / "none", cfg, progress=False, workers=1).manifest
    assert m["counts"]["kept"] == 0
    (sec,) = collect_sections(tmp_path / "none")
    t = sec.tables()
    assert t["Funnel"].rows[-1][2] == 0
    assert sum(r[2] for r in t["curate: rejection reasons"].rows) == m["counts"]["rejected"]
    assert "Language distribution" not in sec.figures()
    html = write_report([tmp_path / "none"], tmp_path / "r.html")
    v = chromium(html, tmp_path / "r.png")
    assert v.errors == [] and v.external_requests == [] and v.section_kinds == ["curate"]


def test_a_folder_named_twice_is_shown_once(stage_outputs: Path) -> None:
    from tagengo.report.html import gather

    mix_dir = stage_outputs / "2-mix"
    once = gather([mix_dir])
    twice = gather([mix_dir, f"{mix_dir}/", mix_dir / ".." / "2-mix"])
    assert [s.title for s in twice.sections] == [s.title for s in once.sections]
    assert "mixture" in [s.kind for s in once.sections]
    assert twice.folders == [str(mix_dir)]
