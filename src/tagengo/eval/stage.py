"""``tagengo eval``: run lm-eval tasks on a model (and its base model), write the results like
every other stage.

    OUT/
      manifest.json                 written last: config, lm-eval version, task versions,
                                    few-shot, limits, models, data files (sha256), calls, timings
      results.json / results.md     the models × languages × tasks table (tagengo.eval.table)
      tasks/*.yaml                  the group tasks as lm-eval configs over the local files
      models/<name>/results.json    lm-eval's own results of that model (configs, versions, n-shot)
      models/<name>/samples/<task>.jsonl   every item: prompt, answer, target, per-item metrics

A model whose ``models/<name>/results.json`` carries this run's fingerprint (same model, tasks,
data, settings, lm-eval version) is not run again: adding ``--base-model`` to a finished run
evaluates only the base. Calls through tagengo's client are also cached (re-runs replay them).
Nothing is fetched from a hub: HF_DATASETS_OFFLINE and HF_HUB_OFFLINE are set for the run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tagengo import __version__
from tagengo.errors import ConfigError, InputError
from tagengo.eval.config import EvalConfig
from tagengo.eval.models import ModelSpec, hf_model, knowledge_mode, model_specs
from tagengo.eval.table import markdown, table_rows
from tagengo.eval.tasks import GROUPS, TaskSpec, bundled_data, plan_tasks, write_task_yamls
from tagengo.llm.types import ChatClient
from tagengo.run.dataset import (
    MANIFEST,
    atomic_write_json,
    atomic_write_text,
    check_out_folder,
    read_manifest,
)
from tagengo.run.manifest import package_versions

STAGE = "eval"
RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"


@dataclass
class EvalResult:
    out: Path
    manifest: dict[str, Any]
    rows: list[dict[str, Any]]
    #: Models whose results were reused from an earlier run (same fingerprint).
    reused: list[str]


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """HF_DATASETS_OFFLINE / HF_HUB_OFFLINE for the run (also in modules that read them at import)."""
    names = ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")
    old = {n: os.environ.get(n) for n in names}
    for n in names:
        os.environ[n] = "1"
    patched: list[tuple[Any, str, Any]] = []
    for mod_name, attrs in (
        ("datasets.config", ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")),
        ("huggingface_hub.constants", ("HF_HUB_OFFLINE",)),
    ):
        mod = sys.modules.get(mod_name)
        for a in attrs:
            if mod is not None and hasattr(mod, a):
                patched.append((mod, a, getattr(mod, a)))
                setattr(mod, a, True)
    try:
        yield
    finally:
        for mod, a, v in patched:
            setattr(mod, a, v)
        for n, v in old.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _jsonable(obj: Any) -> Any:
    """lm-eval's results hold numpy numbers, functions and tuples: plain JSON values."""
    return json.loads(json.dumps(obj, default=_default, ensure_ascii=False))


def _default(o: Any) -> Any:
    if hasattr(o, "item") and callable(o.item):
        with contextlib.suppress(Exception):
            return o.item()
    if callable(o):
        return f"{getattr(o, '__module__', '')}.{getattr(o, '__name__', type(o).__name__)}"
    return str(o)


#: What an eval run's numbers depend on (its manifest names their versions).
EVAL_PACKAGES = (
    "lm-eval",
    "sacrebleu",
    "rouge-score",
    "datasets",
    "transformers",
    "torch",
    "peft",
    "llama-cpp-python",
)


def _task_manager(cfg: EvalConfig, tasks: list[TaskSpec], task_dir: Path) -> Any:
    from lm_eval.tasks import TaskManager

    include = [str(task_dir)]
    if cfg.include_path is not None:
        if not cfg.include_path.is_dir():
            raise ConfigError(
                f"{cfg.include_path}: no such folder; --include-path names a folder of task YAMLs."
            )
        include.append(str(cfg.include_path))
    # lm-eval's own ~230 task folders take most of a minute to index on 2 cores: only when a task by
    # name is in none of the include folders.
    tm = TaskManager(include_path=include, include_defaults=False)
    if any(t.kind not in GROUPS and t.name not in tm.all_tasks for t in tasks):
        tm = TaskManager(include_path=include, include_defaults=True)
    return tm


