"""Turn a source's language label (an English name, an ISO code, a BCP-47 tag) into the
record's ISO ``language`` code, keeping the original label in ``meta['language_label']``.

Labels that mean "no language" (``unknown``, ``Klingon`` ...) leave ``language`` empty; the
curate step ``unknown_language`` drops those rows with the label in the reason. A label the
table does not know is flagged in meta rather than guessed at.
"""

from __future__ import annotations

from tagengo.records import Record


def assign_language(rec: Record) -> None:
    from tagengo.lang.languages import UnknownLanguageLabel, label_to_code

    if rec.language:
        return
    label = rec.meta.get("language_label")
    if label is None:
        return
    try:
        rec.language = label_to_code(label)
    except UnknownLanguageLabel:
        rec.meta["language_label_unmapped"] = True
