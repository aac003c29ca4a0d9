"""`tagengo translate`: parse options, build the config, call tagengo.translate.stage.translate
(or tagengo.translate.bench.translate_bench with --bench)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tagengo.run.cli_common import actor_workers, executor_options, ray_workers_option, stage_io_options
from tagengo.run.options import build_config, config_options
from tagengo.translate.config import TranslateConfig


@click.command(context_settings={"max_content_width": 110})
@stage_io_options(workers=False, progress_lines=True)
@executor_options
@ray_workers_option
@click.option(
    "--bench",
    "bench_dir",
    type=click.Path(),
    default=None,
    help="Translate this MT-Bench question set (FastChat layout) instead of --input: OUT becomes the new "
    "bench folder (several --to languages: OUT/<name>_<LANG>), ids aligned with the source.",
)
@config_options(TranslateConfig)
def command(
    input_path: str | None,
    input_format: str | None,
    out: str,
    config_file: str | None,
    force: bool,
    progress: bool | None,
    executor: str,
    ray_address: str | None,
    workers: int | None,
    bench_dir: str | None,
    **kwargs: Any,
) -> None:
    """Translate every message of a dataset into the --to languages: a parallel dataset.

    Each item becomes one row per language (plus the source row), all sharing
    meta.parallel_group, which `tagengo mix --recipe parallel` / `parallel-sampled` read. Code,
    URLs, placeholders and formula numbers are kept verbatim; a translation that lost one, is
    empty, has a suspicious length or fails language ID goes to OUT/rejected with the reason.
    Backends as for `tagengo generate`; every call is cached, so a re-run never pays twice.
    Locally one process makes --concurrency calls; with --executor ray, --workers actors each
    make --concurrency calls. See docs/translate.md.
    """
    from tagengo.errors import InputError
    from tagengo.report.summary import print_stage_summary

    run_kw = actor_workers(executor, ray_address, workers)
    cfg = build_config(TranslateConfig, kwargs, config_file=config_file)
    if bench_dir is not None:
        if run_kw:
            from tagengo.errors import ConfigError

            raise ConfigError("--bench translates in one process; leave out --executor ray and --workers")
        from rich.console import Console

        from tagengo.translate.bench import translate_bench
        from tagengo.translate.stage import check_languages

        check_languages(cfg.to)
        console = Console(stderr=True)
        for lang in cfg.to:
            target = Path(out) if len(cfg.to) == 1 else Path(out) / f"{Path(bench_dir).name}_{lang.upper()}"
            report = translate_bench(bench_dir, target, lang, cfg)
            c = report["counts"]
            console.print(f"{target}: {c['kept']}/{c['questions']} questions translated into {lang}")
            for item in report["left_out"]:
                console.print(f"[yellow]left out[/] question {item['question_id']}: {item['reason']}")
        return
    if input_path is None:
        raise InputError("give the dataset to translate with --input (or an MT-Bench folder with --bench).")
    from tagengo.translate.stage import translate

    result = translate(
        input_path, out, cfg, input_format=input_format, force=force, progress=progress, **run_kw
    )
    print_stage_summary(result)
