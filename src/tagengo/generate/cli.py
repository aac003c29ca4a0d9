"""`tagengo generate`: parse options, build the config, call tagengo.generate.stage.generate."""

from __future__ import annotations

from tagengo.generate.config import GenerateConfig
from tagengo.run.llm_stage import StageArgs, llm_stage_command


@llm_stage_command(
    GenerateConfig,
    needs_input="give the prompts to answer with --input (a dataset folder or a JSONL/Parquet file).",
    old_flags={"--actors": "--workers"},
)
def command(args: StageArgs) -> None:
    """Generate the next assistant turn of every record with a teacher model.

    Backends: any OpenAI-compatible API (--base-url, --model, key from $OPENAI_API_KEY or
    --api-key-env), Azure OpenAI (--backend azure), or in-process llama.cpp (--backend
    llamacpp; the bundled SmolLM2-135M-Instruct unless --model-path). Every call goes
    through the request cache: a re-run, or a run after a crash, never pays twice.
    Answers that are empty, unfinished (finish_reason not 'stop') or failed for good go to
    OUT/rejected with the reason. Locally one process makes --concurrency calls; with
    --executor ray, --workers Ray actors each make --concurrency calls.
    """
    from tagengo.generate.stage import generate

    args.run(
        generate,
        calls_of="generate",
        title="teacher calls (all chunks of this output)",
        priced_by=args.config,
    )
