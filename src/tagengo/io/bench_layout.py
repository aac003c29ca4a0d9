"""Where a benchmark's files live, and which language it is in.

FastChat layout (``<data>/<bench>/``)::

    question.jsonl
    reference_answer/<judge>.jsonl
    model_answer/<model>.jsonl
    model_judgment/<judge>_single.jsonl, <judge>_pair.jsonl
    judge_prompts.jsonl            (optional: a translated prompt set beside the questions,
                                    as MT-Bench-X ships in mt_bench_DE/)

tagengo adds ``tagengo/`` for its run reports (counts, failures, costs), a folder FastChat
never reads, and writes repeated judge runs as ``<judge>_single.run2.jsonl`` and so on.

The language comes from ``--language``, else the folder name (``de_mt_bench``, ``mt_bench_DE``,
``japanese_mt_bench``), else language ID over the questions' text.

It lives in io/, beside :mod:`tagengo.io.fastchat`, because contamination and ``translate
--bench`` open bench folders as bench does.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tagengo.errors import InputError
from tagengo.io.fastchat import Answer, Question, qid_key, read_answers, read_questions
from tagengo.lang.bench_names import language_from_bench_name, normalize_code

QUESTION_FILE = "question.jsonl"
PROMPTS_FILE = "judge_prompts.jsonl"


def safe_name(name: str) -> str:
    """A model or judge name as a file name ('org/model:v1' -> 'org_model_v1')."""
    return re.sub(r"[^\w.\-]+", "_", name).strip("_") or "model"


def judgment_file_name(judge: str, mode: str, run: int = 1) -> str:
    """FastChat's ``<judge>_single.jsonl`` / ``<judge>_pair.jsonl``; later runs get ``.runN``."""
    kind = "single" if mode == "single" else "pair"
    suffix = "" if run == 1 else f".run{run}"
    return f"{safe_name(judge)}_{kind}{suffix}.jsonl"


_RUN_STEM = re.compile(r"\.run\d+$")
_RUN_FILE = re.compile(r"^(?P<judge>.+)_(?P<kind>single|pair)(?:\.run(?P<run>\d+))?\.jsonl$")


def parse_judgment_file_name(name: str) -> tuple[str, str, int] | None:
    """'gpt-4_single.run3.jsonl' -> ('gpt-4', 'single', 3); None for other files."""
    m = _RUN_FILE.match(name)
    if not m:
        return None
    return m.group("judge"), m.group("kind"), int(m.group("run") or 1)


