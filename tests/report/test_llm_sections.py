"""The report's reverse and translate sections against the files they name: real folders made
against the scripted chat server (tests/report/conftest.py), every number checked against the
rows' meta, the stage's own lambda.json and its manifest."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tagengo.report.html import collect_sections, write_report
from tagengo.reverse.report_hook import LAMBDAS

from .conftest import PRICES, VIEWPORT_WIDTH


def rows(folder: Path) -> list[dict]:
    out = []
    for sub in ("data", "rejected"):
        for r in pq.read_table(folder / sub).to_pylist():
            r["meta"] = json.loads(r["meta"])
            r["where"] = sub
            out.append(r)
    return out


def section(folder: Path, kind: str):
    (sec,) = [s for s in collect_sections(folder) if s.kind == kind]
    return sec


def calls_of(rs: list[dict], field: str) -> list[tuple[dict, str, dict]]:
    """(row, phase, call) for every call the rows record."""
    out = []
    for r in rs:
        if field == "reverse":
            for phase, calls in (r["meta"].get("reverse") or {}).get("calls", {}).items():
                out += [(r, phase, c) for c in calls]
        else:
            out += [(r, "translate", c) for c in (r["meta"].get("translation") or {}).get("calls", [])]
    return out


def price(c: dict) -> float:
    return (
        c["input_tokens"] * PRICES["input_price_per_1m"] + c["output_tokens"] * PRICES["output_price_per_1m"]
    ) / 1e6


def check_call_tables(t: dict, m: dict, calls: list[tuple[dict, str, dict]]) -> None:
    """Tokens and cost, per language and finish reasons: sums of the calls, and the manifest's."""
    # Each call's cost is in its meta, and is the price table applied to its tokens.
    for _, _, c in calls:
        assert c["cost"] == pytest.approx(price(c), rel=1e-9)
    ((model, n_calls, n_rows, cached, retried, n_in, n_out, cost),) = t["Tokens and cost"].rows
    assert model == "scripted"
    assert n_calls == len(calls) and n_rows == len({r["id"] for r, _, _ in calls})
    # fr's English texts repeat de's (the scripted translator's one sentence): some replayed.
    assert cached == sum(c["cached"] for _, _, c in calls)
    assert retried == 0
    assert n_in == sum(c["input_tokens"] for _, _, c in calls)
    assert n_out == sum(c["output_tokens"] for _, _, c in calls)
    assert cost == pytest.approx(sum(c["cost"] for _, _, c in calls), abs=1e-6)
    # The manifest's step summary counted the same calls: paid ones with their tokens, and the
    # replayed ones at what they cost when made.
    (summ,) = [s["summary"]["models"]["scripted"] for s in m["steps"] if s.get("summary")]
    paid = [c for _, _, c in calls if not c["cached"]]
    assert (summ["calls"], summ["cached"]) == (len(paid), cached)
    assert (summ["input_tokens"], summ["output_tokens"]) == (
        sum(c["input_tokens"] for c in paid),
        sum(c["output_tokens"] for c in paid),
    )
    assert summ["cost"] + summ["cached_cost"] == pytest.approx(cost, abs=1e-5)
    per_lang = {r[0]: r for r in t["Tokens and cost per language"].rows}
    want = Counter()
    for r, _, c in calls:
        want[(r["language"], "calls")] += 1
        want[(r["language"], "in")] += c["input_tokens"]
        want[(r["language"], "out")] += c["output_tokens"]
    assert {k: (v[3], v[4], v[5]) for k, v in per_lang.items()} == {
        lang: (want[(lang, "calls")], want[(lang, "in")], want[(lang, "out")])
        for lang in {r["language"] for r, _, _ in calls}
    }
    assert sum(v[6] for v in per_lang.values()) == pytest.approx(cost, abs=1e-5)
    finish = {r[0]: r[1:] for r in t["Finish reasons"].rows}
    assert finish == {
        "stop": [
            len(calls),
            sum(r["where"] == "data" for r, _, _ in calls),
            sum(r["where"] == "rejected" for r, _, _ in calls),
        ]
    }


