import random

import pytest

from tagengo.contamination.ngrams import NgramIndex, ngram_set, shared_ngrams
from tagengo.contamination.normalise import normalise

QUESTION = normalise("Explain in simple words why the sky looks blue during the day.")


def test_twelve_shared_characters_share_no_13_gram_and_thirteen_share_one():
    idx = NgramIndex([QUESTION], 13)
    twelve = QUESTION[5:17]
    thirteen = QUESTION[5:18]
    assert len(twelve) == 12 and len(thirteen) == 13
    # Padded with letters that extend neither end into the question's text (a space would:
    # the question goes on with one).
    assert idx.query(["qq" + twelve + "qq"]) == [{}]
    assert idx.query(["qq" + thirteen + "qq"]) == [{0: 1}]
    assert idx.query([QUESTION[:14]]) == [{0: 2}]


def test_counts_are_distinct_ngrams_and_windows_do_not_cross_texts():
    idx = NgramIndex(["abcdefghijklm"], 13)
    assert idx.query(["abcdefghijklm abcdefghijklm"]) == [{0: 1}]  # the same n-gram twice counts once
    # The end of one text and the start of the next never make a window together.
    assert idx.query(["abcdefg", "hijklm"]) == [{}, {}]


def test_shorter_than_n_has_no_ngrams():
    assert ngram_set("abc", 13) == set()
    idx = NgramIndex(["short"], 13)
    assert len(idx) == 0 and idx.query(["short"]) == [{}]


@pytest.mark.parametrize("n", [1, 3, 13])
def test_index_equals_plain_sets_on_random_text(n):
    rng = random.Random(n)
    alphabet = "ab cé日"
    questions = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(5)]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(300)]
    idx = NgramIndex(questions, n)
    for text, got in zip(texts, idx.query(texts), strict=True):
        want = {
            q: len(shared_ngrams(text, qt, n)) for q, qt in enumerate(questions) if shared_ngrams(text, qt, n)
        }
        assert got == want


def test_batches_give_the_same_answer(monkeypatch):
    import tagengo.contamination.ngrams as ngrams

    rng = random.Random(7)
    questions = ["".join(rng.choice("ab c") for _ in range(25)) for _ in range(3)]
    texts = ["".join(rng.choice("ab c") for _ in range(rng.randint(0, 30))) for _ in range(200)]
    whole = NgramIndex(questions, 5).query(texts)
    monkeypatch.setattr(ngrams, "_BATCH_CHARS", 37)  # many batches, cut inside no text
    assert NgramIndex(questions, 5).query(texts) == whole
