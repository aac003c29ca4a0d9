"""tagengo's task groups as lm-eval task configs over local files, and lm-eval tasks by name.

A **data folder** holds one JSONL file per task kind and language (field names as the public
sets spell them, so an exported copy fits as it is):

    DATA/summarization/<lang>.jsonl   text, summary                     (XL-Sum's fields)
    DATA/translation/<lang>.jsonl     en, <lang>  (one sentence pair)   (FLORES-200 lines side by side)
    DATA/knowledge/<lang>.jsonl       question, option_a..option_d, answer (A-D)  (Global-MMLU's fields)

and, for few-shot examples, ``<lang>.dev.jsonl`` beside each (used when ``--num-fewshot`` > 0).

Each group becomes one lm-eval task per language (per direction for translation), written as
YAML into ``OUT/tasks/`` with ``dataset_path: json`` and the absolute data file, beside a
``tagengo_eval_metrics.py`` shim that re-exports :mod:`tagengo.eval.metrics`; so the same
numbers come from plain ``lm_eval --include_path OUT/tasks --tasks tagengo_...``. Nothing is
fetched from a hub: datasets are read from those files. A name that is no group is an lm-eval
task (or group) name, run as lm-eval defines it; its data must already be on this machine
(the Hugging Face datasets cache, or a task YAML of your own under ``--include-path``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tagengo.errors import ConfigError, InputError

GROUPS = ("summarization", "translation", "knowledge")
#: The metric each group's table shows first, and the others it also reports.
GROUP_METRICS: dict[str, tuple[str, ...]] = {
    "summarization": ("rougeL",),
    "translation": ("chrf", "bleu"),
    "knowledge": ("acc",),
}
#: Where each group's data comes from, for the sentence naming a missing file.
GROUP_SOURCES: dict[str, str] = {
    "summarization": "rows with 'text' and 'summary', e.g. XL-Sum's test split for that language exported as JSONL",
    "translation": "rows with 'en' and the language's own code as keys, e.g. FLORES-200 devtest sentences of "
    "English and that language side by side",
    "knowledge": "rows with 'question', 'option_a'..'option_d' and 'answer' (A-D), e.g. Global-MMLU's "
    "test split for that language exported as JSONL",
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "summarization": ("text", "summary"),
    "translation": ("en",),
    "knowledge": ("question", "option_a", "option_b", "option_c", "option_d", "answer"),
}
METRICS_SHIM = "tagengo_eval_metrics.py"
TASK_PREFIX = "tagengo"


@dataclass
class TaskSpec:
    """One lm-eval task of this run: its name, what the table files it under and its config."""

    name: str
    kind: str  # summarization, translation, knowledge, or "lm-eval" for a task by name
    language: str | None
    #: Translation's direction ("en-de"); None otherwise.
    direction: str | None = None
    data_file: Path | None = None
    fewshot_file: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The task's column in the table: the group (with its direction), else its own name."""
        if self.kind == "translation" and self.direction:
            src, tgt = self.direction.split("-")
            return "translation en→xx" if src == "en" else "translation xx→en"
        return self.kind if self.kind in GROUPS else self.name


def bundled_data() -> Path:
    """tagengo's own tiny task sets (3 items per language; written for the tests and the demo)."""
    return Path(__file__).resolve().parent.parent / "data" / "eval"


def languages_in(data: Path, kind: str) -> list[str]:
    folder = data / kind
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.jsonl") if not p.stem.endswith(".dev"))


def missing_data(data: Path, kind: str, language: str) -> InputError:
    path = data / kind / f"{language}.jsonl"
    return InputError(
        f"{path}: no such file; the {kind} group reads {GROUP_SOURCES[kind]} "
        "(docs/eval.md, 'Data'), or leave the language out with --languages."
    )


def check_rows(path: Path, kind: str, language: str) -> int:
    """Count the rows of a task file, checking the fields the group reads: ``InputError``
    naming the file, the line and the missing fields (lm-eval would fail deep inside Jinja)."""
    need = REQUIRED_FIELDS[kind] + ((language,) if kind == "translation" else ())
    n = 0
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as e:
                raise InputError(f"{path}:{i}: not JSON ({e.args[0]}).") from e
            if not isinstance(row, dict):
                raise InputError(f"{path}:{i}: a row must be a JSON object.")
            lacking = [f for f in need if not isinstance(row.get(f), str) or not row[f].strip()]
            if lacking:
                raise InputError(
                    f"{path}:{i}: missing fields {', '.join(repr(f) for f in lacking)} "
                    f"(the {kind} group reads {', '.join(need)})."
                )
            if kind == "knowledge" and row["answer"].strip().upper() not in ("A", "B", "C", "D"):
                raise InputError(f"{path}:{i}: 'answer' must be one of A, B, C, D (got {row['answer']!r}).")
            n += 1
    if n == 0:
        raise InputError(f"{path}: no rows.")
    return n


