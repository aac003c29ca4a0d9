"""`tagengo extend`: parse options, build the config, call tagengo.extend.stage.extend."""

from __future__ import annotations

from tagengo.extend.config import ExtendConfig
from tagengo.run.llm_stage import StageArgs, llm_stage_command


@llm_stage_command(
    ExtendConfig,
    needs_input="give the conversations to extend with --input (a dataset folder or a JSONL/Parquet file).",
)
def command(args: StageArgs) -> None:
    """Grow single-turn conversations into multi-turn ones, in their own language.

    For each conversation with fewer than --turns user turns, the writer (the teacher unless
    --writer-model/--writer-base-url ... say otherwise) plays the user and writes a follow-up of a
    kind drawn per conversation and turn (clarify, go deeper, change constraints, ask for an
    example, disagree); the teacher answers it; repeat until --turns. A conversation ending with
    a user turn has it answered first. Every new turn is checked with language ID against the
    conversation's language (an unlabelled conversation gets lid.176's label, or is rejected when
    lid.176 is not sure); a conversation whose follow-up or answer drifts into another language,
    whose follow-up echoes an earlier user turn or leaks the writer's prompt, whose answer repeats
    the one before, or whose new turn comes back empty or cut (finish_reason length) goes to
    OUT/rejected with the reason and turn. Backends as for `tagengo generate`; every call goes
    through the request cache, so a re-run or a resumed run never pays twice. Locally one process
    makes --concurrency calls; with --executor ray, --workers actors each make --concurrency calls.
    See docs/extend.md.
    """
    from tagengo.extend.stage import extend

    args.run(extend, calls_of="extend", title="teacher and writer calls (all chunks of this output)")
