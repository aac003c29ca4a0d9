"""`tagengo reverse` as a library call: corpus -> fragment filters -> ReverseStep -> dataset folder.

Chunk-level resume comes from the runner, call-level resume from the request cache (a run
killed mid-chunk pays again only for the calls in flight). One process: the client's
asyncio concurrency is what makes it fast (tagengo.run.llm_stage). With
``executor="ray"`` the fragment filters and the calls run in ``workers`` Ray Data actors (default
1), each with its own language-ID model and client; the outputs are the same.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rich.console import Console

from tagengo.errors import ConfigError
from tagengo.lang.langid import LanguageIdentifier
from tagengo.llm import ChatClient
from tagengo.reverse.config import ReverseConfig
from tagengo.reverse.corpus import bundled_corpus, open_corpus
from tagengo.reverse.report import write_lambda_report
from tagengo.reverse.select import FragmentLanguage, FragmentLength
from tagengo.reverse.step import ReverseStep
from tagengo.run.llm_stage import LLMStage
from tagengo.run.runner import StageResult

CHUNK_ROWS = 5_000


def reverse(
    input_path: str | os.PathLike[str] | None,
    out: str | os.PathLike[str],
    config: ReverseConfig,
    *,
    client: ChatClient | None = None,
    judge: ChatClient | None = None,
    translator: ChatClient | None = None,
    force: bool = False,
    progress: bool | None = None,
    chunk_rows: int = CHUNK_ROWS,
    **run_kw: Any,
) -> StageResult:
    """Write instruction/response pairs made from the corpus ``input_path`` (None: the bundled
    corpus of ``config.language``) to the dataset folder ``out``, plus the λ report.

    ``client`` (writes the instructions), ``judge`` and ``translator`` override the clients built
    from ``config`` and are then left open; the judge and the translator are ``client`` unless
    ``config`` names a model of their own (--judge-*, --translator-*).

    Raises ``ConfigError`` without ``config.language`` or for an unknown code; ``InputError``
    for an unreadable corpus; ``BudgetExhausted`` / ``RunAborted`` (resumable)."""
    from tagengo.lang.languages import is_known_code

    if not config.language:
        raise ConfigError("give the corpus language with --language, e.g. --language de")
    if not is_known_code(config.language):
        raise ConfigError(f"--language: unknown language code {config.language!r}; see docs/languages.md")
    source = open_corpus(input_path if input_path is not None else bundled_corpus(config.language))
    # One console for every client's bar: rich shows a second live display inside the first on
    # the same console, where two consoles would draw over each other.
    console = Console(stderr=True) if progress is not False else None
    with LLMStage(progress, run_kw, console=console) as llm:
        # Ray actors build their own language-ID model and clients in setup() (none of them
        # pickles); the driver's clients are then only asked their model ids, for the manifest.
        lid = None if llm.on_ray else LanguageIdentifier()
        client = llm.client(client, config.llm_config())
        roles = {
            role: given
            or (llm.client(None, config.role_llm_config(role)) if config.separate(role) else client)
            for role, given in (("judge", judge), ("translator", translator))
        }
        if llm.on_ray:
            step = ReverseStep(config)
        else:
            step = ReverseStep(config, client=client, **roles)
        step.lid = lid
        result = llm.run(
            stage="reverse",
            config=config,
            source=source,
            steps=[FragmentLength(config), FragmentLanguage(config, lid), step],
            out=out,
            chunk_rows=chunk_rows,
            force=force,
            extra_manifest={
                "llm": {
                    "model_id": client.model_id,
                    "judge_model_id": roles["judge"].model_id,
                    "translator_model_id": roles["translator"].model_id,
                }
            },
        )
    count_under_corpus_language(result.out, result.manifest, config.language)
    if not result.up_to_date or not (Path(out) / "lambda.md").exists():
        write_lambda_report(Path(out), config.min_score)
    return result


def count_under_corpus_language(out: Path, manifest: dict[str, Any], language: str) -> bool:
    """Make the per-language counts of a reverse folder say what the rows are once read.

    The runner counts a step's rows by language before the step runs, so the first step's
    input, and with it the manifest's ``languages[*].in`` (and ``languages.md``), saw the
    rows as the corpus left them: unlabelled for text files, or under their own labels.
    ``fragment_length``, the first step, sets every row's language to ``--language`` (an
    other label is kept in ``meta.fragment.label`` and rejected by ``fragment_language``), and
    every later count (removed, kept, the next steps' inputs) is taken after that. This counts
    the first step's input the same way, so that per language ``in = removed + kept`` holds.

    Rewrites ``manifest`` in place and, when it changed, the stage reports and
    ``manifest.json`` of ``out`` (atomically, manifest last). Idempotent: a folder already
    counted so is left alone (a re-run of an older folder corrects it). Returns whether it
    rewrote anything."""
    from tagengo.run.dataset import MANIFEST, atomic_write_json
    from tagengo.run.funnel import write_stage_reports

    steps = manifest.get("steps") or []
    if not steps or steps[0].get("name") != FragmentLength.name:
        return False
    first = steps[0]
    in_by_language = {language: first["in"]} if first["in"] else {}
    kept = {lang: c["kept"] for lang, c in manifest["languages"].items() if c["kept"]}
    languages = {
        lang: {"in": in_by_language.get(lang, 0), "kept": kept.get(lang, 0)}
        for lang in sorted(set(in_by_language) | set(kept), key=lambda k: (-kept.get(k, 0), k))
    }
    if first["in_by_language"] == in_by_language and manifest["languages"] == languages:
        return False
    first["in_by_language"] = in_by_language
    manifest["languages"] = languages
    write_stage_reports(Path(out), manifest)
    atomic_write_json(Path(out) / MANIFEST, manifest)
    return True
