"""Agreement between the LLM judge and human ratings (MT-Bench-X section 5; MT-Bench's
human-agreement tables).

Two CSV shapes are read (a header row; extra columns are ignored):

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
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from tagengo.bench.formats import PairJudgment, SingleJudgment, qid_key
from tagengo.bench.stats import cohen_kappa, pearson, spearman
from tagengo.errors import InputError
from tagengo.io.text import ENCODING

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
    annotator: str


@dataclass(frozen=True, slots=True)
class HumanScore:
    language: str
    qkey: str
    model: str
    turn: int
    score: float
    annotator: str


def _flip(w: str) -> str:
    return {"a": "b", "b": "a"}.get(w, w)


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
            qid = row["question_id"]
            if not qid:
                raise InputError(f"{where}: column 'question_id' is empty")
            turn_s = row.get("turn") or "1"
            try:
                turn = int(float(turn_s))
            except ValueError:
                raise InputError(f"{where}: column 'turn' should be 1 or 2, got {turn_s!r}") from None
            language = row.get("language") or default_language
            annotator = row.get("judge") or row.get("annotator") or "human"
            if pairwise:
                w = _WINNERS.get(row["winner"].lower())
                if w is None:
                    raise InputError(
                        f"{where}: column 'winner' should be model_a, model_b or tie, got {row['winner']!r}"
                    )
                a, b = row["model_a"], row["model_b"]
                if not a or not b or a == b:
                    raise InputError(f"{where}: columns 'model_a'/'model_b' should name two different models")
                if b < a:
                    a, b, w = b, a, _flip(w)
                votes.append(HumanVote(language, qid_key(qid), a, b, turn, w, annotator))
            else:
                try:
                    score = float(row["score"])
                except ValueError:
                    raise InputError(
                        f"{where}: column 'score' should be a number, got {row['score']!r}"
                    ) from None
                if math.isnan(score):
                    raise InputError(f"{where}: column 'score' is NaN")
                scores.append(HumanScore(language, qid_key(qid), row["model"], turn, score, annotator))
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


def _vote_agreement(label: str, turn: str, pairs: list[tuple[str, str]]) -> AgreementRow:
    """pairs: (judge verdict, human vote), each 'a' / 'b' / 'tie'."""
    row = AgreementRow(label, turn)
    for j, h in pairs:
        row.n += 1
        row.agree += j == h
        if j != "tie" and h != "tie":
            row.n_no_ties += 1
            row.agree_no_ties += j == h
    if pairs:
        js, hs = zip(*pairs, strict=True)
        row.kappa = cohen_kappa(list(js), list(hs))
        row.spearman = spearman([_ORD[x] for x in js], [_ORD[x] for x in hs])
    return row


def _by_turn(label: str, items: list[tuple[int, tuple[str, str]]]) -> list[AgreementRow]:
    out = []
    for t in sorted({t for t, _ in items}):
        out.append(_vote_agreement(label, str(t), [p for tt, p in items if tt == t]))
    if len({t for t, _ in items}) > 1:
        out.append(_vote_agreement(label, "all", [p for _, p in items]))
    return out


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
    """All comparisons the inputs allow, per turn and overall; plus counts of human rows that
    found no judge verdict (so they are not silently left out)."""
    rows: list[AgreementRow] = []
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
        for t in sorted({m[0] for m in matched}) + (["all"] if len({m[0] for m in matched}) > 1 else []):
            sel = [m for m in matched if t == "all" or m[0] == t]
            r = AgreementRow("human scores vs judge single grades", str(t))
            js = [m[1] for m in sel]
            hs = [m[2] for m in sel]
            r.n = len(sel)
            r.agree = sum(round(a) == round(b) for a, b in zip(js, hs, strict=True))
            r.n_no_ties = r.n
            r.agree_no_ties = r.agree
            r.spearman = spearman(js, hs)
            r.pearson = pearson(js, hs)
            r.kappa = cohen_kappa([round(x) for x in js], [round(x) for x in hs])
            r.kappa_quadratic = cohen_kappa(
                [round(x) for x in js], [round(x) for x in hs], weights="quadratic"
            )
            rows.append(r)
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
