"""How often does the chatter screen (tagengo.llm.translation.chatter) damage a clean translation,
and how often does it let chatter through?

Clean translations: the message catalogs Debian ships in ``/usr/share/locale`` (gettext ``.mo``
files: each package's English strings and their translations by its translators, into de, fr,
it, es, pt, ru, ja, zh), read both ways (English to the language, and back, as `tagengo reverse`
translates). Their strings are full of what looks like chatter and is not: "Note: ...",
"Translation", "Let me know ...", lines ending in a colon, quoted strings. A clean pair whose
translation the screen changes is a false cut, one it rejects a false rejection.

Chatter: ``--phrases FILE`` (JSONL, ``{"pos": "before"|"after", "text": ...}``) holds chatter
that translators really wrote, collected from public translation outputs; each phrase is put
around a catalog translation the ways translators do (its own paragraph, its own line, the same
line), and the source is repeated before or around the translation. A chatter answer whose
chatter the screen neither cuts to the exact translation nor rejects is a false keep. (The
phrases are other people's text and are not shipped with tagengo; docs/translate.md says where
they came from.)

Catalogs and phrases are split in two halves by a hash of their name or text, as
tagengo.translate.source_lid_calibration does: the screen was tuned on one half and is
measured on the other.

    .venv/bin/python -m tagengo.translate.chatter_calibration [--phrases FILE]
"""

from __future__ import annotations

import argparse
import gettext
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from tagengo.llm.translation.chatter import screen_chatter
from tagengo.translate.source_lid_calibration import half

#: (catalog folder, record code): the Lima-X and MT-Bench-X languages and three other scripts.
CATALOGS = (("de", "de"), ("fr", "fr"), ("it", "it"), ("es", "es"), ("pt", "pt"), ("ru", "ru"))
CATALOGS += (("ja", "ja"), ("zh_CN", "zh"))
#: How a phrase is put around a translation: before it, after it.
LAYOUTS = {
    "before": ("{p}\n\n{t}", "{p}\n{t}", "{p} {t}"),
    "after": ("{t}\n\n{p}", "{t}\n{p}", "{t} {p}"),
}
ECHO_LAYOUTS = ("{s}\n\n{t}", "{s}\n{t}", "Original: {s}\nTranslation: {t}", "{s} → {t}", "{t}\n\n({s})")


def catalog_pairs(root: Path, per_catalog: int) -> Iterator[tuple[str, str, str, str]]:
    """(half, language, English string, its translation) of each catalog's first strings."""
    for folder, code in CATALOGS:
        for mo in sorted((root / folder / "LC_MESSAGES").glob("*.mo")):
            try:
                with mo.open("rb") as fh:
                    cat = gettext.GNUTranslations(fh)
            except Exception:  # noqa: BLE001 - a catalog Python cannot read is skipped
                continue
            n = 0
            for key, value in cat._catalog.items():  # noqa: SLF001 - the stdlib keeps the strings there
                if n >= per_catalog:
                    break
                if (
                    isinstance(key, str)
                    and isinstance(value, str)
                    and key.strip()
                    and value.strip()
                    and key != value
                ):
                    n += 1
                    yield half(mo.stem), code, key, value


def _outcome(answer: str, source: str, src_lang: str, target: str, translation: str) -> str:
    found = screen_chatter(answer, source, source_language=src_lang, target=target)
    if found.problem:
        return "rejected"
    return "cut" if found.text == translation.strip() else "kept"


def measure(root: Path, phrases: list[dict[str, str]], per_catalog: int = 300) -> dict[str, Counter[str]]:
    """{"<half> clean <direction>" | "<half> <layout>": Counter(outcome)}: clean pairs give
    ``unchanged`` / ``cut`` / ``rejected``; chatter answers ``cut`` / ``rejected`` / ``kept``."""
    out: dict[str, Counter[str]] = {}
    by_half: dict[str, list[dict[str, str]]] = {}
    for p in phrases:
        by_half.setdefault(half(p["text"]), []).append(p)
    for i, (which, code, en, tr) in enumerate(catalog_pairs(root, per_catalog)):
        for direction, (src, ans, sl, tl) in (
            ("en→xx", (en, tr, "en", code)),
            ("xx→en", (tr, en, code, "en")),
        ):
            found = screen_chatter(ans, src, source_language=sl, target=tl)
            kind = "rejected" if found.problem else ("unchanged" if found.text == ans.strip() else "cut")
            out.setdefault(f"{which} clean {direction}", Counter())[kind] += 1
        pool = by_half.get(which, [])
        if pool:
            p = pool[i % len(pool)]
            for form in LAYOUTS[p["pos"]]:
                layout = f"{p['pos']} {form.replace(chr(10), '⏎')}"
                answer = form.format(p=p["text"], t=tr)
                out.setdefault(f"{which} {layout}", Counter())[_outcome(answer, en, "en", code, tr)] += 1
        if sum(ch.isalpha() for ch in en) >= 8:
            form = ECHO_LAYOUTS[i % len(ECHO_LAYOUTS)]
            answer = form.format(s=en.strip(), t=tr.strip())
            layout = f"echo {form.replace(chr(10), '⏎')}"
            out.setdefault(f"{which} {layout}", Counter())[_outcome(answer, en, "en", code, tr)] += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--locale-dir", type=Path, default=Path("/usr/share/locale"))
    ap.add_argument("--per-catalog", type=int, default=300, help="strings read per catalog")
    ap.add_argument("--phrases", type=Path, help="JSONL of chatter phrases ({pos, text})")
    args = ap.parse_args()
    phrases = []
    if args.phrases:
        phrases = [
            json.loads(line) for line in args.phrases.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    print("| half | what | n | outcomes |")
    print("| --- | --- | --- | --- |")
    for key, counts in sorted(measure(args.locale_dir, phrases, args.per_catalog).items()):
        which, what = key.split(" ", 1)
        n = sum(counts.values())
        cells = ", ".join(f"{k} {v / n:.2%}" for k, v in sorted(counts.items()))
        print(f"| {which} | {what} | {n:,} | {cells} |")


if __name__ == "__main__":
    main()
