"""The language gate on answers that are all inside code: fenced or inline prose is read (a server
that wrapped English prose in a fence passed every check: the last newcomer trial), real code is not."""

from __future__ import annotations

import re

import pytest

from tagengo.lang.gate import CodeProse, GateConfig, LanguageGate, code_prose
from tagengo.llm.answer import WRONG_LANGUAGE, AnswerLanguage, AnswerLanguageConfig

ON = GateConfig(enabled=True)
EN = (
    "Photosynthesis is the process by which green plants turn light into chemical energy. "
    "The leaves take in carbon dioxide from the air and water from the roots, and they give off oxygen."
)
DE = (
    "Die Photosynthese ist der Vorgang, bei dem grüne Pflanzen Licht in chemische Energie umwandeln. "
    "Die Blätter nehmen Kohlendioxid aus der Luft und Wasser aus den Wurzeln auf und geben Sauerstoff ab."
)


@pytest.mark.parametrize("language", ["de", "fr", "ja", "es", "ru"])
def test_english_prose_in_a_fence_fails(language: str) -> None:
    v = LanguageGate(ON).check(f"```\n{EN}\n```", language)
    assert v is not None and v.failed and v.detected == "en" and v.prob >= 0.9
    assert "all inside a code block and its text is 'en'" in v.reason
    assert isinstance(v.drift, CodeProse) and v.to_dict()["code_prose"]["language"] == "en"


@pytest.mark.parametrize(
    "answer",
    [
        f"```text\n{EN}\n```",  # an info string
        f"Hier:\n```\n{EN}\n```",  # a few words outside: too few to check on their own
        f"```markdown\n# Photosynthesis\n\n{EN}\n\n- light\n- water\n```",  # a heading, a list
        f"`{EN}`",  # inline code
        f"~~~\n{EN}\n~~~",
        f"```\n{EN}",  # a fence never closed
        "```\n" + EN.replace(", and", ",\nand").replace("plants ", "plants\n") + "\n```",  # wrapped lines
    ],
)
def test_fenced_prose_of_every_shape_is_read(answer: str) -> None:
    v = LanguageGate(ON).check(answer, "de")
    assert v is not None and v.failed and v.detected == "en", answer


def test_prose_in_the_rows_language_passes() -> None:
    v = LanguageGate(ON).check(f"```\n{DE}\n```", "de")
    assert v is not None and not v.failed and v.detected == "de"


def test_through_every_stages_language_check() -> None:
    """generate, prefer (and route) reject through language_problem: the reason says where the text is."""
    check = AnswerLanguage(AnswerLanguageConfig())
    problem, found = check.problem(f"```\n{EN}\n```", "ru")
    assert problem is not None and problem.kind == WRONG_LANGUAGE
    assert "all inside a code block and its text is 'en'" in problem.detail
    assert "the row's language is 'ru'" in problem.detail and "--no-gate" in problem.detail
    assert found["detected"] == "en" and found["code_prose"]["lines"] == 1
    assert check.problem(f"```\n{DE}\n```", "de")[0] is None


CODE_ANSWERS = [
    # A Python function with an English docstring longer than its body and English comments.
    '```python\ndef mean(values):\n    """Return the arithmetic mean of the values given in the list, or raise\n'
    "    a ValueError when the list is empty, since an empty list has no mean at all.\n"
    '    """\n    # Refuse an empty list: dividing by zero would hide the mistake from the caller.\n'
    "    if not values:\n        raise ValueError('no values')\n    return sum(values) / len(values)\n```",
    # SQL, every line plain words but the last.
    "```sql\nSELECT name, age\nFROM users\nWHERE age > 30\nORDER BY name;\n```",
    # A shell session with comments.
    "```bash\n# Install the package and run the tests in a fresh virtual environment first\n"
    "python -m venv .venv\nsource .venv/bin/activate\npip install -e .\n```",
    # C with a block comment of sentences.
    "```c\n/* Count the words of the line given on standard input and print how many there were\n"
    "   to standard output, one number per line, until the input ends. */\nint main(void) {\n"
    "    return count_words(stdin);\n}\n```",
    # Only inline code.
    "`pip install numpy`",
    # Documentation prose with an HTML example: the tags are code's.
    "```\nWhen the parser sees a new paragraph, it looks up the lineage for an element it might have "
    "to close, and at first sight one might say that any open paragraph should be closed there.\n"
    "<html>\n  <body>\n    <p>foo\n  </body>\n</html>\n```",
    # A Python class whose docstring is most of it.
    '```python\nclass Cache:\n    """A small cache that keeps the answers of the server in memory so that the same\n'
    "    question asked twice is answered once, and forgets the oldest entry when it is full.\n"
    '    """\n\n    size = 128\n```',
]


@pytest.mark.parametrize("answer", CODE_ANSWERS)
def test_code_answers_are_not_read_as_prose(answer: str) -> None:
    """A German (or Japanese) prompt answered with code only: not checked, so never rejected."""
    assert LanguageGate(ON).check(answer, "de") is None
    assert LanguageGate(ON).check(answer, "ja") is None
    assert code_prose(answer)[0] == ""


def test_short_fenced_prose_is_not_checked() -> None:
    """Fewer letters than --gate-min-chars inside the fence: LID is not trusted, as outside it."""
    assert LanguageGate(ON).check("```\nYes, it works.\n```", "de") is None


@pytest.mark.parametrize(
    ("language", "prompt"),
    [
        ("de", "Wie ist das Wetter und ist es"),
        ("fr", "Je voudrais apprendre le piano"),
        ("ja", "夏バテを防ぐにはどんな食べ物を食べればい"),
        ("ru", "Как успокоиться перед экзаменом"),
    ],
)
def test_fenced_prose_that_quotes_the_prompt_is_read_in_runs(language: str, prompt: str) -> None:
    """The trial's server: English prose, then the prompt quoted, all in a fence. As a whole it
    scored under 0.9 (de 0.50 for the German one; the Japanese one 'en' at once); read in runs, as
    outside code, most of it is English."""
    answer = (
        "```\nSure. The short answer is that it depends on the details, but here is a clear explanation "
        "with the main points you should keep in mind when you decide. This is note number 2 about: "
        f"{prompt}\n```"
    )
    problem, found = AnswerLanguage(AnswerLanguageConfig()).problem(answer, language)
    assert problem is not None and problem.kind == WRONG_LANGUAGE, found
    assert re.search(r"all inside a code block and (\d+% of )?its text is 'en'", problem.detail)
    assert found["code_prose"].get("share", 1.0) >= 0.4  # a share: the whole passed, its runs did not


def test_fenced_prose_in_the_rows_language_with_an_english_term_passes() -> None:
    answer = f"```\n{DE} Auf Englisch heißt das „photosynthesis“.\n```"
    assert AnswerLanguage(AnswerLanguageConfig()).problem(answer, "de")[0] is None
