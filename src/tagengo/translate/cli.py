"""`tagengo translate`: parse options, build the config, call tagengo.translate.stage.translate
(or tagengo.translate.bench.translate_bench with --bench)."""

from __future__ import annotations

from pathlib import Path

import click

from tagengo.run.llm_stage import StageArgs, llm_stage_command
from tagengo.translate.config import TranslateConfig


@llm_stage_command(TranslateConfig)
@click.option(
    "--bench",
    "bench_dir",
    type=click.Path(),
    default=None,
    help="Translate this MT-Bench question set (FastChat layout) instead of --input: OUT becomes the new "
    "bench folder (several --to languages: OUT/<name>_<LANG>), ids aligned with the source.",
)
def command(args: StageArgs, bench_dir: str | None) -> None:
    """Translate every message of a dataset into the --to languages: a parallel dataset.

    Each item becomes one row per language (plus the source row), all sharing
    meta.parallel_group, which `tagengo mix --recipe parallel` / `parallel-sampled` read. Code,
    URLs, LaTeX, placeholders and formula numbers are kept verbatim; a translation that lost one,
    changed a number, is empty, has a suspicious length or fails language ID goes to
    OUT/rejected with the reason. Give --source-language when the input is in one language:
    an unlabelled row is otherwise read by language ID, and rejected when it is unsure.
    Backends as for `tagengo generate`; every call is cached, so a re-run never pays twice.
    Locally one process makes --concurrency calls; with --executor ray, --workers actors each
    make --concurrency calls. See docs/translate.md.
    """
    from tagengo.errors import ConfigError, InputError

    cfg = args.config
    if bench_dir is not None:
        if args.run_kw:
            raise ConfigError("--bench translates in one process; leave out --executor ray and --workers")
        from rich.console import Console

        from tagengo.translate.bench import translate_bench
        from tagengo.translate.stage import check_languages

        check_languages(cfg.to)
        console = Console(stderr=True)
        for lang in cfg.to:
            target = (
                Path(args.out)
                if len(cfg.to) == 1
                else Path(args.out) / f"{Path(bench_dir).name}_{lang.upper()}"
            )
            report = translate_bench(bench_dir, target, lang, cfg)
            c = report["counts"]
            console.print(f"{target}: {c['kept']}/{c['questions']} questions translated into {lang}")
            for item in report["left_out"]:
                console.print(f"[yellow]left out[/] question {item['question_id']}: {item['reason']}")
        return
    if args.input_path is None:
        raise InputError("give the dataset to translate with --input (or an MT-Bench folder with --bench).")
    from tagengo.translate.stage import translate

    args.run(translate)