@dataclass
class Bench:
    """One question set in FastChat layout, in one language."""

    path: Path
    questions: list[Question]
    language: str | None
    language_source: str  # "option", "folder name", "language ID" or "unknown"
    _by_key: dict[str, Question] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_key = {q.key: q for q in self.questions}

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def question_file(self) -> Path:
        return self.path / QUESTION_FILE

    @property
    def answer_dir(self) -> Path:
        return self.path / "model_answer"

    @property
    def reference_dir(self) -> Path:
        return self.path / "reference_answer"

    @property
    def judgment_dir(self) -> Path:
        return self.path / "model_judgment"

    @property
    def report_dir(self) -> Path:
        return self.path / "tagengo"

    def question(self, qid: object) -> Question | None:
        return self._by_key.get(qid_key(qid))  # type: ignore[arg-type]

    def answer_path(self, model: str, run: int = 1) -> Path:
        """``model_answer/<model>.jsonl``; answer run r > 1 is ``<model>.runR.jsonl``."""
        suffix = "" if run == 1 else f".run{run}"
        return self.answer_dir / f"{safe_name(model)}{suffix}.jsonl"

    def answer_files(self, model: str) -> list[Path]:
        """Every run file of a model that exists (run 1's first)."""
        if not self.answer_dir.is_dir():
            return []
        base = safe_name(model)
        runs = [
            p for p in self.answer_dir.glob(f"{base}.run*.jsonl") if _RUN_STEM.fullmatch(p.stem[len(base) :])
        ]
        first = self.answer_path(model)
        return ([first] if first.exists() else []) + sorted(runs)

    def answer_file(self, model: str, run: int = 1) -> Path:
        """The answers run ``run`` judges: that run's file where it exists, else the model's own."""
        path = self.answer_path(model, run)
        return path if path.exists() else self.answer_path(model)

    def judgment_path(self, judge: str, mode: str, run: int = 1) -> Path:
        return self.judgment_dir / judgment_file_name(judge, mode, run)

    def prompts_file(self) -> Path | None:
        """A judge_prompts.jsonl beside the questions (translated sets ship one), else None."""
        p = self.path / PROMPTS_FILE
        return p if p.exists() else None

    def models(self) -> list[str]:
        """Models with an answer file, as FastChat lists them (file stems, sorted); the files of
        answer runs 2, 3 ... (``<model>.runR.jsonl``) are runs of their model, not models."""
        if not self.answer_dir.is_dir():
            return []
        return sorted(p.stem for p in self.answer_dir.glob("*.jsonl") if not _RUN_STEM.search(p.stem))

    def load_answers(self, models: list[str], run: int = 1) -> dict[str, dict[str, Answer]]:
        """{model: {question key: Answer}} from each model's :meth:`answer_file` for ``run``."""
        out: dict[str, dict[str, Answer]] = {}
        for m in models:
            path = self.answer_file(m, run)
            if not path.exists():
                have = ", ".join(self.models()) or "none"
                raise InputError(
                    f"{path}: no answers for model '{m}' in {self.name} (models with answers: {have})"
                )
            out[m] = read_answers(path)
        return out

    def references(
        self, judge: str | None = None, reference_model: str | None = None
    ) -> dict[str, list[str]]:
        """Reference turns per question key. A reference-answer file wins, as in FastChat:
        ``reference_answer/<reference_model>.jsonl``, else ``<judge>.jsonl``, else ``gpt-4.jsonl``
        (what MT-Bench ships), else the only file there. Questions it lacks fall back to their
        inline ``reference`` field (MT-Bench-X and our own sets carry one)."""
        refs: dict[str, list[str]] = {q.key: q.reference for q in self.questions if q.reference}
        path = self._reference_file(judge, reference_model)
        if path is not None:
            for key, ans in read_answers(path).items():
                refs[key] = ans.turns()
        return refs

    def reference_file(self, judge: str | None, reference_model: str | None = None) -> Path | None:
        """The reference-answer file :meth:`references` reads (None: only inline references)."""
        return self._reference_file(judge, reference_model)

    def _reference_file(self, judge: str | None, reference_model: str | None) -> Path | None:
        d = self.reference_dir
        if reference_model:
            p = d / f"{reference_model}.jsonl"
            if not p.exists():
                raise InputError(f"{p}: reference answers not found (--reference-model {reference_model})")
            return p
        if not d.is_dir():
            return None
        for name in (judge, "gpt-4"):
            if name and (d / f"{safe_name(name)}.jsonl").exists():
                return d / f"{safe_name(name)}.jsonl"
        files = sorted(d.glob("*.jsonl"))
        return files[0] if len(files) == 1 else None


def bench_dirs(root: Path) -> list[Path]:
    """``root`` itself when it holds a question.jsonl, else its sub-folders that do."""
    root = Path(root)
    if root.is_file() and root.name == QUESTION_FILE:
        return [root.parent]
    if (root / QUESTION_FILE).exists():
        return [root]
    if not root.is_dir():
        raise InputError(
            f"{root}: no such folder (give a bench folder holding {QUESTION_FILE}, or a data folder)"
        )
    found = sorted(p.parent for p in root.glob(f"*/{QUESTION_FILE}"))
    if not found:
        raise InputError(f"{root}: neither it nor its sub-folders hold a {QUESTION_FILE}")
    return found


def _detect_language(questions: list[Question]) -> str | None:
    """Majority language of the first turns, by lid.176. None when the vote is split."""
    from tagengo.lang.gate import LanguageDetector

    det = LanguageDetector.shared()
    votes = Counter(det.detect(q.turns[0])[0] for q in questions)
    if not votes:
        return None
    code, n = votes.most_common(1)[0]
    return code if code and n >= 0.6 * len(questions) else None


def open_bench(path: Path, language: str | None = None, *, detect: bool = True) -> Bench:
    """Read a bench folder's questions and settle its language."""
    paths = bench_dirs(path)
    if len(paths) != 1:
        raise InputError(
            f"{path} holds {len(paths)} benches; give one of: {', '.join(p.name for p in paths)}"
        )
    folder = paths[0]
    questions = read_questions(folder / QUESTION_FILE)
    if language:
        code = normalize_code(language)
        if code is None:
            raise InputError(
                f"--language {language!r} is no language code or name we know (e.g. de, ja, German)"
            )
        return Bench(folder, questions, code, "option")
    code = language_from_bench_name(folder.name)
    if code:
        return Bench(folder, questions, code, "folder name")
    if detect:
        code = _detect_language(questions)
        if code:
            return Bench(folder, questions, code, "language ID")
    return Bench(folder, questions, None, "unknown")


def open_benches(paths: list[Path], language: str | None = None, *, detect: bool = True) -> list[Bench]:
    """Every bench under the given paths (a data folder expands to its bench sub-folders)."""
    out: list[Bench] = []
    seen: set[Path] = set()
    for p in paths:
        for d in bench_dirs(p):
            d = d.resolve()
            if d in seen:
                continue
            seen.add(d)
            out.append(open_bench(d, language, detect=detect))
    return out
