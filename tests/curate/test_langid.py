"""Language ID of short technical prompts (issue 10, item 5), with the real lid.176 and lingua.

The labelled set (tagengo/data/langid/eval.jsonl) holds short technical and ordinary prompts
in seven languages plus mislabelled rows. ``default`` must lose at most 5% of the clean prompts
of every language and still reject the mislabelled rows; ``tagengo-2024`` keeps the released rule.
"""

from __future__ import annotations

import pytest

from tagengo.curate.filters import LanguageIDFilter
from tagengo.curate.langid_eval import evaluate, load_eval_set
from tagengo.curate.stage import preset_config
from tagengo.lang.langid import (
    LanguageIdentifier,
    SecondOpinion,
    detector_text,
    mostly_upper,
    strip_technical,
)
from tagengo.records import Record

DEFAULT = preset_config("default").langid
PAPER = preset_config("tagengo-2024").langid

ISSUE_EXAMPLES = [
    "Write a Rust function that returns the nth prime number.",
    "Convert this SQL to pandas: SELECT city, COUNT(*) FROM users GROUP BY city",
    "How do I center a div in CSS?",
]


def run(cfg, text: str, language: str) -> tuple[bool, str, dict]:
    step = LanguageIDFilter(cfg)
    step.setup()
    return run_step(step, text, language)


def run_step(step: LanguageIDFilter, text: str, language: str) -> tuple[bool, str, dict]:
    row = Record("r", "test", language, [{"role": "user", "content": text}], {})
    ((ok, reason),) = step.keep_batch([row])
    return ok, reason, row.meta


@pytest.mark.parametrize(
    "text, stripped",
    [
        (
            "Convert this SQL to pandas: SELECT city, COUNT(*) FROM users",
            "Convert this to pandas: city, users",
        ),
        ("Why does my React useEffect run twice?", "Why does my React run twice?"),
        ("What does git rebase -i HEAD~3 do?", "What does git rebase do?"),
        ("Comment trier un tableau en C++ ?", "Comment trier un tableau en ?"),
        ("JavaScriptのasyncとawaitの意味は？", "のasyncとawaitの意味は？"),  # JavaScript: inner capital
        ("CSS里怎么让div居中？", "里怎么让div居中？"),
        ("Calcula la derivada de f(x) = x^3 - 4x.", "Calcula la derivada de"),
    ],
)
def test_strip_technical_leaves_words_and_drops_code_like_tokens(text: str, stripped: str) -> None:
    assert " ".join(strip_technical(text).split()) == stripped


def _strip_every_run(text: str) -> str:
    """strip_technical as first written: the run callback on every ASCII run (the reference)."""
    import re

    from tagengo.lang.langid import _plain_run

    return re.sub(r"[\x21-\x7e]+", _plain_run, text)


def test_strip_technical_judges_only_suspect_runs_yet_strips_exactly_as_judging_every_run() -> None:
    import random

    texts = [row["text"] for row in load_eval_set()]
    texts += ["(hello) [World] {x} <b>", "Hello. World.Next --force -i a-b", "end.", "-", "x.y", "'A'"]
    rnd = random.Random(0)
    alphabet = "aZ0_.-()[]{}<>=+*^~#$%&|@'\",:;!?`/\\ \txé中\n"
    texts += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12))) for _ in range(20_000)]
    for text in texts:
        assert strip_technical(text) == _strip_every_run(text), repr(text)


def test_a_prompt_of_only_math_falls_back_to_its_raw_text() -> None:
    assert detector_text("2x + 3 = 7", True, technical=True) == "2x + 3 = 7"


@pytest.mark.parametrize("text", ISSUE_EXAMPLES)
def test_issue_examples_are_kept_by_default_and_dropped_by_the_released_rule(text: str) -> None:
    lid = LanguageIdentifier()
    assert lid.detect(text, 1, strip=False).score < 0.8  # the kind of row at stake
    ok, reason, _ = run(DEFAULT, text, "en")
    assert ok, reason
    ok, reason, _ = run(PAPER, text, "en")
    assert not ok and reason.startswith("language ID: en confidence")


def test_eval_set_default_keeps_clean_prompts_and_rejects_mislabelled_rows() -> None:
    res = evaluate(DEFAULT)
    langs = res["languages"]
    assert len(langs) >= 6
    for lang, f in langs.items():
        assert f["clean"] >= 30 and f["mislabelled"] >= 5, lang
        assert f["clean_lost_rate"] <= 0.05, (lang, [r for r in res["lost"] if r["language"] == lang])
        assert f["mislabelled_rejected_rate"] >= 0.95, (lang, res["accepted"])


