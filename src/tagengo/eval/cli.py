"""`tagengo eval`: parse options, build the config, call tagengo.eval.stage."""

from __future__ import annotations

from typing import Any

import click

from tagengo.eval.config import EvalConfig
from tagengo.run.llm_stage import progress_option
from tagengo.run.options import build_config, config_options


@click.command(context_settings={"max_content_width": 110})
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--config", "config_file", type=click.Path(), default=None, help="YAML file of options.")
@click.option(
    "--force", is_flag=True, help="Run every model again (and replace another stage's folder at --out)."
)
@progress_option
@config_options(EvalConfig)
def command(out: str, config_file: str | None, force: bool, progress: bool | None, **kwargs: Any) -> None:
    """Run lm-evaluation-harness tasks on a model (and its base model as the reference row):
    summarization (ROUGE-L), translation (chrF, BLEU), knowledge (multiple-choice accuracy)
    in every language of --data, and any lm-eval task by name, from local files only.

    The model is the bundled SmolLM2-135M through llama.cpp unless --local-model (a transformers
    folder, what tagengo train writes) or --llm-* (any OpenAI-compatible server, Azure, a GGUF)
    says otherwise. Writes OUT/results.md and results.json (models × languages × tasks),
    OUT/models/<name>/samples/ (every item) and OUT/manifest.json. See docs/eval.md.
    """
    from rich.console import Console

    from tagengo.eval.stage import run_eval
    from tagengo.llm import summary_table

    cfg = build_config(EvalConfig, kwargs, config_file=config_file)
    result = run_eval(cfg, out, force=force, progress=progress)
    console = Console(stderr=True)
    for m in result.manifest["models"]:
        if m.get("calls") and not m.get("reused"):
            console.print(summary_table(m["calls"], title=f"LLM calls · {m['name']}"))
    click.echo((result.out / "results.md").read_text().rstrip())
    click.echo(f"→ {result.out}/results.md")
