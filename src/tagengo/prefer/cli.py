"""`tagengo prefer`: parse options, build the config, call tagengo.prefer.stage.prefer."""

from __future__ import annotations

import click

from tagengo.prefer.config import PreferConfig
from tagengo.run.llm_stage import StageArgs, llm_stage_command


@llm_stage_command(
    PreferConfig,
    needs_input="give the prompts with --input (a dataset folder or a JSONL/Parquet file).",
    skip=("models",),
)
@click.option(
    "--model",
    "model_specs",
    multiple=True,
    metavar="SPEC",
    help="An answering model (repeat for each; two or more): comma-separated key=value pairs, e.g. "
    "'name=qwen,base_url=http://127.0.0.1:8000/v1,model=qwen2.5-7b' or 'name=small,backend=llamacpp,"
    "model_path=m.gguf,temperature=0.7'; keys: name, temperature, max_tokens, system_prompt and any "
    "--judge-* client field without the prefix. 'llamacpp' alone: the bundled SmolLM2. "
    "Added to the models of a --config YAML.",
)
def command(args: StageArgs, model_specs: tuple[str, ...]) -> None:
    """Preference pairs (prompt, chosen, rejected) for DPO/ORPO from several models' answers.

    Samples --per-language prompts per language (seeded), has every --model answer them, puts
    answers confidently in another language than the prompt last (lid.176), shows the others to
    the judge under letters shuffled per prompt (seeded) and asks for brief reasons and a
    ranking line such as 'Ranking: C>A=B>D' (re-asked up to --reask times when unreadable, then
    the prompt is rejected with the reason). Writes OUT/data (one row per prompt, ranking in
    meta.preference), OUT/rejected with reasons, and OUT/pairs/conversational.jsonl and
    standard.jsonl in TRL's preference formats (`tagengo train --method dpo|orpo` reads them).
    Locally one process makes the calls (--concurrency per model); with --executor ray, --workers
    actors each make --concurrency calls per model.
    """
    from tagengo.errors import ConfigError
    from tagengo.prefer.stage import prefer
    from tagengo.run.panel import models_from_specs
    from tagengo.run.wording import plural

    if model_specs:
        try:
            models = models_from_specs(model_specs, args.config.models)
        except ValueError as exc:
            raise ConfigError(f"{exc}.") from exc
        args.config = PreferConfig.model_validate({**dict(args.config), "models": models})
    result = args.run(prefer)
    counts = result.manifest.get("pairs")
    if counts:
        click.echo(
            f"{plural(counts['pairs'], 'pair')} from {plural(counts['prompts'], 'prompt')} -> "
            f"{result.out / 'pairs' / 'conversational.jsonl'} (standard format: {counts['standard']:,})",
            err=True,
        )
