"""Scores from judgment files, averaged exactly as FastChat's ``show_result.py`` does.

Single grading: drop the rows whose score is -1 (no verdict, ``$ERROR$`` rows, our gate never
writes -1), then take the plain mean of what is left. The overall score of a model pools the
rows of *both* turns and takes one mean; it is not the mean of the two turn means (the two
differ whenever a turn lost more rows to -1 than the other). Per category and per turn, the
same rule is applied to that slice.

Pairwise: rows with an ``error`` in either game are dropped; agreeing games give a win and a
loss, a tie in game 1 or disagreeing games give a tie to both; win rate = wins / games and
the adjusted win rate counts a tie as half a win. Position consistency is the judge's: it is
measured over the pairs the judge decided, not those the language gate decided without it.

A judgment file holds one verdict per (question, model(s), turn, judge model): two verdicts for
one match (an older FastChat run appended, or another prompt set under the same judge name) are
counted as ``duplicates`` here, and :mod:`tagengo.bench.show` refuses to average them unless
told to do as FastChat does.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tagengo.io.bench_layout import Bench
from tagengo.io.fastchat import PairJudgment, SingleJudgment, qid_key


@dataclass(frozen=True, slots=True)
class ScoredRow:
    """One usable single-grading verdict, with everything a table groups by."""

    run: int
    column: str  # the table column: the bench's language code (or its name when codes repeat)
    model: str
    qkey: str
    category: str
    turn: int
    score: float


@dataclass
class SingleCounts:
    """How the rows of the judgment files were used; counts reconcile:
    rows = used + no_verdict (-1, including $ERROR$)."""

    rows: int = 0
    used: int = 0
    no_verdict: int = 0
    api_errors: int = 0  # of no_verdict: rows whose judgment is $ERROR$
    gated: int = 0  # of used: scored 1 by the language gate
    out_of_range: int = 0  # of used: a grade outside the judge's 1-10 scale (kept, as FastChat keeps it)
    unknown_question: int = 0  # of used: question id not in question.jsonl (category 'unknown')
    duplicates: int = 0  # rows repeating (question, model, turn, judge model) within one file
    by_file: dict[str, int] = field(default_factory=dict)
    #: rows per judge policy ('fastchat', 'robust'; 'not recorded' for FastChat's own files)
    policies: Counter = field(default_factory=Counter)
    #: rows per judge prompt name (the second half of FastChat's 'judge' field)
    prompts: Counter = field(default_factory=Counter)
    #: up to 5 repeated matches, for the message that names them
    duplicate_examples: list[str] = field(default_factory=list)


NO_POLICY = "not recorded"


def row_policy(row: SingleJudgment | PairJudgment) -> str:
    """The judge policy a row was read with (written by tagengo; FastChat's rows carry none)."""
    policy = row.extra.get("policy")
    return policy if isinstance(policy, str) else NO_POLICY


def scored_rows(
    bench: Bench,
    rows: Iterable[SingleJudgment],
    column: str,
    run: int = 1,
    counts: SingleCounts | None = None,
) -> list[ScoredRow]:
    """Keep the rows FastChat's show_result keeps, tagged with category (from question.jsonl)."""
    counts = counts if counts is not None else SingleCounts()
    out: list[ScoredRow] = []
    seen: set[tuple] = set()
    for r in rows:
        counts.rows += 1
        counts.policies[row_policy(r)] += 1
        counts.prompts[r.judge[1]] += 1
        key = (r.key, r.model, r.turn, r.judge[0])  # the prompt name is not part of the match
        if key in seen:
            counts.duplicates += 1
            if len(counts.duplicate_examples) < 5:
                counts.duplicate_examples.append(f"question {r.question_id}, model {r.model}, turn {r.turn}")
        seen.add(key)
        if not r.valid:
            counts.no_verdict += 1
            if r.judgment.strip() == "$ERROR$":
                counts.api_errors += 1
            continue
        counts.used += 1
        if not 1 <= float(r.score) <= 10:
            counts.out_of_range += 1
        if r.extra.get("gate"):
            counts.gated += 1
        q = bench.question(r.question_id)
        if q is None:
            counts.unknown_question += 1
        out.append(
            ScoredRow(run, column, r.model, r.key, q.category if q else "unknown", r.turn, float(r.score))
        )
    return out


Key = tuple


def mean_by(rows: Iterable[ScoredRow], key: Callable[[ScoredRow], Key]) -> dict[Key, tuple[float, int]]:
    """Plain mean and count of the scores per key (FastChat's groupby().mean())."""
    sums: dict[Key, float] = defaultdict(float)
    ns: dict[Key, int] = defaultdict(int)
    for r in rows:
        k = key(r)
        sums[k] += r.score
        ns[k] += 1
    return {k: (sums[k] / ns[k], ns[k]) for k in sums}


def model_average(rows: Iterable[ScoredRow]) -> dict[str, tuple[float, int]]:
    """show_result's "Average" table for one judgment file: both turns pooled, per model."""
    return {k[0]: v for k, v in mean_by(rows, lambda r: (r.model,)).items()}


def turn_average(rows: Iterable[ScoredRow], turn: int) -> dict[str, tuple[float, int]]:
    """show_result's "First turn" / "Second turn" tables."""
    return {k[0]: v for k, v in mean_by((r for r in rows if r.turn == turn), lambda r: (r.model,)).items()}


# --------------------------------------------------------------------------------------------
# Pairwise


@dataclass
class PairTally:
    win: int = 0
    loss: int = 0
    tie: int = 0

    @property
    def games(self) -> int:
        return self.win + self.loss + self.tie

    @property
    def win_rate(self) -> float:
        return self.win / self.games if self.games else float("nan")

    @property
    def loss_rate(self) -> float:
        return self.loss / self.games if self.games else float("nan")

    @property
    def adjusted_win_rate(self) -> float:
        return (self.win + 0.5 * self.tie) / self.games if self.games else float("nan")


@dataclass
class PairSummary:
    tallies: dict[str, PairTally]
    rows: int = 0
    errors: int = 0  # rows dropped: an 'error' in either game
    gated: int = 0  # of the rest: decided by the language gate, without the judge
    consistent: int = 0  # of the judged ones: both orders gave the same verdict

    @property
    def judged(self) -> int:
        """Pairs the judge decided (no error, not gated): the consistency denominator."""
        return self.rows - self.errors - self.gated

    @property
    def position_consistency(self) -> float:
        return self.consistent / self.judged if self.judged else float("nan")


def pair_summary(
    rows: Iterable[PairJudgment], baseline: str | None = None, models: list[str] | None = None
) -> PairSummary:
    """FastChat's display_result_pairwise: per-model win/loss/tie over the games kept.
    With a baseline, only games involving it count and the baseline's own line is dropped."""
    tallies: dict[str, PairTally] = defaultdict(PairTally)
    s = PairSummary(tallies)
    for r in rows:
        if models is not None and r.model_1 not in models:
            continue
        if baseline is not None and baseline not in (r.model_1, r.model_2):
            continue
        s.rows += 1
        if r.has_error:
            s.errors += 1
            continue
        if r.extra.get("gate"):
            s.gated += 1  # both orders agree by construction: not a sign of a consistent judge
        elif r.consistent:
            s.consistent += 1
        outcome = r.outcome()
        if outcome == "tie":
            tallies[r.model_1].tie += 1
            tallies[r.model_2].tie += 1
        else:
            winner, loser = (r.model_1, r.model_2) if outcome == "model_1" else (r.model_2, r.model_1)
            tallies[winner].win += 1
            tallies[loser].loss += 1
    if baseline is not None:
        tallies.pop(baseline, None)
    s.tallies = dict(tallies)
    return s


def pair_key(qid: object, model_1: str, model_2: str, turn: int) -> tuple[str, str, str, int]:
    """Order-free key of a game (sorted model names), as FastChat normalises game keys."""
    a, b = sorted((model_1, model_2))
    return (qid_key(qid), a, b, turn)  # type: ignore[arg-type]


def pair_duplicates(rows: Iterable[PairJudgment]) -> list[str]:
    """The repeated matches (question, models, turn, judge model) of one pairwise file."""
    seen: set[tuple] = set()
    out: list[str] = []
    for r in rows:
        key = (r.key, r.model_1, r.model_2, r.turn, r.judge[0])
        if key in seen:
            out.append(f"question {r.question_id}, {r.model_1} vs {r.model_2}, turn {r.turn}")
        seen.add(key)
    return out
