"""The translation prompt, written for tagengo. Shared by `tagengo translate` and the two
translation steps of `tagengo reverse` (fragment into English, instruction back).

The request is a pure function of (text, source language, target language) and the
sampling settings, so the request cache replays every finished translation on a re-run.
"""

from __future__ import annotations

from tagengo.lang.languages import code_to_name

# The chatter a translator adds around a translation is cut in its own module; its two entry
# points stay importable from here, where translate, reverse and extend have always found them.
from tagengo.llm.translation.chatter import clean_translation, split_chatter
from tagengo.llm.translation.protect import MARK_CLOSE, MARK_OPEN

__all__ = ["clean_translation", "language_name", "split_chatter", "translation_messages"]

TRANSLATE_SYSTEM = (
    "You are a professional translator. You translate the text the user gives you and reply "
    "with the translation only: no notes, no quotation marks around it, no explanation."
)

TRANSLATE_USER = (
    "Translate the text between the lines from {source} into {target}. Keep its meaning, tone, "
    "formatting, line breaks and Markdown. Markers such as {mark} stand for code, links or "
    "formulas: copy every marker exactly once, unchanged, where it belongs in the sentence.\n"
    "-----\n{text}\n-----"
)


def language_name(code: str | None) -> str:
    """English name of an ISO code ('de' -> 'German'); the code itself if the table lacks it."""
    if not code:
        return "the original language"
    try:
        return code_to_name(code)
    except Exception:
        return code


def translation_messages(text: str, source: str | None, target: str) -> list[dict[str, str]]:
    """Chat messages asking for ``text`` (language ``source``) in ``target`` (ISO codes)."""
    return [
        {"role": "system", "content": TRANSLATE_SYSTEM},
        {
            "role": "user",
            "content": TRANSLATE_USER.format(
                source=language_name(source),
                target=language_name(target),
                mark=f"{MARK_OPEN}0{MARK_CLOSE}",
                text=text,
            ),
        },
    ]