def test_eval_set_shows_what_the_released_rule_loses() -> None:
    # The measured gap the default closes: the released rule loses over a third of English.
    res = evaluate(PAPER)
    assert res["languages"]["en"]["clean_lost_rate"] > 0.25
    assert all(f["mislabelled_rejected_rate"] == 1.0 for f in res["languages"].values())


def test_eval_set_covers_each_kind_in_each_language() -> None:
    rows = load_eval_set()
    kinds = {(r["language"], r["kind"]) for r in rows}
    for lang in {r["language"] for r in rows}:
        assert {(lang, k) for k in ("technical", "ordinary", "mislabelled")} <= kinds


def test_label_prior_keeps_an_unsure_but_agreeing_detection_only() -> None:
    text = "Comment mieux dormir la nuit ?"  # lid.176: fr, well below 0.8
    ok, _, meta = run(DEFAULT.model_copy(update={"second_opinion": "none"}), text, "fr")
    assert ok and meta["lid_kept_by"] == "label_prior" and meta["lid_label"] == "fr"
    ok, reason, _ = run(
        DEFAULT.model_copy(update={"second_opinion": "none", "agree_threshold": None}), text, "fr"
    )
    assert not ok and "fr confidence" in reason


def test_second_opinion_rescues_a_row_fasttext_gives_to_a_neighbour() -> None:
    text = "帮我给奶奶写一段生日祝福。"  # lid.176's top label is ja
    assert LanguageIdentifier().detect(text, 1).top == "ja"
    ok, _, meta = run(DEFAULT, text, "zh")
    assert ok and meta["lid_kept_by"] == "second_opinion" and meta["lid_second_opinion"] == "zh"
    ok, reason, _ = run(DEFAULT.model_copy(update={"second_opinion": "none"}), text, "zh")
    assert not ok and "detected ja" in reason


@pytest.mark.parametrize(
    "text, label, true",
    [
        ("How do I center a div in CSS?", "de", "en"),
        ("Fix this error: IndexError: list index out of range", "ru", "en"),
        ("Como faço para aprender a programar?", "es", "pt"),
        ("このコードのバグを見つけてください。", "en", "ja"),
    ],
)
def test_mislabelled_short_prompts_are_still_rejected(text: str, label: str, true: str) -> None:
    ok, reason, _ = run(DEFAULT, text, label)
    assert not ok and f"labelled {label}, detected {true}" in reason


def test_a_confident_other_language_gets_no_second_opinion() -> None:
    ok, _, meta = run(DEFAULT, "Schreibe eine Funktion, die eine Liste sortiert.", "en")
    assert not ok and "lid_second_opinion" not in meta


def test_second_opinion_keeps_a_clean_prompt_fasttext_scores_near_zero() -> None:
    # The compressed lid.176 gives this plain English prompt en 0.12, as much as it gives "??".
    text = "Write a Python script to download a web page."
    assert LanguageIdentifier().detect(text, 1).score < 0.4
    ok, _, meta = run(DEFAULT, text, "en")
    assert ok and meta["lid_kept_by"] == "second_opinion"


@pytest.mark.parametrize("text", ["h e l l o", "lol", "asdf qwer", "1 2 3 4", "??"])
def test_second_opinion_does_not_rescue_text_with_no_language(text: str) -> None:
    ok, reason, _ = run(DEFAULT, text, "en")
    assert not ok, reason


def test_second_opinion_chooses_only_among_known_candidates() -> None:
    so = SecondOpinion()
    pick = so.choose("Wie funktioniert eine Wärmepumpe?", ["de", "en", "nl"])
    assert pick is not None and pick[0] == "de" and 0.5 <= pick[1] <= 1.0
    assert so.choose("anything", ["de"]) is None  # one candidate: nothing to choose
    assert so.choose("anything", ["de", "wuu"]) is None  # wuu is not a lingua language


_SHARED = None


def same_answer(got: tuple[str, float] | None, want: tuple[str, float] | None) -> None:
    """lingua's confidences vary in the last bit from call to call (its sums run in hash-map
    order), so the pick must match exactly and the confidence to well below the 4 decimals kept."""
    assert (got is None) is (want is None), (got, want)
    if want is not None:
        assert got[0] == want[0] and got[1] == pytest.approx(want[1], abs=1e-9), (got, want)


def _ask_shared(case: tuple[str, list[str]]) -> tuple[int, tuple[str, float] | None]:
    import os

    return os.getpid(), _SHARED.choose(*case)


