"""`tagengo generate` as a library call: one ``GenerateStep`` run by the stage runner.

The runner gives chunk-level resume (finished chunks are not read again); the request
cache gives call-level resume (inside an unfinished chunk every answer already paid for
is replayed). Generation runs in one process: the client's asyncio concurrency is what
makes it fast, and one process is what makes ``--concurrency``, the rate limits and
``--budget`` mean what they say (tagengo.run.llm_stage).
"""

from __future__ import annotations

import os
from typing import Any

from tagengo.generate.config import GenerateConfig
from tagengo.generate.step import GenerateStep
from tagengo.io.source import open_source
from tagengo.llm import ChatClient
from tagengo.run.llm_stage import LLMStage
from tagengo.run.runner import StageResult

#: Rows per runner chunk. Big, because each chunk boundary lets the calls in flight drain
#: before the next chunk starts; the cache, not the chunk, is what protects paid calls.
CHUNK_ROWS = 5_000


def generate(
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: GenerateConfig,
    *,
    input_format: str | None = None,
    client: ChatClient | None = None,
    force: bool = False,
    progress: bool | None = None,
    chunk_rows: int = CHUNK_ROWS,
    **run_kw: Any,
) -> StageResult:
    """Append the teacher's answer to every record of ``input_path``; write a dataset folder.

    ``client`` overrides the one built from ``config`` (tests, or a caller sharing one
    client between stages); it is then left open. Raises ``BudgetExhausted`` /
    ``RunAborted`` (resumable) when the budget or the server stops the run. ``run_kw``:
    ``executor="ray"``, ``ray_address``, ``workers`` (Ray actors, each with its own client)."""
    source = open_source(input_path, input_format)
    with LLMStage(progress, run_kw) as llm:
        client = llm.client(client, config.llm_config())
        # Locally the run is one process that forks nothing: import what its end needs during the calls.
        step = GenerateStep(config, client=client, warm_up=not llm.on_ray)
        return llm.run(
            stage="generate",
            config=config,
            source=source,
            steps=[step],
            out=out,
            chunk_rows=chunk_rows,
            force=force,
            extra_manifest={"llm": {"model_id": client.model_id}},
        )
