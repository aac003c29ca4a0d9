"""Protected spans: what is swapped for markers, and what restore reports."""

from __future__ import annotations

from tagengo.translate.protect import protect, restore


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