def _dataset(spec_file: Path, fewshot: Path | None) -> dict[str, Any]:
    files = {"test": str(spec_file.resolve())}
    if fewshot is not None:
        files["dev"] = str(fewshot.resolve())
    out: dict[str, Any] = {
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": files},
        "test_split": "test",
    }
    if fewshot is not None:
        out["fewshot_split"] = "dev"
    return out


def _name(code: str) -> str:
    from tagengo.lang.bench_names import language_name

    return language_name(code) or code


def summarization_task(data: Path, language: str, max_new_tokens: int) -> TaskSpec:
    f = data / "summarization" / f"{language}.jsonl"
    dev = f.with_suffix(".dev.jsonl")
    dev = dev if dev.exists() else None
    lang = _name(language)
    name = f"{TASK_PREFIX}_summarization_{language}"
    config = {
        "task": name,
        "tag": [f"{TASK_PREFIX}_summarization"],
        **_dataset(f, dev),
        "output_type": "generate_until",
        "doc_to_text": f"Summarize the following {lang} article in one or two sentences, in {lang}.\n\n"
        "Article: {{text}}\n\nSummary:",
        "doc_to_target": "{{summary}}",
        "target_delimiter": " ",
        "generation_kwargs": {"until": ["\n\n"], "max_gen_toks": max_new_tokens, "do_sample": False},
        "metric_list": [
            {
                "metric": "!function tagengo_eval_metrics.rougeL",
                "aggregation": "mean",
                "higher_is_better": True,
            }
        ],
        "metadata": {"version": 1.0},
    }
    return TaskSpec(name, "summarization", language, None, f, dev, config)


def translation_task(data: Path, language: str, direction: str, max_new_tokens: int) -> TaskSpec:
    from tagengo.eval.metrics import bleu_tokenizer

    f = data / "translation" / f"{language}.jsonl"
    dev = f.with_suffix(".dev.jsonl")
    dev = dev if dev.exists() else None
    src, tgt = direction.split("-")
    name = f"{TASK_PREFIX}_translation_{src}-{tgt}"
    config = {
        "task": name,
        "tag": [f"{TASK_PREFIX}_translation"],
        **_dataset(f, dev),
        "output_type": "generate_until",
        "doc_to_text": f"Translate the following {_name(src)} text into {_name(tgt)}. "
        "Answer with the translation only.\n\n"
        f"{_name(src)}: {{{{{src}}}}}\n{_name(tgt)}:",
        "doc_to_target": f"{{{{{tgt}}}}}",
        "target_delimiter": " ",
        "generation_kwargs": {"until": ["\n"], "max_gen_toks": max_new_tokens, "do_sample": False},
        "metric_list": [
            {
                "metric": "bleu",
                "aggregation": f"!function tagengo_eval_metrics.bleu_{bleu_tokenizer(tgt)}",
                "higher_is_better": True,
            },
            {
                "metric": "chrf",
                "aggregation": "!function tagengo_eval_metrics.chrf",
                "higher_is_better": True,
            },
        ],
        "metadata": {"version": 1.0, "bleu_tokenize": bleu_tokenizer(tgt)},
    }
    return TaskSpec(name, "translation", language, direction, f, dev, config)


#: The answer letter of a generated reply: an A-D not touching another Latin letter, so "B.",
#: "(B)" and Japanese "答えはBです" count (``\b`` finds no word boundary between は and B), and
#: the "A" of "Apple" does not.
_LETTER = r"(?<![A-Za-z])([ABCD])(?![A-Za-z])"
_MC_TEXT = "{{question.strip()}}\nA. {{option_a}}\nB. {{option_b}}\nC. {{option_c}}\nD. {{option_d}}\nAnswer:"


