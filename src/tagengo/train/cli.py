"""`tagengo train`: parse options, build the config, call tagengo.train.trainer.train."""

from __future__ import annotations

import warnings
from typing import Any

import click

from tagengo.errors import TagengoError
from tagengo.run.options import build_config, config_options
from tagengo.train.config import PRESETS, TrainConfig


class TrainDidNothing(TagengoError):
    """The run finished without changing the weights: what was saved is the base model."""


@click.command(context_settings={"max_content_width": 110})
@click.option(
    "--input",
    "input_path",
    type=click.Path(),
    default=None,
    help="Conversations to train on: a tagengo dataset folder (mix, generate) or an export "
    "(messages/ShareGPT JSONL, Parquet). With --method dpo|orpo: a `tagengo prefer` folder or a "
    "JSONL of prompt/chosen/rejected rows.",
)
@click.option("--out", type=click.Path(), default=None, help="Output folder (model/, checkpoints/, metrics).")
@click.option("--config", "config_file", type=click.Path(), default=None, help="YAML file of options.")
@click.option(
    "--preset",
    type=click.Choice(list(PRESETS)),
    default="default",
    show_default=True,
    help="Named recipe; suzume-2024: the released Suzume run (see docs/train.md).",
)
@click.option(
    "--print-axolotl",
    is_flag=True,
    help="Print the equivalent Axolotl YAML and exit (nothing is trained).",
)
@click.option(
    "--resume/--no-resume",
    default=True,
    show_default=True,
    help="Go on from the latest checkpoint in OUT/checkpoints (--no-resume starts over).",
)
@click.option("--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal).")
@config_options(TrainConfig)
def command(
    input_path: str | None,
    out: str | None,
    config_file: str | None,
    preset: str,
    print_axolotl: bool,
    resume: bool,
    progress: bool | None,
    **kwargs: Any,
) -> None:
    """Supervised fine-tuning on conversations (loss on assistant tokens only), or preference
    training (--method dpo|orpo, through TRL) on the pairs `tagengo prefer` writes.

    Base model: a local transformers folder or a .gguf file (default: the bundled SmolLM2-135M).
    Examples are packed into rows of --max-length tokens with no attention across examples.
    Writes OUT/model (a folder `tagengo bench answer --local-model` loads; a LoRA adapter with
    --adapter lora), OUT/checkpoints, OUT/metrics.jsonl, OUT/loss.png and OUT/manifest.json.
    """
    from tagengo.errors import ConfigError

    cfg = build_config(TrainConfig, kwargs, preset=PRESETS[preset], config_file=config_file)
    if print_axolotl and cfg.method != "sft":
        raise ConfigError(
            "--print-axolotl writes SFT configs only; for --method dpo/orpo see docs/train.md "
            "(Axolotl's rl: dpo / rl: orpo with the pairs file)"
        )
    if print_axolotl:
        from tagengo.train.axolotl import axolotl_yaml

        click.echo(axolotl_yaml(cfg, input_path, out or "./out"), nl=False)
        return
    if input_path is None or out is None:
        raise ConfigError("tagengo train needs --input DATA and --out DIR (or --print-axolotl).")
    from rich.console import Console

    from tagengo.train.trainer import TrainWarning, train

    console = Console(stderr=True)
    with warnings.catch_warnings():  # printed below, as one plain line each
        warnings.simplefilter("ignore", TrainWarning)
        result = train(input_path, out, cfg, resume=resume, progress=progress)
    if cfg.method != "sft":
        _print_preference_summary(console, cfg.method, result)
    else:
        _print_sft_summary(console, result)


def _print_preference_summary(console: Any, method: str, result: Any) -> None:
    """What a DPO/ORPO run did: steps, pairs, the last loss and rewards, where the model is."""
    m = result.manifest
    c, final = m["counts"], m.get("final", {})
    console.print(
        f"[green]✓[/] {method}: {c['steps']} steps on {c['train']:,} pairs ({c['dropped']} dropped) "
        f"on {m['runtime']['device']} in {m['runtime']['precision']}"
    )
    if "loss" in final:
        rewards = (
            f", rewards chosen {final['rewards/chosen']:.3f} vs rejected {final['rewards/rejected']:.3f}"
            if "rewards/chosen" in final
            else ""
        )
        console.print(f"  last loss {final['loss']:.4f}{rewards}; curve in {result.out / 'loss.png'}")
    console.print(f"  model: {result.model_dir}")


def _print_sft_summary(console: Any, result: Any) -> None:
    """What an SFT run did (its warnings first); ``TrainDidNothing`` when the weights did not
    change, so a script does not take the base model for a trained one."""
    m = result.manifest
    c = m["counts"]
    rt = m["runtime"]
    for w in m.get("warnings", []):
        console.print(f"[yellow]warning:[/] {w}")
    if m.get("weights_changed") is False:
        raise TrainDidNothing(
            f"{result.out}: the run did not change the weights, so {result.model_dir} is the base model "
            f"({m['warnings'][-1].split(': ', 1)[-1]})."
        )
    sched = m.get("schedule", {})
    if sched.get("warmup_steps", 0) < sched.get("warmup_steps_asked", 0):
        console.print(
            f"  warm-up: {sched['warmup_steps']} of the {sched['warmup_steps_asked']} steps asked "
            f"(capped at a tenth of this {sched['total_steps']}-step run)"
        )
    console.print(
        f"[green]✓[/] trained {c['steps']} step{'s' if c['steps'] != 1 else ''} on {c['train']:,} conversations "
        f"({c['train_assistant_tokens']:,} assistant tokens; {c['dropped']} dropped, {c['quarantined']} unreadable) "
        f"on {rt['device']} in {rt['precision']}, {m['throughput']['tokens_per_s']:,.0f} tokens/s"
    )
    final = m.get("final", {})
    if "loss" in final:
        ev = f", eval loss {final['eval_loss']:.3f}" if "eval_loss" in final else ""
        console.print(f"  last loss {final['loss']:.3f}{ev}; curve in {result.out / 'loss.png'}")
    console.print(f"  model: {result.model_dir}  (tagengo bench answer --local-model {result.model_dir})")
