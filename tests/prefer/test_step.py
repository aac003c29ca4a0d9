"""The ranking step: the shuffled labels are seeded and undone correctly (a judge that prefers one
answer's content picks it whatever its letter; a judge that prefers a letter picks every model in
turn), and the prompt step cuts records to their prompt."""

from __future__ import annotations

from collections import Counter

from tagengo.llm import LLMConfig, build_client
from tagengo.prefer.config import PreferConfig
from tagengo.prefer.step import PromptStep, RankStep, shuffled_order
from tagengo.records import Record

from .conftest import SENTENCES, judge_reply, scripted_judge

MODELS = ["m0", "m1", "m2"]


def _rows(n: int) -> list[Record]:
    rows = []
    for i in range(n):
        answers = [
            {"model": m, "content": ("BEST " if k == i % 3 else "") + SENTENCES["en"] + f" ({m})"}
            for k, m in enumerate(MODELS)
        ]
        rows.append(
            Record(
                f"r{i:03d}",
                "t",
                "en",
                [{"role": "user", "content": f"question {i}"}],
                {"preference": {"models": MODELS, "answers": answers}},
            )
        )
    return rows


def _rank(server, tmp_path, rows, **kw):
    cfg = PreferConfig(judge=scripted_judge(server, tmp_path / "c.sqlite"), **kw)
    with build_client(LLMConfig.model_validate(cfg.judge.model_dump())) as client:
        kept, rejected = RankStep(cfg, client=client).process(rows)
    assert not rejected
    return kept


def test_a_content_judge_picks_the_same_answer_whatever_its_label(prefer_server, tmp_path):
    server = prefer_server()
    kept = _rank(server, tmp_path, _rows(24))
    best_labels = Counter()
    for i, row in enumerate(kept):
        pref = row.meta["preference"]
        assert pref["ranked"][0] == [MODELS[i % 3]], (row.id, pref)
        # The permutation recorded undoes the letters: label j shows answer permutation[j].
        for j, (label, model) in enumerate(sorted(pref["labels"].items())):
            assert label == "ABC"[j]
            assert pref["answers"][pref["permutation"][j]]["model"] == model
        best_labels[next(lab for lab, m in pref["labels"].items() if m == MODELS[i % 3])] += 1
    # The best answer was shown under every letter at some point: the order really is shuffled.
    assert set(best_labels) == {"A", "B", "C"}


def test_a_judge_biased_to_a_letter_favours_no_model(prefer_server, tmp_path):
    server = prefer_server(script=lambda msgs: "Ranking: A>B>C")
    kept = _rank(server, tmp_path, _rows(30))
    winners = Counter(row.meta["preference"]["ranked"][0][0] for row in kept)
    assert set(winners) == set(MODELS) and min(winners.values()) >= 5, winners


def test_the_shuffle_is_seeded_by_seed_and_row_id():
    assert shuffled_order(0, "row-1", 4) == shuffled_order(0, "row-1", 4)
    assert sorted(shuffled_order(0, "row-1", 4)) == [0, 1, 2, 3]
    orders = {tuple(shuffled_order(0, f"row-{i}", 4)) for i in range(40)}
    assert len(orders) > 10
    assert any(shuffled_order(0, f"row-{i}", 4) != shuffled_order(1, f"row-{i}", 4) for i in range(5))


def test_the_same_run_shows_the_same_labels_twice(prefer_server, tmp_path):
    server = prefer_server()
    first = [r.meta["preference"]["permutation"] for r in _rank(server, tmp_path, _rows(6))]
    second = [r.meta["preference"]["permutation"] for r in _rank(server, tmp_path, _rows(6))]
    assert first == second


def test_with_the_language_check_off_every_answer_goes_to_the_judge(prefer_server, tmp_path):
    server = prefer_server()
    rows = _rows(1)
    rows[0].language = "de"  # English answers to a German prompt
    kept = _rank(server, tmp_path, rows, gate={"enabled": False})
    assert kept[0].meta["preference"]["wrong_language"] == []
    assert len(kept[0].meta["preference"]["labels"]) == 3
    kept = _rank(server, tmp_path, _german(), gate={"enabled": True})
    pref = kept[0].meta["preference"]
    assert pref["wrong_language"] == MODELS and pref["ranked"] == [MODELS] and "labels" not in pref


def _german() -> list[Record]:
    rows = _rows(1)
    rows[0].language = "de"
    return rows


def test_the_prompt_step_cuts_to_the_last_user_turn():
    rows = [
        Record("a", "t", "en", [{"role": "user", "content": "q"}, {"role": "assistant", "content": "old"}]),
        Record("b", "t", "en", [{"role": "system", "content": "s"}]),
    ]
    kept, rejected = PromptStep().process(rows)
    assert kept[0].messages == [{"role": "user", "content": "q"}]
    assert kept[0].meta["preference"]["dropped_turns"] == ["old"]
    assert [(r.record.id, r.reason) for r in rejected] == [("b", "no user turn")]


def test_judge_reply_script_sanity():
    # The test judge itself: BEST first, plain tied, WEAK last.
    msgs = [
        {"role": "system", "content": "x"},
        {
            "role": "user",
            "content": "[Answer A]\nWEAK x\n[End of answer A]\n\n[Answer B]\nBEST y\n[End of answer B]\n\n"
            "[Answer C]\nz\n[End of answer C]\n\n[Answer D]\nw\n[End of answer D]",
        },
    ]
    assert judge_reply(msgs).splitlines()[-1] == "Ranking: B>C=D>A"