def _check_named(tasks: list[TaskSpec], tm: Any) -> None:
    """A task by name that lm-eval does not know, or whose data is not on this machine: one sentence."""
    named = [t.name for t in tasks if t.kind not in GROUPS]
    if not named:
        return
    unknown = [n for n in named if n not in tm.all_tasks]
    if unknown:
        raise InputError(
            f"lm-eval knows no task or group {', '.join(unknown)}: see `lm_eval ls tasks`, or name a folder "
            "of your own task YAMLs with --include-path."
        )
    from lm_eval.tasks import get_task_dict

    for name in named:
        try:
            get_task_dict([name], tm)
        except Exception as e:  # datasets raises ConnectionError, FileNotFoundError, DatasetNotFoundError ...
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise InputError(
                f"lm-eval task {name}: its dataset is not on this machine and nothing is downloaded at run "
                f"time ({first[:200]}); load it once where there is network so it lands in the Hugging Face "
                "datasets cache, or write a task YAML with dataset_path: json and data_files naming your copy "
                "and pass its folder with --include-path (docs/eval.md, 'Data')."
            ) from e


def _fingerprint(
    spec: ModelSpec, cfg: EvalConfig, tasks: list[TaskSpec], mode: str, lm_eval_version: str
) -> str:
    d = {
        "model": spec.describe(),
        "tasks": [{"name": t.name, "config": t.config} for t in tasks],
        "data": {t.name: _sha256(t.data_file) for t in tasks if t.data_file is not None},
        "fewshot_data": {t.name: _sha256(t.fewshot_file) for t in tasks if t.fewshot_file is not None},
        "settings": cfg.model_dump(
            mode="json",
            include={"limit", "num_fewshot", "max_tokens", "chat_template", "seed", "bootstrap_iters"},
        ),
        "knowledge_mode": mode,
        "lm_eval": lm_eval_version,
    }
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:32]


def model_folder(out: Path, name: str) -> Path:
    """``OUT/models/<name>``; a served model's name may hold slashes (``org/model``)."""
    return out / "models" / name.replace("/", "__").replace("\\", "__")