def test_the_shared_second_opinion_answers_forked_workers_as_lingua_in_process_does() -> None:
    import multiprocessing as mp
    import os

    from tagengo.lang.langid import SharedSecondOpinion

    global _SHARED
    cases = [
        ("帮我给奶奶写一段生日祝福。", ["zh", "ja", "ko"]),
        ("h e l l o", ["en", "de", "fr"]),
        ("Comment mieux dormir la nuit ?", ["fr", "en", "es"]),
        ("Wie kann ich besser schlafen?", ["de", "nl"]),
    ] * 3
    own = SecondOpinion()
    expected = [own.choose(line, cands) for line, cands in cases]
    assert any(e is not None for e in expected)
    with SharedSecondOpinion(SecondOpinion()) as shared:
        _SHARED = shared
        with mp.get_context("fork").Pool(2) as pool:
            answers = pool.map(_ask_shared, cases, chunksize=1)
        assert os.getpid() not in {pid for pid, _ in answers}  # asked from the forked workers
        for (_, got), want in zip(answers, expected, strict=True):
            same_answer(got, want)
        same_answer(shared.choose(*cases[0]), expected[0])  # the parent may ask too
    with pytest.raises(RuntimeError, match="second-opinion process stopped"):
        shared.choose(*cases[0])


def test_the_second_opinion_server_is_a_fresh_interpreter_that_ends_with_its_parent() -> None:
    """Not a fork of the caller (whose pages it would carry, issue 27), and gone once the pipe
    from its parent closes, as when the parent dies without leaving the ``with``."""
    import psutil

    from tagengo.lang.langid import SharedSecondOpinion

    with SharedSecondOpinion(SecondOpinion()) as shared:
        proc = shared._process
        assert "_serve_second_opinion" in " ".join(psutil.Process(proc.pid).cmdline())
        line, cands = "Wie kann ich besser schlafen?", ["de", "nl"]
        same_answer(shared.choose(line, cands), SecondOpinion().choose(line, cands))
        proc.stdin.close()
        assert proc.wait(10) == 0


def test_the_language_id_step_shares_lingua_only_while_the_workers_run() -> None:
    from tagengo.lang.langid import SharedSecondOpinion

    step = LanguageIDFilter(DEFAULT)
    step.setup()
    own = step._second
    with step.shared_by_workers():
        assert isinstance(step._second, SharedSecondOpinion)
        ok, reason, meta = run_step(step, "帮我给奶奶写一段生日祝福。", "zh")
    assert step._second is own
    assert ok and meta["lid_kept_by"] == "second_opinion" and meta["lid_second_opinion"] == "zh", reason
    with LanguageIDFilter(PAPER).shared_by_workers():  # no second opinion: nothing to share
        pass


# ---------------------------------------------------------------- letter case (issue 22, item 6)

#: Prompts written for this test, in capitals, with the language they are in.
ALL_CAPS = [
    ("WHAT IS THE BEST WAY TO LEARN PYTHON IF I HAVE NEVER PROGRAMMED BEFORE?", "en"),
    ("WIE KANN ICH MEINEN CHEF UM EINE GEHALTSERHÖHUNG BITTEN, OHNE UNHÖFLICH ZU WIRKEN?", "de"),
    ("NECESITO UNA RECETA FÁCIL PARA LA CENA DE ESTA NOCHE CON POLLO Y ARROZ", "es"),
    ("QUALI SONO I POSTI MIGLIORI DA VISITARE A ROMA IN TRE GIORNI?", "it"),
    ("COMO POSSO MELHORAR A MINHA PRONÚNCIA EM INGLÊS SEM PAGAR AULAS?", "pt"),
    ("KUN JE MIJ HELPEN MET EEN BRIEF AAN MIJN HUISBAAS OVER DE VERWARMING?", "nl"),
    ("JAK NAPISAĆ DOBRE PODANIE O PRACĘ, JEŚLI NIE MAM DOŚWIADCZENIA?", "pl"),
    ("İSTANBUL'DA ÜÇ GÜN KALACAĞIM, NERELERİ GEZMEMİ ÖNERİRSİNİZ?", "tr"),
    ("ЯК ПРАВИЛЬНО ДОГЛЯДАТИ ЗА КІМНАТНИМИ РОСЛИНАМИ ВЗИМКУ?", "uk"),
    ("ПОМОГИТЕ МНЕ НАПИСАТЬ ПИСЬМО В УПРАВЛЯЮЩУЮ КОМПАНИЮ О ПРОТЕКАЮЩЕЙ КРЫШЕ", "ru"),
    ("ΠΩΣ ΜΠΟΡΩ ΝΑ ΜΑΘΩ ΝΑ ΜΑΓΕΙΡΕΥΩ ΕΛΛΗΝΙΚΑ ΦΑΓΗΤΑ ΣΤΟ ΣΠΙΤΙ;", "el"),
    ("POUVEZ-VOUS M'EXPLIQUER POURQUOI MON GÂTEAU RETOMBE TOUJOURS À LA SORTIE DU FOUR ?", "fr"),
]