@pytest.mark.parametrize("name", ["3-reverse-de", "3-reverse-fr"])
def test_reverse_section_matches_the_rows_and_lambda_json(llm_outputs: Path, name: str) -> None:
    folder = llm_outputs / name
    m = json.loads((folder / "manifest.json").read_text())
    rs = rows(folder)
    sec = section(folder, "instructions")
    t = sec.tables()
    assert "λ sweep" in sec.figures() and "Finish reasons" in sec.figures()

    # λ sweep: the stage's own lambda.json, and the scores in the rows' meta.
    lam = json.loads((folder / "lambda.json").read_text())
    sweep = t["λ sweep"]
    assert sweep.columns[4:] == [
        f"λ={x}" + (" (chosen)" if x == m["config"]["min_score"] else "") for x in LAMBDAS
    ]
    assert m["config"]["min_score"] == lam["min_score"] == 3
    got = {
        r[0]: {"judged": r[3], **{str(x): v for x, v in zip(LAMBDAS, r[4:], strict=True)}} for r in sweep.rows
    }
    assert got == lam["languages"]
    (lang,) = got
    scores = [r["meta"]["reverse"]["score"] for r in rs if "score" in r["meta"].get("reverse", {})]
    assert got[lang]["judged"] == len(scores) and got[lang]["5"] == scores.count(5)
    reached = [r for r in rs if "judge" in r["meta"].get("reverse", {}).get("calls", {})]
    assert sweep.rows[0][2] == len(reached)
    # What the chosen λ keeps, less what the back-translation check dropped, is what was kept.
    back = t["Back-translation check"].rows
    assert got[lang]["3"] - back[0][4] == m["counts"]["kept"]

    # Back-translation check: rows that reached it, and their LID and length figures.
    checked = [r for r in rs if "translate_instruction" in r["meta"].get("reverse", {}).get("calls", {})]
    ((b_lang, _, n, passed, failed, lid, ratio),) = back
    assert (b_lang, n, passed, failed) == (
        lang,
        len(checked),
        sum(r["where"] == "data" for r in checked),
        sum(r["where"] == "rejected" for r in checked),
    )
    infos = [r["meta"]["reverse"]["back_translation_check"] for r in checked]
    assert lid == round(statistics.median(i["lid_score"] for i in infos), 4)
    assert ratio == round(statistics.median(i["length_ratio"] for i in infos), 4)

    # Task types: rows asked, judged, mean score, kept.
    tasks = {r[0]: r[1:] for r in t["Task types"].rows}
    want: dict[str, list] = {}
    for r in rs:
        info = r["meta"].get("reverse", {})
        if "task_type" in info:
            w = want.setdefault(info["task_type"], [0, [], 0])
            w[0] += 1
            w[1] += [info["score"]] if "score" in info else []
            w[2] += r["where"] == "data"
    assert tasks == {
        k: [w[0], len(w[1]), round(statistics.fmean(w[1]), 3) if w[1] else None, w[2]]
        for k, w in want.items()
    }

    # Calls per phase: the four phases of roundtrip mode, with the re-asks.
    calls = calls_of(rs, "reverse")
    phases = {r[0]: r[1:] for r in t["Calls per phase"].rows}
    assert set(phases) == {"translate_fragment", "instruction", "judge", "translate_instruction"}
    for phase, (n_calls, n_rows, again, n_in, n_out, cost) in phases.items():
        mine = [(r, c) for r, p, c in calls if p == phase]
        assert (n_calls, n_rows, again) == (len(mine), len({r["id"] for r, _ in mine}), len(mine) - n_rows)
        assert (n_in, n_out) == (
            sum(c["input_tokens"] for _, c in mine),
            sum(c["output_tokens"] for _, c in mine),
        )
        assert cost == pytest.approx(sum(price(c) for _, c in mine), abs=1e-6)
    assert phases["judge"][2] == (2 if name.endswith("de") else 1)  # LATESCORE (and NOSCORE's re-ask)
    check_call_tables(t, m, calls)

    # Rejection reasons (the stage section): every rejected row once, under its step, with examples.
    reasons = section(folder, "reverse").tables()["reverse: rejection reasons"]
    assert sum(r[2] for r in reasons.rows) == m["counts"]["rejected"]
    assert all(r[4] for r in reasons.rows)


def test_lambda_sweep_across_reverse_folders_is_each_lambda_json(llm_outputs: Path) -> None:
    """A reverse run makes one language: languages meet in one sweep across the folders."""
    from tagengo.report.html import gather

    (sec,) = [s for s in gather([llm_outputs]).sections if s.kind == "lambda"]
    table = sec.tables()["λ sweep, every language"]
    assert "λ sweep, every language" in sec.figures()
    got = {r[0]: r for r in table.rows}
    assert set(got) == {"3-reverse-de", "3-reverse-fr"}
    for name, r in got.items():
        lam = json.loads((llm_outputs / name / "lambda.json").read_text())
        ((lang, want),) = lam["languages"].items()
        assert r[1] == lang and r[3] == lam["min_score"]
        assert r[5:11] == [want["judged"], *[want[str(x)] for x in LAMBDAS]]
        assert r[11] == round(100 * want[str(lam["min_score"])] / want["judged"], 2)
    # Only one reverse folder: no such section.
    assert not [s for s in gather([llm_outputs / "3-reverse-de"]).sections if s.kind == "lambda"]