def _write_samples(folder: Path, samples: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    sdir = folder / "samples"
    shutil.rmtree(sdir, ignore_errors=True)  # an earlier run's tasks must not look like this run's
    sdir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for task, items in samples.items():
        text = "".join(
            json.dumps(_jsonable(s), ensure_ascii=False) + "\n"
            for s in sorted(items, key=lambda s: s["doc_id"])
        )
        atomic_write_text(sdir / f"{task}.jsonl", text)
        counts[task] = len(items)
    return counts


def _evaluate(
    lm: Any, spec: ModelSpec, cfg: EvalConfig, tasks: list[TaskSpec], tm: Any, chat_template: bool
) -> dict[str, Any]:
    import lm_eval

    res = lm_eval.simple_evaluate(
        model=lm,
        tasks=[t.name for t in tasks],
        task_manager=tm,
        num_fewshot=cfg.num_fewshot,
        limit=cfg.limit,
        log_samples=True,
        apply_chat_template=chat_template,
        fewshot_as_multiturn=chat_template,
        bootstrap_iters=cfg.bootstrap_iters,
        random_seed=cfg.seed,
        numpy_random_seed=cfg.seed,
        torch_random_seed=cfg.seed,
        fewshot_random_seed=cfg.seed,
    )
    if res is None:
        raise RuntimeError("lm-eval returned no results")
    return res


def run_eval(
    cfg: EvalConfig,
    out: str | os.PathLike[str],
    *,
    clients: dict[str, ChatClient] | None = None,
    force: bool = False,
    progress: bool | None = False,
    say: Any = None,
) -> EvalResult:
    """Evaluate the model of ``cfg`` (and its base model) on the tasks of ``cfg`` into ``out``.

    ``clients``: tagengo clients for the chat models by role (``"model"``, ``"base"``), left
    open; a chat model without one gets a client from the run (tagengo.run.llm_stage), closed at
    its end, with ``progress`` (None: a bar on a terminal, plain lines elsewhere). ``say``: a
    function for progress lines (default: stderr)."""
    say = say or (lambda msg: print(msg, file=sys.stderr, flush=True))
    t0, started = time.perf_counter(), datetime.now(UTC)
    out = check_out_folder(out)
    prev = read_manifest(out)
    if prev is not None and prev.get("stage") != STAGE and not force:
        raise ConfigError(
            f"{out}: holds the output of tagengo {prev.get('stage')}; pick another --out, or add --force to replace it."
        )
    specs = model_specs(cfg)
    mode = knowledge_mode(cfg, specs)
    data = cfg.data if cfg.data is not None else bundled_data()
    if not data.is_dir() and any(t in GROUPS for t in cfg.tasks):
        raise InputError(
            f"{data}: no such folder; --data names a folder with summarization/, translation/ and knowledge/ "
            "holding <language>.jsonl files (docs/eval.md, 'Data')."
        )
    tasks = plan_tasks(
        cfg.tasks,
        data,
        cfg.languages,
        knowledge_mode=mode,
        directions=list(cfg.translation_directions),
        summary_tokens=cfg.max_tokens,
        translation_tokens=cfg.max_tokens,
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)  # written last: its absence marks a run in progress
    write_task_yamls(tasks, out / "tasks")

    with offline():
        logging.getLogger("lm_eval").setLevel(logging.WARNING)
        import lm_eval

        lm_version = lm_eval.__version__
        tm = _task_manager(cfg, tasks, out / "tasks")
        _check_named(tasks, tm)
        per_model: list[tuple[dict[str, Any], dict[str, Any]]] = []
        models_meta: list[dict[str, Any]] = []
        reused: list[str] = []
        for spec in specs:
            fp = _fingerprint(spec, cfg, tasks, mode, lm_version)
            kept, was_reused = _eval_model(spec, cfg, tasks, tm, out, fp, clients, force, progress, say)
            per_model.append((spec.describe(), kept))
            models_meta.append({**spec.describe(), **kept["tagengo"], "reused": was_reused})
            if was_reused:
                reused.append(spec.name)

    rows = table_rows(per_model, tasks)
    atomic_write_json(out / RESULTS_JSON, {"rows": rows, "models": [d for d, _ in per_model]})
    atomic_write_text(out / RESULTS_MD, markdown(rows))
    manifest = _manifest(cfg, specs, tasks, mode, data, rows, per_model, models_meta, lm_version, started, t0)
    atomic_write_json(out / MANIFEST, manifest)
    return EvalResult(out, manifest, rows, reused)


def _eval_model(
    spec: ModelSpec,
    cfg: EvalConfig,
    tasks: list[TaskSpec],
    tm: Any,
    out: Path,
    fp: str,
    clients: dict[str, ChatClient] | None,
    force: bool,
    progress: bool | None,
    say: Any,
) -> tuple[dict[str, Any], bool]:
    """One model's results.json (and samples), and whether an earlier run's with the same
    fingerprint was reused instead of evaluating again."""
    folder = model_folder(out, spec.name)
    old = _read_json(folder / RESULTS_JSON)
    if old is not None and old.get("tagengo", {}).get("fingerprint") == fp and not force:
        say(f"eval: {spec.name}: results of an earlier run with the same settings reused")
        return old, True
    say(f"eval: {spec.name} ({spec.kind}) on {len(tasks)} tasks ...")
    t1 = time.perf_counter()
    res, extra = _run_model(spec, cfg, tasks, tm, (clients or {}).get(spec.role), progress)
    samples = res.pop("samples", {})
    counts = _write_samples(folder, samples)
    kept = _jsonable({k: v for k, v in res.items() if k not in ("samples",)})
    kept["tagengo"] = {
        "fingerprint": fp,
        "samples": counts,
        "duration_s": round(time.perf_counter() - t1, 3),
        **extra,
    }
    atomic_write_json(folder / RESULTS_JSON, kept)
    say(f"eval: {spec.name} done in {time.perf_counter() - t1:.1f} s")
    return kept, False


def _manifest(
    cfg: EvalConfig,
    specs: list[ModelSpec],
    tasks: list[TaskSpec],
    mode: str,
    data: Path,
    rows: list[Any],
    per_model: list[tuple[dict[str, Any], dict[str, Any]]],
    models_meta: list[dict[str, Any]],
    lm_version: str,
    started: datetime,
    t0: float,
) -> dict[str, Any]:
    """manifest.json: the config, each model's run, each task (version, shots, items and the
    data file's sha256, as lm-eval reported them for the first model), counts and files."""
    first = per_model[0][1]
    return {
        "stage": STAGE,
        "tagengo_version": __version__,
        "config": cfg.model_dump(mode="json"),
        "lm_eval_version": lm_version,
        "data": str(data.resolve()) if any(t.kind in GROUPS for t in tasks) else None,
        "knowledge_mode": mode,
        "limit": cfg.limit,
        "num_fewshot": cfg.num_fewshot,
        "models": models_meta,
        "tasks": [
            {
                "name": t.name,
                "kind": t.kind,
                "label": t.label,
                "language": t.language,
                "direction": t.direction,
                "version": first.get("versions", {}).get(t.name),
                "n_shot": first.get("n-shot", {}).get(t.name),
                "items": first.get("n-samples", {}).get(t.name),
                "data_file": str(t.data_file.resolve()) if t.data_file else None,
                "data_sha256": _sha256(t.data_file) if t.data_file else None,
                "fewshot_file": str(t.fewshot_file.resolve()) if t.fewshot_file else None,
            }
            for t in tasks
        ],
        "counts": {"models": len(specs), "tasks": len(tasks), "rows": len(rows)},
        "files": {
            "results": RESULTS_JSON,
            "table": RESULTS_MD,
            "tasks": "tasks/",
            "models": {s.name: f"{model_folder(Path(), s.name).as_posix()}/" for s in specs},
        },
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "duration_s": round(time.perf_counter() - t0, 3),
        "versions": package_versions(*EVAL_PACKAGES),
    }


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _run_model(
    spec: ModelSpec,
    cfg: EvalConfig,
    tasks: list[TaskSpec],
    tm: Any,
    client: ChatClient | None,
    progress: bool | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """lm-eval's results of one model, and what tagengo adds (calls, answer problems, template)."""
    if spec.kind == "hf":
        t0 = time.perf_counter()
        lm = hf_model(spec, cfg)
        load_s = round(time.perf_counter() - t0, 3)
        has_template = bool(getattr(lm.tokenizer, "chat_template", None))
        chat_template = has_template if cfg.chat_template is None else cfg.chat_template
        if chat_template and not has_template:
            raise ConfigError(f"{spec.path}: the tokenizer has no chat template; drop --chat-template.")
        res = _evaluate(lm, spec, cfg, tasks, tm, chat_template)
        return res, {
            "chat_template": chat_template,
            "batch_size": cfg.batch_size,
            "device": str(lm.device),
            "load_s": load_s,
        }
    from tagengo.eval.chat_lm import TagengoChatLM
    from tagengo.run.llm_stage import LLMStage

    assert spec.llm is not None
    with LLMStage(progress) as llm:
        chat = llm.client(client, spec.llm)
        lm = TagengoChatLM(chat, seed=cfg.seed)
        res = _evaluate(lm, spec, cfg, tasks, tm, True)
        calls = chat.summary() if hasattr(chat, "summary") else {}
    return res, {
        "chat_template": True,
        "model_id": chat.model_id,
        "calls": _jsonable(calls),
        "answer_problems": dict(lm.problems),
    }
