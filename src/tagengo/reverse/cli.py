"""`tagengo reverse`: parse options, build the config, call tagengo.reverse.stage.reverse."""

from __future__ import annotations

from pathlib import Path

from tagengo.reverse.config import ReverseConfig
from tagengo.run.llm_stage import StageArgs, llm_stage_command


@llm_stage_command(
    ReverseConfig,
    input_help="Monolingual corpus: a .txt/.md file (fragments split on blank lines), .jsonl or .parquet with a "
    "'text' field, or a folder of them. Default: the bundled corpus of --language (de, es, fr, it, ja).",
    input_format=False,
)
def command(args: StageArgs) -> None:
    """Make instruction/response pairs from natural text written in --language.

    Each fragment of the corpus becomes the assistant's reply; the model writes the user
    instruction it answers (task type drawn, seeded, from a pool of ten), a judge scores the
    pair 1-5 and pairs below --min-score (λ) are dropped. roundtrip mode (default) goes through
    English and translates the instruction back; direct mode writes it in --language. Rejected
    fragments and pairs go to OUT/rejected with the reason; OUT/lambda.md and lambda.png show
    the pairs kept for λ = 1..5. Backends as for `tagengo generate`; every call is cached.
    Locally one process makes --concurrency calls; with --executor ray, --workers actors each
    make --concurrency calls. See docs/reverse.md.
    """
    from rich.console import Console

    from tagengo.reverse.stage import reverse

    args.run(reverse)
    lam = Path(args.out) / "lambda.md"
    if lam.exists():
        Console(stderr=True).print(lam.read_text())
