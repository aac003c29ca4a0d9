"""`tagengo translate` as a library call: a parallel dataset from any dataset.

``ParallelSource`` repeats each input row per target language; one ``TranslateStep``
translates the copies. The runner gives chunk-level resume, the request cache call-level
resume: a run killed mid-chunk pays again only for the calls that were in flight. One process
locally (its client's concurrency makes it fast); with ``executor="ray"`` the translation runs in
``workers`` Ray Data actors (default 1), each with its own client and language-ID model, and the
outputs are the same.
"""

from __future__ import annotations

import os
from typing import Any

from tagengo.errors import ConfigError
from tagengo.io.source import open_source
from tagengo.lang.langid import LanguageIdentifier
from tagengo.llm import ChatClient
from tagengo.run.llm_stage import LLMStage
from tagengo.run.runner import StageResult
from tagengo.translate.config import TranslateConfig
from tagengo.translate.expand import ParallelSource, SourceLanguage
from tagengo.translate.step import TranslateStep

#: Source rows per runner chunk (each becomes one row per language). Big, for the reason
#: given in tagengo.generate.stage.
CHUNK_ROWS = 2_000


def check_languages(codes: list[str], flag: str = "--to") -> None:
    """Raise ``ConfigError`` for a code the language table does not know."""
    from tagengo.lang.languages import is_known_code

    if not codes:
        raise ConfigError(f"give the target languages with {flag}, e.g. {flag} de,fr,it,es")
    bad = [c for c in codes if not is_known_code(c)]
    if bad:
        raise ConfigError(f"{flag}: unknown language code(s) {', '.join(bad)}; see docs/languages.md")


def translate(
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: TranslateConfig,
    *,
    input_format: str | None = None,
    client: ChatClient | None = None,
    force: bool = False,
    progress: bool | None = None,
    chunk_rows: int = CHUNK_ROWS,
    **run_kw: Any,
) -> StageResult:
    """Write ``input_path`` translated into every ``config.to`` language to the dataset folder ``out``.

    Output rows: per item, the source row (``include_source``) and one row per target language,
    all with ``meta.parallel_group``; failed checks go to ``out/rejected`` with the reason.
    ``client`` overrides the one built from ``config`` and is then left open. Raises
    ``ConfigError`` for unknown codes, ``BudgetExhausted`` / ``RunAborted`` (resumable)."""
    check_languages(config.to)
    lid = LanguageIdentifier()  # the source's: it labels rows without a language, in the driver
    source = ParallelSource.over(open_source(input_path, input_format), config, lid)
    with LLMStage(progress, run_kw) as llm:
        client = llm.client(client, config.llm_config())
        # Ray actors build their own client and language-ID model in setup() (neither pickles);
        # the driver's client is then only asked its model id, for the manifest.
        step = TranslateStep(config, client=None if llm.on_ray else client)
        step.lid = None if llm.on_ray else lid
        return llm.run(
            stage="translate",
            config=config,
            source=source,
            steps=[SourceLanguage(config), step],
            out=out,
            chunk_rows=chunk_rows,
            force=force,
            extra_manifest={
                "llm": {"model_id": client.model_id},
                "translate": {"languages": config.to, "input_format": source.base.format},  # type: ignore[union-attr]
            },
        )
