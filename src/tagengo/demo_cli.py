"""`tagengo demo`: every stage on the bundled sample and the bundled model."""

from __future__ import annotations

import click


@click.command(context_settings={"max_content_width": 110})
@click.option(
    "--out", type=click.Path(), default="out/demo", show_default=True, help="Folder for every stage's output."
)
@click.option(
    "--per-language",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Prompts per language sent to the teacher.",
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=1),
    default=128,
    show_default=True,
    help="Most new tokens per generated answer and per bench answer turn.",
)
@click.option(
    "--questions", type=int, default=3, show_default=True, help="MT-Bench-X questions per language."
)
@click.option(
    "--bench-languages",
    default="en,de,ja",
    show_default=True,
    help="Languages of the bundled mini MT-Bench-X.",
)
@click.option(
    "--base-url",
    default=None,
    help="A real teacher and judge: an OpenAI-compatible API root (e.g. http://127.0.0.1:8000/v1). "
    "Needs --model. Default: the bundled SmolLM2-135M in-process.",
)
@click.option("--model", default=None, help="The teacher model's name at --base-url.")
@click.option("--judge-model", default=None, help="The judge model's name at --base-url (default: --model).")
@click.option(
    "--api-key-env",
    default=None,
    help="Environment variable holding the API key (default OPENAI_API_KEY; unset: no key sent).",
)
@click.option(
    "--no-progress", is_flag=True, help="No progress (default: bars on a terminal, plain lines in a log)."
)
def command(
    out: str,
    per_language: int,
    max_tokens: int,
    questions: int,
    bench_languages: str,
    base_url: str | None,
    model: str | None,
    judge_model: str | None,
    api_key_env: str | None,
    no_progress: bool,
) -> None:
    """Run the whole flow offline: curate -> mix -> generate -> export -> bench.

    Uses the bundled LMSYS-schema sample, the bundled multilingual e5 embedder and the bundled
    SmolLM2-135M-Instruct (llama.cpp): about 2 minutes on 2 quiet cores. The 135M model shows the flow,
    not quality: its answers and grades mean nothing. With --base-url and --model the same flow
    runs with a real teacher and judge. Re-running reuses every finished stage and cached call.
    """
    from tagengo.demo import run_demo

    run_demo(
        out,
        per_language=per_language,
        max_tokens=max_tokens,
        questions=questions,
        bench_languages=tuple(x.strip() for x in bench_languages.split(",") if x.strip()),
        base_url=base_url,
        model=model,
        judge_model=judge_model,
        api_key_env=api_key_env,
        progress=not no_progress,
    )
