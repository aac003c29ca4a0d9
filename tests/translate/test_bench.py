"""Translating an MT-Bench question set (FastChat layout) into a new bench folder."""

from __future__ import annotations

import json
from pathlib import Path

from tagengo.io.fastchat import read_questions
from tagengo.translate.bench import translate_bench
from tagengo.translate.config import TranslateConfig

BENCH = Path(__file__).parent / "fixtures" / "mt_bench"


def test_questions_and_references_are_translated_with_aligned_ids(
    scripted_server, scripted, llm_options, tmp_path
):
    server = scripted_server()
    out = tmp_path / "mt_bench_DE"
    # the scripted translator writes stock sentences by length, not one per source sentence
    report = translate_bench(BENCH, out, "de", TranslateConfig(check_sentences=False, **llm_options(server)))

    questions = read_questions(out / "question.jsonl")  # FastChat's format, read by our reader
    assert [q.question_id for q in questions] == [81, 101]
    source = {json.loads(line)["question_id"]: json.loads(line) for line in (BENCH / "question.jsonl").open()}
    math = next(q for q in questions if q.question_id == 101)
    assert math.category == "math" and len(math.turns) == 2 and len(math.reference) == 2
    assert "12 / 3 = 4" in math.turns[0] and scripted.SENTENCES["de"] in math.turns[0]
    assert math.reference[0] != source[101]["reference"][0]
    assert "4 * 2 = 8" in math.reference[0]

    refs = [json.loads(line) for line in (out / "reference_answer" / "gpt-4.jsonl").open()]
    assert [r["answer_id"] for r in refs] == ["ref101"]  # 125's answers leave with their question
    assert "4 * 2 = 8" in refs[0]["choices"][0]["turns"][0]
    assert refs[0]["tstamp"] == 1.0 and refs[0]["model_id"] == "gpt-4"

    assert report["counts"]["kept"] == 2 and report["counts"]["questions"] == 3
    assert report["left_out"][0]["question_id"] == "125"
    assert "is not in de" in report["left_out"][0]["reason"]
    saved = json.loads((out / "tagengo" / "translation.json").read_text())
    assert saved["left_out"] == report["left_out"]


def test_a_question_whose_numbers_changed_is_left_out(scripted_server, llm_options, tmp_path):
    """A bench question is checked as dataset rows are: Q111's ``(3, 3)`` written ``(3, 5)``
    leaves the question out, the numbers named (issue #23, item 2)."""
    import shutil

    bench = tmp_path / "mt_bench"
    shutil.copytree(BENCH, bench)
    q111 = {
        "question_id": 111,
        "category": "math",
        "turns": [
            "The vertices of a triangle are at points (0, 0), (-1, 1), and (3, 3). What is the area of "
            "the triangle? BADNUM",
            "What's the area of the circle circumscribing the triangle?",
        ],
    }
    with (bench / "question.jsonl").open("a") as fh:
        fh.write(json.dumps(q111) + "\n")
    server = scripted_server()
    report = translate_bench(
        # the scripted translator writes stock sentences by length, not one per source sentence
        bench,
        tmp_path / "out",
        "de",
        TranslateConfig(check_sentences=False, **llm_options(server)),
    )
    reasons = {item["question_id"]: item["reason"] for item in report["left_out"]}
    assert reasons["111"] == "numbers differ (question.jsonl question 111 turns.0): missing 3; added 5"
    assert [q.question_id for q in read_questions(tmp_path / "out" / "question.jsonl")] == [81, 101]
