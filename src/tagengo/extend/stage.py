"""`tagengo extend` as a library call: one ``ExtendStep`` run by the stage runner.

The runner gives chunk-level resume (finished chunks are not read again); the request cache
gives call-level resume (inside an unfinished chunk every follow-up and answer already paid
for is replayed, so the conversation grows exactly as before). Locally one process: the clients'
asyncio concurrency is what makes it fast, as in tagengo.generate.stage. With
``executor="ray"`` the chunks run in ``workers`` Ray Data actors (default 1), each building its
own clients and lid.176 (as `tagengo translate` and `tagengo reverse` do); the output is the same.
"""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console

from tagengo.extend.config import ExtendConfig
from tagengo.extend.step import ExtendStep
from tagengo.io.source import open_source
from tagengo.lang.langid import LanguageIdentifier
from tagengo.llm import ChatClient
from tagengo.run.llm_stage import LLMStage
from tagengo.run.runner import StageResult

#: Rows per runner chunk: big, since every chunk boundary drains the calls in flight, and a
#: chunk runs 2 × (turns − 1) rounds; the cache, not the chunk, protects the paid calls.
CHUNK_ROWS = 5_000


def extend(
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: ExtendConfig,
    *,
    input_format: str | None = None,
    client: ChatClient | None = None,
    writer: ChatClient | None = None,
    force: bool = False,
    progress: bool | None = None,
    chunk_rows: int = CHUNK_ROWS,
    **run_kw: Any,
) -> StageResult:
    """Grow every conversation of ``input_path`` to ``config.turns`` user turns; write a dataset folder.

    ``client`` (the teacher) and ``writer`` (the follow-up writer; default: as ``config`` says,
    the teacher itself unless a --writer-* option is set) override the clients built from
    ``config`` and are then left open. Raises ``BudgetExhausted`` / ``RunAborted`` (resumable)
    when a budget or the server stops the run. ``run_kw``: ``executor="ray"``, ``ray_address``,
    ``workers`` (Ray actors, each with its own clients; ignored locally), see
    tagengo.run.ray_executor."""
    source = open_source(input_path, input_format)
    # One console for both clients' bars: rich shows a second live display inside the first
    # on the same console, where two consoles would draw over each other.
    console = Console(stderr=True) if progress is not False else None
    with LLMStage(progress, run_kw, console=console) as llm:
        client = llm.client(client, config.llm_config())
        if writer is None:
            writer = llm.client(None, config.writer_llm_config()) if config.separate_writer() else client
        # Ray actors build their own clients and language-ID model in setup() (none of them
        # pickles); the driver's clients are then only asked their model ids, for the manifest.
        if llm.on_ray:
            step = ExtendStep(config)
        else:
            step = ExtendStep(config, client=client, writer=writer, lid=LanguageIdentifier())
        return llm.run(
            stage="extend",
            config=config,
            source=source,
            steps=[step],
            out=out,
            chunk_rows=chunk_rows,
            force=force,
            extra_manifest={"llm": {"model_id": client.model_id, "writer_model_id": writer.model_id}},
        )
