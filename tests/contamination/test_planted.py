from tagengo.contamination.normalise import normalise
from tagengo.contamination.planted import KINDS, load_planted, planted_records
from tagengo.io.bench_layout import open_benches


def test_planted_rows_point_at_real_questions_and_their_kinds_hold(mini_bench):
    turns = {(b.name, q.question_id, t): text for b in open_benches([mini_bench]) for q in b.questions for t, text in enumerate(q.turns)}  # fmt: skip
    planted = load_planted()
    assert {p["kind"] for p in planted} == set(KINDS)
    assert len({p["id"] for p in planted}) == len(planted)
    bench_languages = {"en", "de", "fr", "es", "ja", "zh"}
    for p in planted:
        question = turns[(p["bench"], p["question_id"], p["turn"])]
        if p["kind"] == "exact":
            assert p["prompt"] == question
        elif p["kind"] == "formatted":
            assert p["prompt"] != question and normalise(p["prompt"]) == normalise(question)
        elif p["kind"] == "quoted":
            assert question in p["prompt"] and p["prompt"] != question
        elif p["kind"] == "translated":
            assert p["language"] not in bench_languages
        else:
            assert normalise(p["prompt"]) != normalise(question)
    assert [r.id for r in planted_records()] == [p["id"] for p in planted]
