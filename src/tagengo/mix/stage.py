"""`tagengo mix` as a library call: concatenate one or more inputs, select a language mixture.

Several inputs are read as one source, in the order given (the rows of the first input,
then the second's ...): the runner's chunk keys follow that order, so the result does not
depend on worker count. The manifest lists every input under ``inputs``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tagengo.errors import ConfigError, InputError
from tagengo.io.source import Source, open_source
from tagengo.mix.config import MixConfig
from tagengo.mix.recipes import build_steps
from tagengo.run.runner import StageResult, run_stage

PathLike = str | os.PathLike[str]


def combined_source(inputs: Sequence[PathLike], input_format: str | None = None) -> Source:
    """One source over the files of several inputs, in order. They must share one format
    (tagengo dataset folders, usually)."""
    if not inputs:
        raise InputError("no input given; pass --input DIR (several times to concatenate folders).")
    resolved = [Path(p).resolve() for p in inputs]
    seen: set[Path] = set()
    for given, path in zip(inputs, resolved, strict=True):
        if path in seen:
            raise ConfigError(f"{given}: given twice as --input; each input is read once.")
        seen.add(path)
    sources = [open_source(p, input_format) for p in inputs]
    if len(sources) == 1:
        return sources[0]
    formats = {s.format for s in sources}
    if len(formats) > 1:
        listing = ", ".join(f"{s.path} ({s.format})" for s in sources)
        raise InputError(
            f"inputs of different formats cannot be concatenated: {listing}. "
            "Run each through a stage first (tagengo curate/generate) so all are dataset folders."
        )
    first = sources[0]
    return Source(
        path=first.path,
        files=[f for s in sources for f in s.files],
        format=first.format,
        source_name=first.source_name,
        warnings=[w for s in sources for w in s.warnings],  # each input's missing shards
    )


def mix(
    inputs: PathLike | Sequence[PathLike],
    out: PathLike,
    config: MixConfig | None = None,
    *,
    input_format: str | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: bool | None = None,
    **run_kw: Any,
) -> StageResult:
    """Write the mixture ``config.recipe`` of ``inputs`` (one path or several, concatenated) to ``out``."""
    cfg = config or MixConfig()
    paths = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    source = combined_source(paths, input_format)
    return run_stage(
        stage="mix",
        config=cfg,
        source=source,
        steps=build_steps(cfg),
        out=out,
        workers=workers,
        force=force,
        progress=progress,
        extra_manifest={"inputs": [str(p) for p in paths], "recipe": cfg.recipe},
        **run_kw,
    )
