"""FastChat ``llm_judge`` file formats, read and written field for field.

The MT-Bench world exchanges five JSONL shapes (FastChat's ``fastchat/llm_judge/data``):

* ``question.jsonl``: ``question_id`` (int, or a string such as ``"81_DE"`` in MT-Bench-X),
  ``category``, ``turns`` (1-2 strings), optional ``reference`` (one string per turn);
* ``model_answer/<model>.jsonl`` and ``reference_answer/<judge>.jsonl``: ``question_id``,
  ``answer_id``, ``model_id``, ``choices: [{index, turns}]``, ``tstamp``;
* ``model_judgment/<judge>_single.jsonl``: ``question_id``, ``model``, ``judge`` ([judge model,
  prompt name]), ``user_prompt``, ``judgment``, ``score`` (-1 when no verdict), ``turn``, ``tstamp``;
* ``model_judgment/<judge>_pair.jsonl``: ``question_id``, ``model_1``, ``model_2``, ``g1_winner``,
  ``g2_winner`` (``model_1`` / ``model_2`` / ``tie`` / ``error``), ``judge``, ``g1_user_prompt``,
  ``g1_judgment``, ``g2_user_prompt``, ``g2_judgment``, ``turn``, ``tstamp``;
* ``judge_prompts.jsonl`` (see :mod:`tagengo.bench.prompts`).

Readers validate every field they use and fail with the file, line and field: a row lacking
several fields names them all at once, most fundamental first (``require_fields``: what
identifies the row, then what it says), and type errors come in the same order; fields they do
not know are kept (``extra``) and written back, so a round trip loses nothing. Writers are
atomic (temporary name, then rename).

It lives in io/, not in bench/, because contamination and ``translate --bench`` read the same
files as bench does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from tagengo.errors import InputError
from tagengo.io.text import iter_json_lines

#: FastChat's marker for a judge call that failed for good; such rows carry score -1.
API_ERROR_OUTPUT = "$ERROR$"
#: Categories whose judge prompts carry a reference answer (FastChat's NEED_REF_CATS).
NEED_REF_CATS = ("math", "reasoning", "coding")
#: The eight MT-Bench categories, in the order of the MT-Bench paper's radar chart.
CATEGORIES = ("writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities")

QuestionId = int | str


def qid_key(qid: QuestionId) -> str:
    """Join key for question ids: FastChat files use ints, MT-Bench-X strings; 81 and "81" match."""
    return str(qid)


_NUM_PREFIX = re.compile(r"^(\d+)(.*)$")


def qid_sort_key(qid: QuestionId) -> tuple[int, int, str]:
    """Natural order: 81 < 82 < 100, and "81_DE" < "100_DE" (plain string order would not)."""
    s = str(qid)
    m = _NUM_PREFIX.match(s)
    if m:
        return (0, int(m.group(1)), m.group(2))
    return (1, 0, s)


# --------------------------------------------------------------------------------------------
# JSONL plumbing


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; a bad line is an error naming file and line.

    Lines end at ``\\n`` only (U+2028 and the other characters ``str.splitlines`` also cuts at
    may sit raw in a JSON string); invalid UTF-8 and an unpaired surrogate escape (``"\\ud83d"``)
    are bad lines too (io/text.py ``iter_json_lines``)."""
    if not Path(path).exists():
        raise InputError(f"{path}: file not found")
    for n, obj, problem in iter_json_lines(path):
        if problem is not None:
            raise InputError(f"{path}:{n}: {problem}")
        if not isinstance(obj, dict):
            raise InputError(f"{path}:{n}: expected a JSON object, got {type(obj).__name__}")
        yield n, obj


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows atomically (temporary file in the same folder, then rename). Returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    n = 0
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; the result should look like any file we write
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


def require_fields(obj: dict, where: str, fields: Sequence[tuple[str, str]]) -> None:
    """Fail once, naming every field of ``fields`` that ``obj`` lacks.

    ``fields``: ``(key, what it should hold)`` pairs, most fundamental first (what identifies
    the row before what it says), which is also the order they are named in:
    ``q.jsonl:3: missing fields 'turns' (a list of 1-2 strings) and 'category' (a string such
    as 'writing')``. ``where`` is ``file:line``. Raises ``InputError``; a row that has them all
    passes (their types are checked by the readers, in the same order)."""
    missing = [f"'{key}' ({what})" for key, what in fields if key not in obj]
    if not missing:
        return
    if len(missing) == 1:
        raise InputError(f"{where}: missing field {missing[0]}")
    raise InputError(f"{where}: missing fields {', '.join(missing[:-1])} and {missing[-1]}")