def test_reverse_rejection_examples_show_the_fragment(llm_outputs: Path) -> None:
    """A fragment rejected before any instruction was written has no user turn: its example is
    the fragment itself, and reasons group with their numbers blanked."""
    reasons = section(llm_outputs / "3-reverse-de", "reverse").tables()["reverse: rejection reasons"]
    by = {r[1]: r for r in reasons.rows}
    short = by["fragment too short: # characters (--min-fragment-chars #)"]
    assert short[0] == "fragment_length" and "Viel zu kurz." in short[4]
    assert by["judge score # below --min-score #"][2] == 1
    assert by["language ID says fr (#), not de"][0] == "fragment_language"


def test_translate_section_matches_the_rows(llm_outputs: Path) -> None:
    folder = llm_outputs / "4-translate"
    m = json.loads((folder / "manifest.json").read_text())
    rs = rows(folder)
    sec = section(folder, "translation")
    t = sec.tables()
    assert {"Rows per target language", "Translation checks", "Finish reasons"} <= set(sec.figures())

    per = {r[0]: r for r in t["Rows per target language"].rows}
    assert set(per) == set(m["config"]["to"]) == {"de", "ja"}
    for lang, row in per.items():
        mine = [r for r in rs if r["meta"].get("translation", {}).get("to") == lang]
        kept = [r for r in mine if r["where"] == "data"]
        msgs = [x for r in mine for x in r["meta"]["translation"]["messages"]]
        lids = [x["lid_score"] for x in msgs if "lid_score" in x]
        ratios = [x["length_ratio"] for x in msgs if "length_ratio" in x]
        assert row[2:6] == [
            len(mine),
            len(kept),
            len(mine) - len(kept),
            round(100 * (len(mine) - len(kept)) / len(mine), 2),
        ]
        # The manifest counts the same: rows in and kept per language.
        assert (row[2], row[3]) == (m["languages"][lang]["in"], m["languages"][lang]["kept"])
        assert row[6] == len(msgs)
        assert row[7] == sum(x.get("translated") is False for x in msgs)
        assert row[8] == sum(x.get("protected", 0) for x in msgs) > 0  # the code item's spans
        assert row[9] == round(statistics.median(lids), 4) and row[10] == round(min(lids), 4)
        assert row[11] == sum(x["lid"] != lang for x in msgs if "lid" in x) == 1  # WRONGLANG
        assert row[12] == round(statistics.median(ratios), 4)
    assert (
        "Source rows passed through unchanged (include_source): 5 (en 5)"
        in t["Rows per target language"].note
    )

    rej = {(r[0], r[2]): r for r in t["Rejected translations per language"].rows}
    want = Counter((r["language"], r["reason"]) for r in rs if r["where"] == "rejected")
    assert sum(r[3] for r in rej.values()) == sum(want.values()) == m["counts"]["rejected"]
    # An id that is also a word ("empty") stays a word; numbers are blanked.
    empty = rej[("de", "empty answer (translation of message # (user))")]
    assert empty[3] == 1 and "[empty-de]" in empty[4] and "(empty)" in empty[4]
    wrong = rej[("ja", "message # (user) is not in ja: language ID says en (#)")]
    assert "This is a careful translation" in wrong[4]  # the rejected translation itself

    check_call_tables(t, m, calls_of(rs, "translation"))


def test_old_folders_without_cost_per_call_say_so(llm_outputs: Path, tmp_path: Path) -> None:
    """A folder written before calls carried their cost: no made-up figure, the manifest's total
    named instead."""
    import shutil

    import pyarrow as pa

    folder = tmp_path / "old"
    shutil.copytree(llm_outputs / "4-translate", folder)
    for f in (folder / "data").glob("*.parquet"):
        t = pq.read_table(f)
        metas = []
        for raw in t.column("meta").to_pylist():
            meta = json.loads(raw)
            for c in meta.get("translation", {}).get("calls", []):
                del c["cost"]
            metas.append(json.dumps(meta))
        pq.write_table(t.set_column(t.column_names.index("meta"), "meta", pa.array(metas)), f)
    table = section(folder, "translation").tables()["Tokens and cost"]
    assert table.rows[0][-1] is None
    assert "the manifest's per-model totals: scripted" in table.note


@pytest.mark.slow
def test_page_with_reverse_and_translate_in_headless_chromium(
    llm_outputs: Path, tmp_path: Path, chromium
) -> None:
    html = write_report([llm_outputs], tmp_path / "report.html")
    v = chromium(html, tmp_path / "llm.png", click_sort="section[data-kind=instructions] table.sortable")
    assert v.errors == [] and v.failed == []
    assert v.requests == [html.resolve().as_uri()]
    assert v.section_kinds == ["reverse", "instructions"] * 2 + ["lambda", "translate", "translation"]
    assert v.blank_fraction < 0.9 and v.page_width <= VIEWPORT_WIDTH
    # The folder's cache.sqlite is no folder; nothing else in it was skipped.
    assert "Not shown" not in html.read_text()
