"""Protected spans: what is swapped for markers, and what restore reports."""

from __future__ import annotations

from tagengo.llm.translation.protect import protect, restore


def test_code_urls_placeholders_and_formulas_are_protected():
    text = (
        "Run `pip install x`, read https://example.com/a?b=1. Solve 3x + 2 = 11, print {name} "
        "and %s and {{ var }} and ${HOME}, keep <user_id> and $a^2+b^2$.\n```py\nprint(1)\n```"
    )
    p = protect(text)
    assert p.spans == [
        "`pip install x`",
        "https://example.com/a?b=1",
        "3x + 2 = 11",
        "{name}",
        "%s",
        "{{ var }}",
        "${HOME}",
        "<user_id>",
        "$a^2+b^2$",
        "```py\nprint(1)\n```",
    ]
    assert "⟦0⟧" in p.text and "pip" not in p.text and "11" not in p.text


def test_prose_numbers_are_translated_with_their_sentence():
    assert protect("I bought 3 apples and 12 pears in 2024.").spans == []
    assert protect("It costs $5 and $10 with tax.").spans == []


def test_restore_puts_spans_back_verbatim():
    p = protect("Use `git status` to see https://git-scm.com changes.")
    restored, problems = restore("Nutze ⟦0⟧, um auf ⟦1⟧ Änderungen zu sehen.", p)
    assert problems == []
    assert restored == "Nutze `git status`, um auf https://git-scm.com Änderungen zu sehen."


def test_restore_reports_lost_repeated_and_unknown_markers():
    p = protect("Use `a` and `b`.")
    _, problems = restore("Nutze ⟦0⟧ und ⟦0⟧ und ⟦7⟧.", p)
    assert problems == ["unknown marker ⟦7⟧", "inline_code '`a`' repeated 2 times", "inline_code '`b`' lost"]


def test_a_url_keeps_its_balanced_parentheses_and_leaves_an_unbalanced_one():
    """Issue #23, item 3: ``https://example.com/a_(b)`` was cut at the ``(``."""
    text = (
        "See https://example.com/a_(b), https://en.wikipedia.org/wiki/Gestalt_(psychology). "
        "(Also https://x.org/a) and [docs](https://x.org/b_(c))."
    )
    assert protect(text).spans == [
        "https://example.com/a_(b)",
        "https://en.wikipedia.org/wiki/Gestalt_(psychology)",
        "https://x.org/a",
        "https://x.org/b_(c)",
    ]


def test_latex_delimiters_are_protected():
    text = r"Solve \(x^2 - 4 = 0\) and show \[ \int_0^1 x \, dx = \tfrac12 \] then \begin{align} a &= b \end{align}."
    p = protect(text)
    assert p.spans == [
        r"\(x^2 - 4 = 0\)",
        r"\[ \int_0^1 x \, dx = \tfrac12 \]",
        r"\begin{align} a &= b \end{align}",
    ]
    assert set(p.kinds) == {"latex"} and "int_0" not in p.text
    # An inline \( does not run across a paragraph break to a later \).
    assert protect("It costs \\(5 dollars.\n\nAnother paragraph \\) here.").spans == []


def test_tilde_fences_and_indented_code_blocks_are_protected():
    text = (
        "Install it:\n\n~~~bash\npip install x\n~~~\n\nThen:\n\n    import x\n    x.run(3)\n\n    x.stop()\n\n"
        "And a longer fence: ````md\n```\ninner\n```\n```` done."
    )
    p = protect(text)
    assert p.spans == [
        "~~~bash\npip install x\n~~~",
        "    import x\n    x.run(3)\n\n    x.stop()",
        "````md\n```\ninner\n```\n````",
    ]
    assert p.kinds == ["code_block"] * 3


def test_indented_lines_of_lists_and_paragraphs_are_prose():
    # Markdown reads these as a list item's continuation or a paragraph's: they are translated.
    for text in (
        "1. Open the settings\n\n    Then choose the language you want to use.\n\n2. Save",
        "- milk\n    - whole milk, not skimmed\n",
        "A paragraph that goes on\n    on an indented line.",
    ):
        assert protect(text).spans == [], text
