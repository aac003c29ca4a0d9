"""How sure must language ID be before `tagengo translate` labels an unlabelled source row?

A row labelled wrong is worse than a row rejected: "Espresso or latte?" read as Italian (0.49)
became the Italian member of its parallel group, so no Italian translation was made and
``mix --languages it`` trained on English labelled Italian. A rejected row names its fix
(``--source-language``). This measures both on real text nobody in this project wrote: the
message catalogs Debian ships in ``/usr/share/locale`` (gettext ``.mo`` files: each package's
English strings and their translations by its translators). A string is one row; its
language is known (the English original, or the catalog's language). Catalogs are split in
two halves by a hash of their name: the threshold is read off the "tune" half and checked on
the "held-out" half.

    .venv/bin/python -m tagengo.translate.source_lid_calibration

prints, per half, text length and threshold, the share of rows labelled with a wrong
language and the share rejected. Figures and the chosen threshold: docs/translate.md.
"""

from __future__ import annotations

import argparse
import gettext
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from tagengo.translate.expand import source_lid

#: Languages measured: the source's usual language and the Lima-X / MT-Bench-X targets.
LANGUAGES = ("en", "de", "fr", "it", "es", "ja")
THRESHOLDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)
LENGTHS = ((20, 50), (50, 100), (100, 100_000))
_FORMAT = re.compile(r"%[-#0 +']*\d*(?:\.\d+)?[hlLqjzt]*[a-zA-Z%]|\{\w*\}|\$\{\w+\}|_(?=\w)|&(?=\w)")


def half(name: str) -> str:
    return "tune" if hashlib.sha256(name.encode()).digest()[0] % 2 == 0 else "held-out"


def catalog_rows(root: Path, per_catalog: int) -> Iterator[tuple[str, str, str]]:
    """(half, language, text): each catalog's translated strings and, once, its English ones;
    format codes and accelerator marks removed, strings under 20 characters left out."""
    seen_en: set[str] = set()
    for lang in LANGUAGES[1:]:
        for mo in sorted((root / lang / "LC_MESSAGES").glob("*.mo")):
            try:
                with mo.open("rb") as fh:
                    cat = gettext.GNUTranslations(fh)
            except Exception:  # noqa: BLE001 - a catalog Python cannot read is skipped
                continue
            which = half(mo.stem)
            n = 0
            for key, value in cat._catalog.items():  # noqa: SLF001 - the stdlib keeps the strings there
                if not isinstance(key, str) or not isinstance(value, str) or not key or value == key:
                    continue
                en, tr = " ".join(_FORMAT.sub(" ", key).split()), " ".join(_FORMAT.sub(" ", value).split())
                if len(tr) >= 20 and n < per_catalog:
                    n += 1
                    yield which, lang, tr
                if len(en) >= 20 and en not in seen_en:
                    seen_en.add(en)
                    yield which, "en", en


def measure(root: Path, per_catalog: int = 200) -> dict[tuple[str, str, int], dict[str, float]]:
    """{(half, en|other, length bucket start): {"rows": n, "wrong@t": share, "rejected@t": share}}"""
    from tagengo.lang.langid import LanguageIdentifier
    from tagengo.lang.languages import near_group

    lid = LanguageIdentifier()
    cells: dict[tuple[str, str, int], list[tuple[float, bool]]] = {}
    for which, lang, text in catalog_rows(root, per_catalog):
        label, score = source_lid(lid, text)
        bucket = next(lo for lo, hi in LENGTHS if lo <= len(text) < hi)
        kind = "en" if lang == "en" else "other"
        cells.setdefault((which, kind, bucket), []).append((score, label in near_group(lang)))
    out: dict[tuple[str, str, int], dict[str, float]] = {}
    for key, found in sorted(cells.items()):
        fig: dict[str, float] = {"rows": len(found)}
        for t in THRESHOLDS:
            fig[f"wrong@{t:g}"] = sum(s >= t and not ok for s, ok in found) / len(found)
            fig[f"rejected@{t:g}"] = sum(s < t for s, _ in found) / len(found)
        out[key] = fig
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--locale-dir", type=Path, default=Path("/usr/share/locale"))
    ap.add_argument("--per-catalog", type=int, default=200, help="translated strings read per catalog")
    args = ap.parse_args()
    print(
        "| half | written in | length | rows | "
        + " | ".join(f"≥ {t:g}: wrong / rejected" for t in THRESHOLDS)
        + " |"
    )
    print("| --- " * (4 + len(THRESHOLDS)) + "|")
    for (which, kind, lo), fig in measure(args.locale_dir, args.per_catalog).items():
        hi = next(h for lo_, h in LENGTHS if lo_ == lo)
        length = f"{lo}-{hi - 1}" if hi < 100_000 else f"{lo}+"
        cells = " | ".join(f"{fig[f'wrong@{t:g}']:.1%} / {fig[f'rejected@{t:g}']:.0%}" for t in THRESHOLDS)
        print(f"| {which} | {kind} | {length} | {int(fig['rows']):,} | {cells} |")


if __name__ == "__main__":
    main()
