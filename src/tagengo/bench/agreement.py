"""Agreement between the LLM judge and human ratings, and between the human annotators
themselves (MT-Bench-X section 5; MT-Bench's human-agreement tables).

Human ratings come as FastChat's human judgments (``human_judgments.json``: a JSON array, or
JSON lines as the Hugging Face copy is written, of ``question_id, model_a, model_b, winner,
judge, turn`` records; the conversations they carry are ignored) or as a CSV in one of two
shapes (a header row; extra columns are ignored):

* pairwise votes: ``question_id, model_a, model_b, winner`` with ``winner`` one of
  ``model_a`` / ``model_b`` / ``tie`` (``tie (bothbad)``, ``a`` / ``b`` are accepted), optional
  ``turn`` (default 1), ``judge`` (the annotator), ``language`` (needed when several benches
  are judged at once);
* single scores: ``question_id, model, score`` with optional ``turn``, ``judge``, ``language``.

Pairwise votes are compared with the judge's pairwise verdicts (both orders combined, as
``show`` counts them) and, when only single grades exist, with the preference their scores
imply. Single scores are compared score for score (Spearman, Pearson, kappa on rounded
scores) and also as the pairwise preferences they imply between models on the same question.

As in FastChat's compute_agreement: each human vote is one comparison (several annotators of
one game give several); "without ties" leaves out every comparison where either side voted tie.

Where a match (question, models, turn) has ratings from several annotators, every two of them
from different annotators make one human–human comparison (an unnamed annotator counts as
different from every other row): MT-Bench-X's and MT-Bench's agreement between humans, the
ceiling a judge is measured against. Kappa and correlations over such pairs count each pair in
both orders, so which annotator comes first does not matter.

Exact agreement and kappa of scores compare whole grades, rounded half up (6.5 -> 7, as
:func:`tagengo.bench.stats.round_half_up` says why), never Python's halves-to-even.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any, TypeVar

from tagengo.bench.stats import cohen_kappa, pearson, round_half_up, spearman
from tagengo.errors import InputError
from tagengo.io.fastchat import PairJudgment, SingleJudgment, iter_jsonl, qid_key
from tagengo.io.text import ENCODING

T = TypeVar("T")

_WINNERS = {
    "model_a": "a",
    "a": "a",
    "model_1": "a",
    "model_b": "b",
    "b": "b",
    "model_2": "b",
    "tie": "tie",
    "tie (bothbad)": "tie",
    "tie(bothbad)": "tie",
    "c": "tie",
}


@dataclass(frozen=True, slots=True)
class HumanVote:
    language: str
    qkey: str
    model_a: str  # sorted: model_a < model_b
    model_b: str
    turn: int
    winner: str  # 'a', 'b' or 'tie' for the sorted pair
    annotator: str  # '' when the file does not say (then different from every other row)


@dataclass(frozen=True, slots=True)
class HumanScore:
    language: str
    qkey: str
    model: str
    turn: int
    score: float
    annotator: str  # '' when the file does not say


def _flip(w: str) -> str:
    return {"a": "b", "b": "a"}.get(w, w)


def read_human(path: Path, default_language: str = "") -> tuple[list[HumanVote], list[HumanScore]]:
    """Read human ratings: FastChat's human judgments (``.json``: a JSON array; ``.jsonl``: one
    record a line) or a CSV (any other name); errors name the file and the line or item."""
    path = Path(path)
    if path.suffix.lower() in (".json", ".jsonl"):
        return read_human_json(path, default_language)
    return read_human_csv(path, default_language)


def _json_records(path: Path) -> Iterable[tuple[str, dict[str, Any]]]:
    """(where, record) of a JSON array file, or of a JSON-lines file (also one named .json,
    as ``datasets``' ``to_json`` writes them)."""
    if not path.exists():
        raise InputError(f"{path}: file not found")
    with open(path, encoding=ENCODING) as fh:
        head = fh.read(4096).lstrip()
    if head.startswith("["):
        try:
            items = json.loads(path.read_text(encoding=ENCODING))
        except json.JSONDecodeError as e:
            raise InputError(f"{path}: not valid JSON ({e})") from None
        for i, obj in enumerate(items, start=1):
            if not isinstance(obj, dict):
                raise InputError(f"{path}: item {i}: expected a JSON object, got {type(obj).__name__}")
            yield f"{path}: item {i}", obj
        return
    for n, obj in iter_jsonl(path):
        yield f"{path}:{n}", obj


def _text(value: Any) -> str:
    """A field as text: FastChat writes a judge as a string ('expert_0') or a list (['gpt-4', 'pair-v2'])."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "/".join(str(v) for v in value)
    return str(value).strip()


def read_human_json(path: Path, default_language: str = "") -> tuple[list[HumanVote], list[HumanScore]]:
    """FastChat's human judgments: records with ``question_id, model_a, model_b, winner`` (votes)
    or ``question_id, model, score`` (scores), optional ``turn`` (default 1), ``judge`` (the
    annotator) and ``language``."""
    votes: list[HumanVote] = []
    scores: list[HumanScore] = []
    for where, obj in _json_records(Path(path)):
        row = {k: _text(v) for k, v in obj.items() if k in _COLUMNS}
        if {"model_a", "model_b", "winner"} <= set(row):
            votes.append(_vote(row, where, default_language))
        elif {"model", "score"} <= set(row):
            scores.append(_score(row, where, default_language))
        else:
            raise InputError(
                f"{where}: a human judgment needs question_id, model_a, model_b and winner (a vote) or "
                "question_id, model and score (a score)"
            )
    return votes, scores


#: The fields of a human rating row; others (FastChat's conversation_a/_b, tstamp ...) are ignored.
_COLUMNS = (
    "question_id",
    "model_a",
    "model_b",
    "winner",
    "model",
    "score",
    "turn",
    "judge",
    "annotator",
    "language",
)


def _common(row: dict[str, str], where: str, default_language: str) -> tuple[str, int, str, str]:
    """(question key, turn, language, annotator) of a rating row."""
    qid = row.get("question_id", "")
    if not qid:
        raise InputError(f"{where}: column 'question_id' is empty")
    turn_s = row.get("turn") or "1"
    try:
        turn = int(float(turn_s))
    except ValueError:
        raise InputError(f"{where}: column 'turn' should be 1 or 2, got {turn_s!r}") from None
    language = row.get("language") or default_language
    annotator = row.get("judge") or row.get("annotator") or ""
    return qid_key(qid), turn, language, annotator


def _vote(row: dict[str, str], where: str, default_language: str) -> HumanVote:
    qkey, turn, language, annotator = _common(row, where, default_language)
    w = _WINNERS.get(row["winner"].lower())
    if w is None:
        raise InputError(f"{where}: column 'winner' should be model_a, model_b or tie, got {row['winner']!r}")
    a, b = row["model_a"], row["model_b"]
    if not a or not b or a == b:
        raise InputError(f"{where}: columns 'model_a'/'model_b' should name two different models")
    if b < a:
        a, b, w = b, a, _flip(w)
    return HumanVote(language, qkey, a, b, turn, w, annotator)


def _score(row: dict[str, str], where: str, default_language: str) -> HumanScore:
    qkey, turn, language, annotator = _common(row, where, default_language)
    try:
        score = float(row["score"])
    except ValueError:
        raise InputError(f"{where}: column 'score' should be a number, got {row['score']!r}") from None
    if math.isnan(score):
        raise InputError(f"{where}: column 'score' is NaN")
    return HumanScore(language, qkey, row["model"], turn, score, annotator)


def read_human_csv(path: Path, default_language: str = "") -> tuple[list[HumanVote], list[HumanScore]]:
    """Read either CSV shape (told apart by its columns); errors name the file, line and column."""
    path = Path(path)
    try:
        # utf-8-sig: Excel's "CSV UTF-8" starts with a byte-order mark that would otherwise
        # become part of the first column's name (io/text.py).
        fh = open(path, newline="", encoding=ENCODING)  # noqa: SIM115
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    votes: list[HumanVote] = []
    scores: list[HumanScore] = []
    with fh:
        reader = csv.DictReader(fh)
        cols = {c.strip() for c in (reader.fieldnames or [])}
        pairwise = {"question_id", "model_a", "model_b", "winner"} <= cols
        single = {"question_id", "model", "score"} <= cols
        if not (pairwise or single):
            raise InputError(
                f"{path}: header should have question_id, model_a, model_b, winner (pairwise votes) "
                f"or question_id, model, score (single scores); it has {', '.join(sorted(cols)) or 'nothing'}"
            )
        for n, row in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            where = f"{path}:{n}"
            if pairwise:
                votes.append(_vote(row, where, default_language))
            else:
                scores.append(_score(row, where, default_language))
    return votes, scores


@dataclass
class AgreementRow:
    comparison: str  # e.g. "pairwise votes vs judge (pair)"
    turn: str  # "1", "2" or "all"
    n: int = 0
    agree: int = 0
    n_no_ties: int = 0
    agree_no_ties: int = 0
    kappa: float = float("nan")
    spearman: float = float("nan")
    pearson: float = float("nan")
    kappa_quadratic: float = float("nan")

    @property
    def agreement(self) -> float:
        return self.agree / self.n if self.n else float("nan")

    @property
    def agreement_no_ties(self) -> float:
        return self.agree_no_ties / self.n_no_ties if self.n_no_ties else float("nan")

    def to_dict(self) -> dict:
        return {
            "comparison": self.comparison,
            "turn": self.turn,
            "n": self.n,
            "agreement": self.agreement,
            "n_without_ties": self.n_no_ties,
            "agreement_without_ties": self.agreement_no_ties,
            "cohen_kappa": self.kappa,
            "spearman": self.spearman,
            "pearson": self.pearson,
            "kappa_quadratic": self.kappa_quadratic,
        }


_ORD = {"a": 1, "tie": 0, "b": -1}


def _both_orders(pairs: list[tuple[T, T]], symmetric: bool) -> list[tuple[T, T]]:
    """The pairs a kappa or correlation is computed over: as given (judge, human), or, between
    two annotators, in both orders, so neither one is the 'first rater'."""
    return pairs + [(y, x) for x, y in pairs] if symmetric else pairs


def _vote_agreement(
    label: str, turn: str, pairs: list[tuple[str, str]], symmetric: bool = False
) -> AgreementRow:
    """pairs: (judge verdict, human vote), or two annotators' votes; each 'a' / 'b' / 'tie'."""
    row = AgreementRow(label, turn)
    for j, h in pairs:
        row.n += 1
        row.agree += j == h
        if j != "tie" and h != "tie":
            row.n_no_ties += 1
            row.agree_no_ties += j == h
    if pairs:
        js, hs = zip(*_both_orders(pairs, symmetric), strict=True)
        row.kappa = cohen_kappa(list(js), list(hs))
        row.spearman = spearman([_ORD[x] for x in js], [_ORD[x] for x in hs])
    return row


def _score_agreement(
    label: str, turn: str, pairs: list[tuple[float, float]], symmetric: bool = False
) -> AgreementRow:
    """pairs: (judge grade, human score), or two annotators' scores. Exact agreement and kappa
    compare whole grades, rounded half up; the correlations use the scores as given."""
    row = AgreementRow(label, turn)
    row.n = row.n_no_ties = len(pairs)
    row.agree = row.agree_no_ties = sum(round_half_up(a) == round_half_up(b) for a, b in pairs)
    if pairs:
        xs, ys = (list(v) for v in zip(*_both_orders(pairs, symmetric), strict=True))
        row.spearman = spearman(xs, ys)
        row.pearson = pearson(xs, ys)
        rx, ry = [round_half_up(x) for x in xs], [round_half_up(y) for y in ys]
        row.kappa = cohen_kappa(rx, ry)
        row.kappa_quadratic = cohen_kappa(rx, ry, weights="quadratic")
    return row


def _by_turn(
    label: str,
    items: list[tuple[int, tuple[Any, Any]]],
    measure: Any = _vote_agreement,
    symmetric: bool = False,
) -> list[AgreementRow]:
    """One row per turn, and one over both turns where there are two: ``measure(label, turn,
    pairs, symmetric)`` over the (turn, pair) items."""
    out = []
    for t in sorted({t for t, _ in items}):
        out.append(measure(label, str(t), [p for tt, p in items if tt == t], symmetric))
    if len({t for t, _ in items}) > 1:
        out.append(measure(label, "all", [p for _, p in items], symmetric))
    return out


def annotator_pairs(
    ratings: Iterable[tuple[Hashable, int, str, T]],
) -> list[tuple[int, tuple[T, T]]]:
    """(turn, (rating, rating)) for every two ratings of one match by different annotators.

    ``ratings``: (match key, turn, annotator, rating). An empty annotator is an unnamed one,
    different from every other row; one annotator rating a match twice is no comparison
    between humans and is left out."""
    by_match: dict[Hashable, list[tuple[int, str, T]]] = defaultdict(list)
    for match, turn, annotator, rating in ratings:
        by_match[match].append((turn, annotator, rating))
    out: list[tuple[int, tuple[T, T]]] = []
    for items in by_match.values():
        for (turn, a1, r1), (_, a2, r2) in combinations(items, 2):
            if a1 and a1 == a2:
                continue
            out.append((turn, (r1, r2)))
    return out


HUMAN_VOTES = "human votes vs other annotators' votes"
HUMAN_SCORES = "human scores vs other annotators' scores"


def human_agreement(votes: list[HumanVote], scores: list[HumanScore]) -> list[AgreementRow]:
    """Agreement between annotators: every two ratings of one match by different annotators,
    per turn and overall (votes: with and without ties, as FastChat's compute_agreement counts
    human pairs; scores: exact agreement of whole grades, kappa, correlations)."""
    rows: list[AgreementRow] = []
    vote_pairs = annotator_pairs(
        ((v.language, v.qkey, v.model_a, v.model_b, v.turn), v.turn, v.annotator, v.winner) for v in votes
    )
    if vote_pairs:
        rows += _by_turn(HUMAN_VOTES, vote_pairs, _vote_agreement, symmetric=True)
    score_pairs = annotator_pairs(
        ((s.language, s.qkey, s.model, s.turn), s.turn, s.annotator, s.score) for s in scores
    )
    if score_pairs:
        rows += _by_turn(HUMAN_SCORES, score_pairs, _score_agreement, symmetric=True)
    return rows


def _pref(x: float, y: float) -> str:
    return "a" if x > y else "b" if y > x else "tie"


JudgedSingles = dict[tuple[str, str, str, int], float]  # (language, qkey, model, turn) -> score


def single_lookup(rows: Iterable[tuple[str, SingleJudgment]]) -> JudgedSingles:
    """(language, judgment) -> the usable scores by (language, question, model, turn)."""
    out: JudgedSingles = {}
    for lang, r in rows:
        if r.valid:
            out[(lang, r.key, r.model, r.turn)] = float(r.score)
    return out


def pair_lookup(rows: Iterable[tuple[str, PairJudgment]]) -> dict[tuple[str, str, str, str, int], str]:
    """(language, judgment) -> the judge's verdict 'a'/'b'/'tie' for the sorted model pair."""
    out = {}
    for lang, r in rows:
        outcome = r.outcome()
        if outcome == "error":
            continue
        w = {"model_1": "a", "model_2": "b", "tie": "tie"}[outcome]
        a, b = r.model_1, r.model_2
        if b < a:
            a, b, w = b, a, _flip(w)
        out[(lang, r.key, a, b, r.turn)] = w
    return out


def agreement_report(
    votes: list[HumanVote],
    scores: list[HumanScore],
    judge_singles: JudgedSingles,
    judge_pairs: dict[tuple[str, str, str, str, int], str],
) -> tuple[list[AgreementRow], dict[str, int]]:
    """All comparisons the inputs allow, per turn and overall, the agreement between annotators
    first; plus counts of human rows that found no judge verdict (so they are not silently left
    out)."""
    rows: list[AgreementRow] = human_agreement(votes, scores)
    unmatched: dict[str, int] = defaultdict(int)
    if votes:
        vs_pair: list[tuple[int, tuple[str, str]]] = []
        vs_single: list[tuple[int, tuple[str, str]]] = []
        for v in votes:
            jp = judge_pairs.get((v.language, v.qkey, v.model_a, v.model_b, v.turn))
            if jp is not None:
                vs_pair.append((v.turn, (jp, v.winner)))
            elif judge_pairs:
                unmatched["votes without a pairwise judgment"] += 1
            sa = judge_singles.get((v.language, v.qkey, v.model_a, v.turn))
            sb = judge_singles.get((v.language, v.qkey, v.model_b, v.turn))
            if sa is not None and sb is not None:
                vs_single.append((v.turn, (_pref(sa, sb), v.winner)))
            elif judge_singles:
                unmatched["votes without single grades for both models"] += 1
        if vs_pair:
            rows += _by_turn("human votes vs judge pairwise verdicts", vs_pair)
        if vs_single:
            rows += _by_turn("human votes vs preference from judge single grades", vs_single)
    if scores:
        # Several annotators of one answer: compare each with the judge, as for votes.
        matched: list[tuple[int, float, float]] = []
        for s in scores:
            j = judge_singles.get((s.language, s.qkey, s.model, s.turn))
            if j is None:
                unmatched["scores without a single grade"] += 1
                continue
            matched.append((s.turn, j, s.score))
        rows += _by_turn(
            "human scores vs judge single grades", [(t, (j, h)) for t, j, h in matched], _score_agreement
        )
        # The preferences the scores imply, model against model on the same question and turn.
        by_item: dict[tuple[str, str, int], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for s in scores:
            by_item[(s.language, s.qkey, s.turn)][s.model].append(s.score)
        implied: list[tuple[int, tuple[str, str]]] = []
        for (lang, qkey, turn), per_model in by_item.items():
            for a, b in combinations(sorted(per_model), 2):
                ja = judge_singles.get((lang, qkey, a, turn))
                jb = judge_singles.get((lang, qkey, b, turn))
                if ja is None or jb is None:
                    continue
                ha = sum(per_model[a]) / len(per_model[a])
                hb = sum(per_model[b]) / len(per_model[b])
                implied.append((turn, (_pref(ja, jb), _pref(ha, hb))))
        if implied:
            rows += _by_turn("preference from human scores vs from judge single grades", implied)
    return rows, dict(unmatched)