@pytest.mark.parametrize("text, language", ALL_CAPS)
def test_all_caps_prompts_are_kept_like_their_lower_case_selves(text: str, language: str) -> None:
    ok, reason, meta = run(DEFAULT, text, language)
    assert ok, reason
    lower, _, lower_meta = run(DEFAULT, text.lower(), language)
    assert lower
    # The decision is the same as on the lower-case text, and so is the score.
    assert meta["lid_label"] == lower_meta["lid_label"] == language
    assert meta["lid_score"] >= 0.75


def test_the_released_rule_still_reads_capitals_as_they_are() -> None:
    kept_default = sum(run(DEFAULT, t, lang)[0] for t, lang in ALL_CAPS)
    kept_paper = sum(run(PAPER, t, lang)[0] for t, lang in ALL_CAPS)
    kept_paper_lower = sum(run(PAPER, t.lower(), lang)[0] for t, lang in ALL_CAPS)
    assert kept_default == len(ALL_CAPS)
    assert kept_paper <= len(ALL_CAPS) // 2 < kept_paper_lower  # tagengo-2024 as released: case matters


@pytest.mark.parametrize(
    "text, label",
    [
        ("WHAT IS THE BEST WAY TO LEARN PYTHON IF I HAVE NEVER PROGRAMMED BEFORE?", "de"),
        ("WIE KANN ICH MEINEN CHEF UM EINE GEHALTSERHÖHUNG BITTEN, OHNE UNHÖFLICH ZU WIRKEN?", "fr"),
        ("ПОМОГИТЕ МНЕ НАПИСАТЬ ПИСЬМО В УПРАВЛЯЮЩУЮ КОМПАНИЮ О ПРОТЕКАЮЩЕЙ КРЫШЕ", "uk"),
    ],
)
def test_mislabelled_all_caps_prompts_are_still_rejected(text: str, label: str) -> None:
    ok, reason, _ = run(DEFAULT, text, label)
    assert not ok and f"labelled {label}" in reason


def test_only_mostly_upper_case_text_is_folded() -> None:
    assert (
        mostly_upper("WHAT IS THIS")
        and mostly_upper("ПОМОГИТЕ МНЕ")
        and mostly_upper("HELP ME with THIS PLEASE")
    )
    assert not mostly_upper("Wie kann ich meinen Chef fragen?")  # German nouns keep their capitals
    assert not mostly_upper("How do I configure NGINX and AWS S3 for my API?")
    assert not mostly_upper("日本語の文") and not mostly_upper("123 ?!")
    german = "Wie kann ich meinen Chef um eine Gehaltserhöhung bitten?"
    assert detector_text(german, True, True, True) == german
    assert detector_text("GROSSE STRASSE", True, True, True) == "grosse strasse"
    assert detector_text("DIE GROẞE STRAẞE", True, False, True) == "die große straße"  # not casefold's "ss"
    assert detector_text("İSTANBUL", True, False, True) == "istanbul"  # no combining dot
    # Capitals are folded before technical stripping, which takes all-caps words for acronyms.
    assert detector_text("WHAT IS THE CAPITAL OF FRANCE", True, True, True) == "what is the capital of france"
    assert (
        detector_text("WHAT IS THE CAPITAL OF FRANCE", True, True, False) == "WHAT IS THE CAPITAL OF FRANCE"
    )


def test_the_low_accuracy_mode_reaches_the_shared_server_and_the_curate_option() -> None:
    """`--langid-second-opinion lingua-low-accuracy`: lingua's trigram models, in process and in
    the server the workers ask alike (the mode travels to the fresh interpreter)."""
    from tagengo.curate.filters import LanguageIDFilter
    from tagengo.lang.langid import SharedSecondOpinion

    cases = [
        ("帮我给奶奶写一段生日祝福。", ["zh", "ja", "ko"]),
        ("Comment mieux dormir la nuit ?", ["fr", "en", "es"]),
        ("Wie kann ich besser schlafen?", ["de", "nl"]),
    ]
    high, low = SecondOpinion(), SecondOpinion(low_accuracy=True)
    want = [low.choose(*c) for c in cases]
    assert all(w is not None for w in want)
    # the modes differ: at least one confidence is not the high-accuracy one
    assert any(abs(w[1] - h[1]) > 1e-6 for w, h in zip(want, [high.choose(*c) for c in cases], strict=True))
    with SharedSecondOpinion(low) as shared:
        for case, w in zip(cases, want, strict=True):
            same_answer(shared.choose(*case), w)
    step = LanguageIDFilter(DEFAULT.model_copy(update={"second_opinion": "lingua-low-accuracy"}))
    step.setup()
    assert isinstance(step._second, SecondOpinion) and step._second.low_accuracy