def _field(obj: dict, key: str, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    if key not in obj:
        raise InputError(f"{where}: missing field '{key}' ({what})")
    value = obj[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise InputError(f"{where}: field '{key}' should be {what}, got a boolean")
    if not isinstance(value, kind):
        raise InputError(f"{where}: field '{key}' should be {what}, got {type(value).__name__}")
    return value


_QID = "an integer or a string"


def _qid(obj: dict, where: str) -> QuestionId:
    return _field(obj, "question_id", (int, str), where, _QID)


def _str_list(obj: dict, key: str, where: str, *, min_len: int = 0, max_len: int | None = None) -> list[str]:
    value = _field(obj, key, list, where, "a list of strings")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise InputError(f"{where}: field '{key}[{i}]' should be a string, got {type(item).__name__}")
    if len(value) < min_len or (max_len is not None and len(value) > max_len):
        span = f"{min_len}-{max_len}" if max_len is not None else f"at least {min_len}"
        raise InputError(f"{where}: field '{key}' should hold {span} strings, got {len(value)}")
    return value


# --------------------------------------------------------------------------------------------
# Questions


@dataclass(slots=True)
class Question:
    question_id: QuestionId
    category: str
    turns: list[str]
    #: One reference per turn where the file has them (MT-Bench-X keeps them inline), else None.
    reference: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return qid_key(self.question_id)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"question_id": self.question_id, "category": self.category, "turns": self.turns}
        if self.reference is not None:
            d["reference"] = self.reference
        d.update(self.extra)
        return d


#: The fields a question row must have, most fundamental first (FastChat's question.jsonl).
_QUESTION_FIELDS = (
    ("question_id", _QID),
    ("turns", "a list of 1-2 strings"),
    ("category", "a string such as 'writing'"),
)


def read_questions(path: Path) -> list[Question]:
    """Read a ``question.jsonl``. Ids must be unique; turns 1-2 non-empty strings."""
    path = Path(path)
    out: list[Question] = []
    seen: dict[str, int] = {}
    for n, obj in iter_jsonl(path):
        where = f"{path}:{n}"
        require_fields(obj, where, _QUESTION_FIELDS)
        qid = _qid(obj, where)
        turns = _str_list(obj, "turns", where, min_len=1, max_len=2)
        category = _field(obj, "category", str, where, _QUESTION_FIELDS[2][1])
        for i, t in enumerate(turns):
            if not t.strip():
                raise InputError(f"{where}: field 'turns[{i}]' is empty")
        reference = None
        if obj.get("reference") is not None:
            reference = _str_list(obj, "reference", where)
            if not reference:
                reference = None  # MT-Bench-X writes [] for "no reference"
        key = qid_key(qid)
        if key in seen:
            raise InputError(f"{where}: field 'question_id' {qid!r} repeats line {seen[key]}")
        seen[key] = n
        extra = {k: v for k, v in obj.items() if k not in ("question_id", "category", "turns", "reference")}
        out.append(Question(qid, category.strip().lower(), turns, reference, extra))
    if not out:
        raise InputError(f"{path}: no questions in file")
    return out


def write_questions(path: Path, questions: Iterable[Question]) -> int:
    return write_jsonl(path, (q.to_dict() for q in questions))


# --------------------------------------------------------------------------------------------
# Answers (model answers and reference answers share the shape)


@dataclass(slots=True)
class Answer:
    question_id: QuestionId
    model_id: str
    #: ``[{"index": 0, "turns": [...]}, ...]`` exactly as in the file.
    choices: list[dict[str, Any]]
    answer_id: str = ""
    tstamp: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return qid_key(self.question_id)

    def turns(self, choice: int = 0) -> list[str]:
        return self.choices[choice]["turns"]

    def to_dict(self) -> dict[str, Any]:
        d = {
            "question_id": self.question_id,
            "answer_id": self.answer_id,
            "model_id": self.model_id,
            "choices": self.choices,
            "tstamp": self.tstamp,
        }
        d.update(self.extra)
        return d


_B57 = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def make_answer_id(*parts: Any) -> str:
    """A 22-character id in shortuuid's alphabet, derived from the content so re-runs are stable."""
    h = int.from_bytes(hashlib.sha256(json.dumps(parts, ensure_ascii=False, default=str).encode()).digest())
    chars = []
    for _ in range(22):
        h, r = divmod(h, 57)
        chars.append(_B57[r])
    return "".join(chars)


#: The fields an answer row must have (model_id, answer_id and tstamp may be left out).
_ANSWER_FIELDS = (("question_id", _QID), ("choices", "a list of {index, turns}"))


def read_answers(path: Path) -> dict[str, Answer]:
    """Read one answer file -> {question key: Answer}. A repeated question id keeps the last row
    (FastChat's loader does the same: it fills a dict line by line)."""
    path = Path(path)
    out: dict[str, Answer] = {}
    for n, obj in iter_jsonl(path):
        where = f"{path}:{n}"
        require_fields(obj, where, _ANSWER_FIELDS)
        qid = _qid(obj, where)
        choices = _field(obj, "choices", list, where, _ANSWER_FIELDS[1][1])
        if not choices:
            raise InputError(f"{where}: field 'choices' is empty")
        for i, ch in enumerate(choices):
            if not isinstance(ch, dict):
                raise InputError(f"{where}: field 'choices[{i}]' should be an object")
            require_fields(ch, f"{where} (choices[{i}])", (("turns", "a list of strings"),))
            _str_list(ch, "turns", f"{where} (choices[{i}])", min_len=1)
        model_id = obj.get("model_id")
        if model_id is not None and not isinstance(model_id, str):
            raise InputError(f"{where}: field 'model_id' should be a string")
        tstamp = obj.get("tstamp", 0.0)
        if not isinstance(tstamp, int | float) or isinstance(tstamp, bool):
            raise InputError(f"{where}: field 'tstamp' should be a number")
        extra = {
            k: v
            for k, v in obj.items()
            if k not in ("question_id", "answer_id", "model_id", "choices", "tstamp")
        }
        out[qid_key(qid)] = Answer(
            qid, model_id or path.stem, choices, str(obj.get("answer_id", "")), float(tstamp), extra
        )
    return out


def write_answers(path: Path, answers: Iterable[Answer]) -> int:
    """Write sorted by question id (as FastChat's reorg_answer_file leaves them)."""
    rows = sorted(answers, key=lambda a: qid_sort_key(a.question_id))
    return write_jsonl(path, (a.to_dict() for a in rows))


# --------------------------------------------------------------------------------------------
# Judgments


def _judge_pair(obj: dict, where: str) -> tuple[str, str]:
    judge = _field(obj, "judge", (list, tuple), where, _JUDGE)
    if len(judge) != 2 or not all(isinstance(x, str) for x in judge):
        raise InputError(f"{where}: field 'judge' should be [judge model, prompt name], got {judge!r}")
    return (judge[0], judge[1])


def _turn(obj: dict, where: str) -> int:
    turn = obj.get("turn", 1)  # FastChat's single-judge pair rows have no 'turn'
    if isinstance(turn, bool) or not isinstance(turn, int | float) or int(turn) != turn or turn < 1:
        raise InputError(f"{where}: field 'turn' should be 1 or 2, got {turn!r}")
    return int(turn)


class _Judgment:
    """What a row of either judgment file does alike: its question key, and the row as FastChat
    writes it (its fields in its order, the judge as a list, then tagengo's ``extra``)."""

    __slots__ = ()
    FIELDS: ClassVar[tuple[str, ...]]  # FastChat's fields of the file, in FastChat's order
    question_id: QuestionId
    judge: tuple[str, str]
    extra: dict[str, Any]

    @property
    def key(self) -> str:
        return qid_key(self.question_id)

    def to_dict(self) -> dict[str, Any]:
        d = {k: list(self.judge) if k == "judge" else getattr(self, k) for k in self.FIELDS}
        d.update(self.extra)
        return d


def _row_tail(obj: dict, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """The fields both judgment files read alike: judge, turn, tstamp and the extra fields."""
    tstamp = obj.get("tstamp", 0.0)
    return {
        "judge": _judge_pair(obj, where),
        "turn": _turn(obj, where),
        "tstamp": float(tstamp) if isinstance(tstamp, int | float) else 0.0,
        "extra": {k: v for k, v in obj.items() if k not in keys},
    }


_SINGLE_KEYS = ("question_id", "model", "judge", "user_prompt", "judgment", "score", "turn", "tstamp")


@dataclass(slots=True)
class SingleJudgment(_Judgment):
    FIELDS: ClassVar[tuple[str, ...]] = _SINGLE_KEYS

    question_id: QuestionId
    model: str
    judge: tuple[str, str]
    user_prompt: str
    judgment: str
    score: float
    turn: int
    tstamp: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """FastChat's show_result drops exactly the rows whose score is -1."""
        return self.score != -1


_JUDGE = "[judge model, prompt name]"
#: The fields a single-judgment row must have, most fundamental first (turn defaults to 1).
_SINGLE_FIELDS = (
    ("question_id", _QID),
    ("model", "the judged model's name"),
    ("judge", _JUDGE),
    ("score", "a number (-1 when the judge gave none)"),
)


def read_single_judgments(path: Path) -> list[SingleJudgment]:
    """Read a ``<judge>_single.jsonl``; errors name the file, line and every missing field."""
    path = Path(path)
    out: list[SingleJudgment] = []
    for n, obj in iter_jsonl(path):
        where = f"{path}:{n}"
        require_fields(obj, where, _SINGLE_FIELDS)
        qid = _qid(obj, where)
        model = _field(obj, "model", str, where, _SINGLE_FIELDS[1][1])
        tail = _row_tail(obj, where, _SINGLE_KEYS)
        score = _field(obj, "score", (int, float), where, _SINGLE_FIELDS[3][1])
        out.append(
            SingleJudgment(
                question_id=qid,
                model=model,
                user_prompt=str(obj.get("user_prompt", "")),
                judgment=str(obj.get("judgment", "")),
                score=score,
                **tail,
            )
        )
    return out


#: Values FastChat writes in g1_winner / g2_winner.
WINNERS = ("model_1", "model_2", "tie", "error")


_PAIR_KEYS = (
    "question_id",
    "model_1",
    "model_2",
    "g1_winner",
    "g2_winner",
    "judge",
    "g1_user_prompt",
    "g1_judgment",
    "g2_user_prompt",
    "g2_judgment",
    "turn",
    "tstamp",
)


@dataclass(slots=True)
class PairJudgment(_Judgment):
    FIELDS: ClassVar[tuple[str, ...]] = _PAIR_KEYS

    question_id: QuestionId
    model_1: str
    model_2: str
    g1_winner: str  # game 1: model_1 shown as A
    g2_winner: str  # game 2: model_2 shown as A (already mapped back to model_1/model_2)
    judge: tuple[str, str]
    g1_user_prompt: str = ""
    g1_judgment: str = ""
    g2_user_prompt: str = ""
    g2_judgment: str = ""
    turn: int = 1
    tstamp: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_error(self) -> bool:
        return self.g1_winner == "error" or self.g2_winner == "error"

    @property
    def consistent(self) -> bool:
        """Both orders gave the same verdict (the position-consistency numerator)."""
        return self.g1_winner == self.g2_winner

    def outcome(self) -> str:
        """FastChat's show_result rule: agreeing verdicts give a win; a tie in game 1 or any
        disagreement gives a tie. Returns 'model_1', 'model_2', 'tie' or 'error'."""
        if self.has_error:
            return "error"
        if self.g1_winner == "tie" or self.g1_winner != self.g2_winner:
            return "tie"
        return self.g1_winner


_WINNER = "model_1, model_2, tie or error"
#: The fields a pair-judgment row must have, most fundamental first (turn defaults to 1).
_PAIR_FIELDS = (
    ("question_id", _QID),
    ("model_1", "a model name"),
    ("model_2", "a model name"),
    ("g1_winner", _WINNER),
    ("g2_winner", _WINNER),
    ("judge", _JUDGE),
)
#: The older FastChat shape: one ``winner`` instead of the two games' verdicts.
_PAIR_FIELDS_OLD = (*_PAIR_FIELDS[:3], ("winner", "model_1, model_2 or tie"), _PAIR_FIELDS[5])


def read_pair_judgments(path: Path) -> list[PairJudgment]:
    """Read a ``<judge>_pair.jsonl``; errors name the file, line and every missing field."""
    path = Path(path)
    out: list[PairJudgment] = []
    for n, obj in iter_jsonl(path):
        where = f"{path}:{n}"
        one_verdict = "winner" in obj and "g1_winner" not in obj  # an older FastChat shape
        require_fields(obj, where, _PAIR_FIELDS_OLD if one_verdict else _PAIR_FIELDS)
        qid = _qid(obj, where)
        model_1 = _field(obj, "model_1", str, where, "a model name")
        model_2 = _field(obj, "model_2", str, where, "a model name")
        if one_verdict:
            g1 = g2 = _field(obj, "winner", str, where, "model_1, model_2 or tie")
        else:
            g1 = _field(obj, "g1_winner", str, where, _WINNER)
            g2 = _field(obj, "g2_winner", str, where, _WINNER)
        for name, v in (("g1_winner", g1), ("g2_winner", g2)):
            if v not in WINNERS:
                raise InputError(f"{where}: field '{name}' should be one of {', '.join(WINNERS)}, got {v!r}")
        out.append(
            PairJudgment(
                question_id=qid,
                model_1=model_1,
                model_2=model_2,
                g1_winner=g1,
                g2_winner=g2,
                g1_user_prompt=str(obj.get("g1_user_prompt", "")),
                g1_judgment=str(obj.get("g1_judgment", "")),
                g2_user_prompt=str(obj.get("g2_user_prompt", "")),
                g2_judgment=str(obj.get("g2_judgment", "")),
                **_row_tail(obj, where, _PAIR_KEYS),
            )
        )
    return out


def write_judgments(path: Path, rows: Iterable[SingleJudgment | PairJudgment]) -> int:
    """Write judgment rows of either file, one FastChat row per line, in the order given."""
    return write_jsonl(path, (r.to_dict() for r in rows))


#: The names each file's writer has always had (both write rows as FastChat does).
write_single_judgments = write_pair_judgments = write_judgments