def knowledge_task(data: Path, language: str, mode: str) -> TaskSpec:
    """Multiple choice, A-D. ``mode`` ``loglikelihood``: the letter the model finds most likely
    (MMLU's usual scoring; needs token log-probabilities: a local model); ``generate``: the
    first A-D letter of its answer (chat servers and llama.cpp give no log-probabilities)."""
    f = data / "knowledge" / f"{language}.jsonl"
    dev = f.with_suffix(".dev.jsonl")
    dev = dev if dev.exists() else None
    base = {
        "tag": [f"{TASK_PREFIX}_knowledge"],
        **_dataset(f, dev),
        "metadata": {"version": 1.0, "mode": mode},
    }
    if mode == "loglikelihood":
        name = f"{TASK_PREFIX}_knowledge_{language}"
        config = {
            "task": name,
            **base,
            "output_type": "multiple_choice",
            "doc_to_text": _MC_TEXT,
            "doc_to_choice": ["A", "B", "C", "D"],
            "doc_to_target": "{{answer.strip().upper()}}",
            "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        }
    else:
        name = f"{TASK_PREFIX}_knowledge_gen_{language}"
        config = {
            "task": name,
            **base,
            "output_type": "generate_until",
            "doc_to_text": _MC_TEXT.replace(
                "\nAnswer:", "\nAnswer with the letter (A, B, C or D) only.\nAnswer:"
            ),
            "doc_to_target": "{{answer.strip().upper()}}",
            "target_delimiter": " ",
            "generation_kwargs": {"until": ["\n\n"], "max_gen_toks": 16, "do_sample": False},
            "filter_list": [
                {
                    "name": "letter",
                    "filter": [
                        {"function": "regex", "regex_pattern": _LETTER, "fallback": "[no letter]"},
                        {"function": "take_first"},
                    ],
                }
            ],
            # lm-eval's own key for this metric is exact_match; the table shows it as acc.
            "metric_list": [{"metric": "exact_match", "aggregation": "mean", "higher_is_better": True}],
        }
    return TaskSpec(name, "knowledge", language, None, f, dev, config)


def language_of_task_name(name: str) -> str | None:
    """The language an lm-eval task name ends with (``global_mmlu_full_de`` -> de,
    ``belebele_deu_Latn`` -> de, ``mgsm_direct_ja`` -> ja), else None."""
    from tagengo.lang.bench_names import normalize_code

    parts = [p for p in name.replace("-", "_").split("_") if p]
    for tok in reversed(parts[-2:]):
        if len(tok) in (2, 3) and tok.isalpha():
            code = normalize_code(tok)
            if code:
                return code
    return None


def plan_tasks(
    groups_and_names: list[str],
    data: Path,
    languages: list[str] | None,
    *,
    knowledge_mode: str,
    directions: list[str],
    summary_tokens: int,
    translation_tokens: int,
) -> list[TaskSpec]:
    """The tasks of a run, in the order asked. Raises ``InputError`` (one sentence naming the
    path and where such data comes from) for a group's file that is not there."""
    out: list[TaskSpec] = []
    for item in groups_and_names:
        if item not in GROUPS:
            out.append(TaskSpec(item, "lm-eval", language_of_task_name(item)))
            continue
        have = languages_in(data, item)
        if languages is None:
            if not have:
                raise InputError(
                    f"{data / item}: no <language>.jsonl files; the {item} group reads "
                    f"{GROUP_SOURCES[item]} (docs/eval.md, 'Data')."
                )
            langs = have
        else:
            langs = [lang for lang in languages if not (item == "translation" and lang == "en")]
        for lang in langs:
            if lang not in have:
                raise missing_data(data, item, lang)
            check_rows(data / item / f"{lang}.jsonl", item, lang)
            if item == "summarization":
                out.append(summarization_task(data, lang, summary_tokens))
            elif item == "translation":
                for d in directions:
                    pair = f"en-{lang}" if d == "from-en" else f"{lang}-en"
                    out.append(translation_task(data, lang, pair, translation_tokens))
            else:
                out.append(knowledge_task(data, lang, knowledge_mode))
    names = [t.name for t in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"task {', '.join(dup)} is asked for twice (--tasks).")
    return out


class _Function(str):
    """A YAML scalar written as ``!function module.name`` (lm-eval's tag for a Python function)."""


def _function_representer(dumper: yaml.SafeDumper, data: _Function) -> yaml.Node:
    return dumper.represent_scalar("!function", str(data))


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Function, _function_representer)


def _tag_functions(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("!function "):
        return _Function(value[len("!function ") :])
    if isinstance(value, dict):
        return {k: _tag_functions(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tag_functions(v) for v in value]
    return value


def write_task_yamls(tasks: list[TaskSpec], folder: Path) -> list[Path]:
    """Write each group task's YAML and the metrics shim into ``folder`` (lm-eval's include path)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / METRICS_SHIM).write_text(
        '"""Written by tagengo eval: the metrics of its task YAMLs (tagengo.eval.metrics)."""\n'
        "from tagengo.eval.metrics import bleu_13a, bleu_char, bleu_zh, chrf, rougeL  # noqa: F401\n"
    )
    paths = []
    for t in tasks:
        if not t.config:
            continue
        p = folder / f"{t.name}.yaml"
        p.write_text(
            "# Written by tagengo eval (docs/eval.md).\n"
            + yaml.dump(_tag_functions(t.config), Dumper=_Dumper, allow_unicode=True, sort_keys=False)
        )
        paths.append(p)
    return paths
