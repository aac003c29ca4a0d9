"""`tagengo route` as a library call: the best teacher per language, from a judged pilot.

1. The prompts of the input (each record up to its last user turn; rows without one are left
   out and counted, ``no_prompt``; lines that are no record are quarantined in ``OUT/quarantine/``
   with file, line and reason, as every stage keeps them, and counted), and per language a seeded sample of ``per_language`` (the per-language cap's own order,
   ``tagengo.run.sampling.sample_key``).
2. Every candidate teacher answers every pilot prompt (one ``chat_many`` per teacher, the
   teachers at the same time). An answer the answer contract rejects (``answer_problem``: failed,
   filtered, cut, empty ...) or the answer-language check every stage shares rejects
   (``language_problem``, kind ``wrong language``: lid.176 is confident it is in another language
   than the prompt's; ``--gate/--no-gate``, ``--gate-min-prob``, ``--gate-min-chars``) loses each
   of its comparisons without a judge (a forfeit); two such answers make no comparison. Without the
   check a verbose judge sent every language to a teacher that always answers in long English.
3. Every pair of teachers is compared on every prompt by the judge, through the same client
   layer: prefer's judge prompt and ranking line with two answers (``Ranking: A>B``, ``B>A`` or
   ``A=B``), the two shown in an order drawn per (seed, prompt, pair), so position bias cancels
   over prompts; an unreadable reply is followed up ``reask`` times, then the comparison is
   left undecided (counted).
4. Per language and teacher: the win rate (wins + half the ties, over its decided comparisons),
   its bootstrap interval (prompts resampled with replacement ``bootstrap`` times, seeded), and
   the cost and output tokens per answer. A language goes to the teacher with the highest win
   rate; a tie to the cheaper one, then to the one given first. The default teacher (for the
   languages the table does not name) is the best over every language pooled.

Writes ``OUT/routing.json`` (tagengo.run.routing_table), ``OUT/routing.md`` (the same as a table for
people) and ``OUT/pilot.jsonl`` (every pilot prompt's answers and verdicts). Every call goes
through the request cache: a re-run pays for nothing twice.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tagengo.errors import ConfigError, InputError
from tagengo.io.source import Source, open_source, parse_chunk
from tagengo.llm import ChatClient, ChatRequest, ChatResponse
from tagengo.llm.accounting import served_model_warnings
from tagengo.llm.answer import WRONG_LANGUAGE, AnswerLanguage, Problem, answer_problem
from tagengo.llm.ranking import RankingError, parse_ranking
from tagengo.llm.ranking_prompts import judge_messages, prompt_messages, reask_message
from tagengo.records import Quarantined
from tagengo.route import folder
from tagengo.route.checks import one_model_warnings, stop_when_nothing_decided, undecided_languages
from tagengo.route.config import RouteConfig
from tagengo.run.dataset import check_out_folder
from tagengo.run.llm_stage import LLMStage
from tagengo.run.routing_table import TABLE_FILE, VERSION, connection

PILOT_FILE = "pilot.jsonl"
REPORT_FILE = "routing.md"
LABELS = ["A", "B"]


@dataclass
class Prompt:
    id: str
    language: str
    messages: list[dict[str, str]]


@dataclass
class Comparison:
    """One pair of teachers on one prompt: ``points`` of the first and the second (1, 0.5, 0),
    or None when undecided."""

    prompt: int
    first: int
    second: int
    shown: list[int]  # the teachers under A and B
    points: tuple[float, float] | None = None
    how: str = ""  # judged, tie, forfeit, undecided
    replies: list[str] = field(default_factory=list)
    why: str = ""


@dataclass
class PromptsRead:
    """What :func:`read_input` found: the prompts, the input lines that could not become a
    record (quarantined with file, line and reason, as every stage keeps them), and the records
    without a prompt (no user turn at the end). ``read`` = records + quarantined."""

    prompts: list[Prompt]
    quarantined: list[Quarantined]
    no_prompt: int

    @property
    def read(self) -> int:
        return len(self.prompts) + self.no_prompt + len(self.quarantined)

    def counts(self) -> dict[str, int]:
        return {"read": self.read, "quarantined": len(self.quarantined), "no_prompt": self.no_prompt}


def read_input(input_path: str | os.PathLike[str] | Source, input_format: str | None = None) -> PromptsRead:
    """Every record's prompt (up to its last user turn), in input order, and what was left out."""
    source = input_path if isinstance(input_path, Source) else open_source(input_path, input_format)
    names = {str(f): source.name_for(f) for f in source.files}
    out: list[Prompt] = []
    bad: list[Quarantined] = []
    no_prompt = 0
    for chunk in source.iter_chunks(10_000):
        records, unreadable = parse_chunk(chunk, source.format, names[chunk.file])
        bad.extend(unreadable)
        for row in records:
            msgs = prompt_messages(row)
            if msgs and msgs[-1]["role"] == "user":
                out.append(Prompt(row.id, row.language or "(none)", msgs))
            else:
                no_prompt += 1
    return PromptsRead(out, bad, no_prompt)


def read_prompts(
    input_path: str | os.PathLike[str] | Source, input_format: str | None = None
) -> list[Prompt]:
    """Every record's prompt (up to its last user turn), in input order."""
    return read_input(input_path, input_format).prompts


def _pilot(
    input_path: Any, out: Path, source: Source, config: RouteConfig, console: Any, warnings: list[str]
) -> tuple[PromptsRead, list[Prompt]]:
    """The input read (what was left out quarantined, counted and warned about) and the pilot
    prompts; ``InputError`` when there is none."""
    found = read_input(source)
    pilot = pilot_sample(found.prompts, config)
    left_out = _left_out(out, found)
    if not pilot:
        why = f" ({'; '.join(left_out)})" if left_out else ""
        raise InputError(f"{input_path}: no prompt (a record ending with a user turn) to route{why}.")
    _say(console, warnings, left_out)
    return found, pilot


def _say(console: Any, warnings: list[str], lines: list[str]) -> None:
    """Add ``lines`` to the run's warnings (the manifest's) and print each on stderr."""
    for w in lines:
        warnings.append(w)
        console.print(f"warning: {w}", style="yellow", markup=False, highlight=False)


def _left_out(out: Path, found: PromptsRead) -> list[str]:
    """Write the unreadable lines to ``out/quarantine/`` (every stage's place for them, the same
    schema) and say what was left out, for stderr and the manifest: nothing leaves unnoticed."""
    from tagengo.records import QUARANTINE_SCHEMA, quarantine_to_table
    from tagengo.run.dataset import PartWriter

    writer = PartWriter(out / "quarantine", QUARANTINE_SCHEMA)
    writer.write(quarantine_to_table(found.quarantined))
    writer.close()
    said = []
    if found.quarantined:
        first = found.quarantined[0]
        n = len(found.quarantined)
        said.append(
            f"{n:,} unreadable input {'line' if n == 1 else 'lines'} quarantined ({out / 'quarantine'}); "
            f"the first: {Path(first.file).name} line {first.line}: {first.reason}"
        )
    if found.no_prompt:
        n = found.no_prompt
        said.append(
            f"{n:,} {'record' if n == 1 else 'records'} without a user turn at the end: no prompt to route"
        )
    return said


def pilot_sample(prompts: list[Prompt], cfg: RouteConfig) -> list[Prompt]:
    """``per_language`` prompts per language, by the per-language cap's seeded order."""
    from tagengo.run.sampling import sample_key

    by_lang: dict[str, list[Prompt]] = {}
    for p in prompts:
        if not cfg.languages or p.language in cfg.languages:
            by_lang.setdefault(p.language, []).append(p)
    out = []
    for lang in sorted(by_lang):
        ranked = sorted(by_lang[lang], key=lambda p: sample_key(cfg.seed, p.id))
        out.extend(ranked[: cfg.per_language])
    return out


@dataclass
class RouteResult:
    out: Path
    table: dict[str, Any]
    manifest: dict[str, Any]
    up_to_date: bool = False  # True when a finished run of the same input and config was found


def route(
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: RouteConfig,
    **kw: Any,
) -> dict[str, Any]:
    """:func:`route_run`'s routing table (as a dict)."""
    return route_run(input_path, out, config, **kw).table


def route_run(
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: RouteConfig,
    *,
    input_format: str | None = None,
    clients: dict[str, ChatClient] | None = None,
    judge_client: ChatClient | None = None,
    progress: bool | None = None,
    force: bool = False,
) -> RouteResult:
    """The routing table for the prompts of ``input_path``, written to ``out`` (a folder, with its
    manifest.json); nothing runs when ``out`` holds a finished run of the same input and config
    (``up_to_date``), unless ``force``. ``clients`` (teacher name -> client) and ``judge_client``
    replace the clients built from ``config`` (tests); they are left open. Raises ``ConfigError``
    with fewer than two teachers, ``InputError`` without prompts, ``NoComparisonDecided`` when the
    judge decided nothing, ``BudgetExhausted`` / ``RunAborted`` / ``BatchPending`` (resumable)
    when a budget, a server or a batch stops the run."""
    if len(config.models) < 2:
        raise ConfigError(
            f"tagengo route needs two or more candidate teachers (--model SPEC, repeated); got {len(config.models)}."
        )
    from rich.console import Console

    started, t0 = datetime.now(UTC), time.perf_counter()
    out = check_out_folder(out)
    source = open_source(input_path, input_format)
    input_fp = source.fingerprint()
    fp = folder.fingerprint(config, input_fp)
    previous = folder.previous_run(out, fp, force)
    if previous is not None:
        return RouteResult(out, json.loads((out / TABLE_FILE).read_text()), previous, up_to_date=True)
    console = Console(stderr=True)
    warnings: list[str] = []
    found, pilot = _pilot(input_path, out, source, config, console, warnings)
    names = [m.name for m in config.models]
    with LLMStage(progress, {}, console=console) as llm:
        given = dict(clients or {})
        teacher = {m.name: llm.client(given.get(m.name), m.llm) for m in config.models}
        judge = llm.client(judge_client, config.judge)
        requests = {m.name: [m.request(p.messages) for p in pilot] for m in config.models}

        def ask(name: str) -> list[ChatResponse]:
            return teacher[name].chat_many(requests[name], desc=f"route: {name} answers")

        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            answers = dict(zip(names, pool.map(ask, names), strict=True))
        _say(console, warnings, one_model_warnings(answers))
        problems, found_languages = answer_problems(pilot, names, requests, answers, config)
        _say(console, warnings, wrong_language_warnings(pilot, problems, config))
        comparisons = _compare(pilot, names, problems, answers, judge, config)
        model_ids = {n: getattr(teacher[n], "model_id", n) for n in names}
        judge_id = getattr(judge, "model_id", "judge")
        calls = {"teachers": {n: _calls(teacher[n]) for n in names}, "judge": _calls(judge)}
        # A gateway that served another model than a teacher's: that teacher's win rate is not its own.
        _say(
            console,
            warnings,
            [w for c in [*calls["teachers"].values(), calls["judge"]] for w in served_model_warnings(c)],
        )
    table, unrouted = _write_outputs(
        out, pilot, config, problems, found_languages, answers, comparisons, model_ids, judge_id
    )
    _say(
        console,
        warnings,
        [f"language {lang} is not routed: {why}, {table['default']}" for lang, why in unrouted.items()],
    )
    counts = _counts(found, pilot, names, problems, comparisons, table, unrouted)
    manifest = folder.write_manifest(
        out, config=config, source=source, input_fp=input_fp, fp=fp, counts=counts, calls=calls,
        warnings=warnings, started=started, duration_s=time.perf_counter() - t0,
    )  # fmt: skip
    return RouteResult(out, table, manifest)


def _counts(
    found: Any,
    pilot: list[Any],
    names: list[str],
    problems: dict[str, list[Any]],
    comparisons: list[Any],
    table: dict[str, Any],
    unrouted: dict[str, str],
) -> dict[str, int]:
    """The manifest's counts: prompts read and piloted, answers, comparisons by how they ended,
    languages routed or not."""
    return {
        **found.counts(),
        "prompts": len(found.prompts),
        "pilot_prompts": len(pilot),
        "answers": len(pilot) * len(names),
        "wrong_language_answers": sum(_wrong(pr) for n in names for pr in problems[n]),
        "comparisons": len(comparisons),
        **{how: sum(c.how == how for c in comparisons) for how in ("judged", "tie", "forfeit", "undecided")},
        "languages_routed": len(table["languages"]),
        "languages_unrouted": len(unrouted),
    }


def _write_outputs(
    out: Path,
    pilot: list[Prompt],
    config: RouteConfig,
    problems: dict[str, list[Problem | None]],
    found_languages: dict[str, list[dict[str, Any]]],
    answers: dict[str, list[ChatResponse]],
    comparisons: list[Comparison],
    model_ids: dict[str, str],
    judge_id: str,
) -> tuple[dict[str, Any], dict[str, str]]:
    """pilot.jsonl, then (when the judge decided something) routing.md and routing.json without
    the languages it decided nothing on; the table and those languages (language -> why)."""
    names = [m.name for m in config.models]
    out.mkdir(parents=True, exist_ok=True)
    (out / TABLE_FILE).unlink(missing_ok=True)  # a stale table must not outlive a failed run
    _write_pilot(out / PILOT_FILE, pilot, names, problems, found_languages, answers, comparisons)
    stop_when_nothing_decided(comparisons, str(out))
    table = _table(pilot, config, problems, answers, comparisons, model_ids, judge_id)
    unrouted = undecided_languages(table["languages"])
    for lang in unrouted:
        del table["languages"][lang]
    if unrouted:
        table["unrouted"] = unrouted
    (out / REPORT_FILE).write_text(report(table))
    tmp = out / (TABLE_FILE + ".tmp")
    tmp.write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, out / TABLE_FILE)
    return table, unrouted


def _calls(client: ChatClient) -> dict[str, Any]:
    """A client's calls and spend per model, for the manifest ({} for one that keeps none)."""
    summary = getattr(client, "summary", None)
    return summary() if callable(summary) else {}


# -- the answers' checks -------------------------------------------------------------------------


def _wrong(problem: Problem | None) -> bool:
    return problem is not None and problem.kind == WRONG_LANGUAGE


def answer_problems(
    pilot: list[Prompt],
    names: list[str],
    requests: dict[str, list[ChatRequest]],
    answers: dict[str, list[ChatResponse]],
    cfg: RouteConfig,
) -> tuple[dict[str, list[Problem | None]], dict[str, list[dict[str, Any]]]]:
    """Per teacher and pilot prompt, why its answer cannot be compared (or None): the answer
    contract (``answer_problem``), then the answer-language check every stage shares
    (``language_problem`` with ``cfg.gate``: kind ``wrong language``); and what lid.176 found in
    each answer it checked (``{}`` when it did not)."""
    check = AnswerLanguage(cfg.gate)
    problems: dict[str, list[Problem | None]] = {}
    found: dict[str, list[dict[str, Any]]] = {}
    for n in names:
        problems[n], found[n] = [], []
        for k, p in enumerate(pilot):
            resp = answers[n][k]
            problem, lid = answer_problem(resp, requests[n][k]), {}
            if problem is None:
                problem, lid = check.problem(resp.content or "", p.language, prompt=p.messages[-1]["content"])
            problems[n].append(problem)
            found[n].append(lid)
    return problems, found


def wrong_language_warnings(
    pilot: list[Prompt], problems: dict[str, list[Problem | None]], cfg: RouteConfig
) -> list[str]:
    """A warning per teacher with answers in another language than their prompt's: each lost its
    comparisons without the judge; the languages it missed, with how many."""
    out = []
    for n, got in problems.items():
        missed = Counter(pilot[k].language for k, pr in enumerate(got) if _wrong(pr))
        if missed:
            where = ", ".join(f"{lang} {c}" for lang, c in sorted(missed.items()))
            total = sum(missed.values())
            out.append(
                f"teacher {n}: {total:,} of its {len(got):,} pilot answers are in another language than "
                f"the prompt's ({where}; lid.176 at --gate-min-prob {cfg.gate.min_prob:g}): each lost its "
                "comparisons without the judge (pilot.jsonl names them; --no-gate turns the check off)"
            )
    return out


# -- the judge ------------------------------------------------------------------------------------


def _compare(
    pilot: list[Prompt],
    names: list[str],
    problems: dict[str, list[Problem | None]],
    answers: dict[str, list[ChatResponse]],
    judge: ChatClient,
    cfg: RouteConfig,
) -> list[Comparison]:
    from tagengo.lang.bench_names import language_name

    comparisons: list[Comparison] = []
    asks: list[tuple[Comparison, list[dict[str, str]]]] = []
    for k, p in enumerate(pilot):
        failed = [problems[n][k] for n in names]
        for a, b in itertools.combinations(range(len(names)), 2):
            rng = random.Random(f"{cfg.seed}\x00{p.id}\x00{names[a]}\x00{names[b]}")
            shown = [a, b] if rng.random() < 0.5 else [b, a]
            c = Comparison(k, a, b, shown)
            comparisons.append(c)
            if failed[a] is not None and failed[b] is not None:
                kinds = sorted({failed[a].kind, failed[b].kind})
                c.how, c.why = "undecided", f"both answers failed ({', '.join(kinds)})"
            elif failed[a] is not None or failed[b] is not None:
                loser = a if failed[a] is not None else b
                c.points = (0.0, 1.0) if loser == a else (1.0, 0.0)
                c.how, c.why = "forfeit", f"{names[loser]}: {failed[loser].reason()}"
            else:
                texts = [(answers[names[t]][k].content or "").strip() for t in shown]
                lang = language_name(p.language) or p.language
                asks.append((c, judge_messages(p.messages, texts, LABELS, lang)))
    for attempt in range(cfg.reask + 1):
        if not asks:
            break
        reqs = [cfg.judge_request(m) for _, m in asks]
        replies = judge.chat_many(reqs, desc="route: judge")
        again: list[tuple[Comparison, list[dict[str, str]]]] = []
        for (c, msgs), req, resp in zip(asks, reqs, replies, strict=True):
            # With its request: the checks that compare with the prompt (an echo would be decided
            # by the prompt's example ranking line) need it.
            problem = answer_problem(resp, req)
            if problem is not None:
                c.how, c.why = "undecided", f"judge {problem.reason()}"
                continue
            text = resp.content or ""
            c.replies.append(text)
            try:
                ranking, _ = parse_ranking(text, LABELS)
            except RankingError as e:
                if attempt < cfg.reask:
                    again.append(
                        (c, [*msgs, {"role": "assistant", "content": text}, reask_message(str(e), LABELS)])
                    )
                else:
                    c.how, c.why = "undecided", f"no valid ranking: {e}"
                continue
            rank = ranking.rank()
            got = {c.shown[0]: rank["A"], c.shown[1]: rank["B"]}
            if got[c.first] == got[c.second]:
                c.points, c.how = (0.5, 0.5), "tie"
            else:
                c.points = (1.0, 0.0) if got[c.first] < got[c.second] else (0.0, 1.0)
                c.how = "judged"
        asks = again
    return comparisons


# -- the statistics -------------------------------------------------------------------------------


def _scores(
    prompts: list[int], names: list[str], comparisons: list[Comparison], cfg: RouteConfig
) -> dict[str, dict[str, Any]]:
    """Per teacher, over the comparisons on ``prompts`` (indexes into the pilot)."""
    row = {k: n for n, k in enumerate(prompts)}
    pts = np.zeros((len(prompts), len(names)))
    cnt = np.zeros((len(prompts), len(names)))
    tally = {n: {"wins": 0, "losses": 0, "ties": 0, "forfeits": 0} for n in names}
    for c in comparisons:
        if c.prompt not in row or c.points is None:
            continue
        r = row[c.prompt]
        for t, p in ((c.first, c.points[0]), (c.second, c.points[1])):
            pts[r, t] += p
            cnt[r, t] += 1
            key = "ties" if p == 0.5 else "wins" if p == 1.0 else "losses"
            tally[names[t]][key] += 1
            if c.how == "forfeit" and p == 0.0:
                tally[names[t]]["forfeits"] += 1
    total_pts, total_cnt = pts.sum(0), cnt.sum(0)
    lo_hi = [None] * len(names)
    if cfg.bootstrap_iters and len(prompts):
        rng = np.random.default_rng(cfg.seed)
        idx = rng.integers(0, len(prompts), size=(cfg.bootstrap_iters, len(prompts)))
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = pts[idx].sum(1) / cnt[idx].sum(1)
        tail = (1 - cfg.confidence) / 2 * 100
        for t in range(len(names)):
            col = rates[:, t]
            col = col[~np.isnan(col)]
            if col.size:
                lo, hi = np.percentile(col, [tail, 100 - tail])
                lo_hi[t] = [round(float(lo), 4), round(float(hi), 4)]
    out = {}
    for t, n in enumerate(names):
        rate = float(total_pts[t] / total_cnt[t]) if total_cnt[t] else None
        out[n] = {"win_rate": None if rate is None else round(rate, 4), "ci": lo_hi[t], **tally[n]}
    return out


def _pick(scores: dict[str, dict[str, Any]], names: list[str]) -> str:
    def key(n: str) -> tuple[float, float, int]:
        s = scores[n]
        rate = s["win_rate"] if s["win_rate"] is not None else -1.0
        cost = s.get("cost_per_answer")
        return (-rate, cost if cost is not None else float("inf"), names.index(n))

    return min(names, key=key)


def _table(
    pilot: list[Prompt],
    cfg: RouteConfig,
    problems: dict[str, list[Problem | None]],
    answers: dict[str, list[ChatResponse]],
    comparisons: list[Comparison],
    model_ids: dict[str, str],
    judge_id: str,
) -> dict[str, Any]:
    names = [m.name for m in cfg.models]

    def per_answer(prompts: list[int], scores: dict[str, dict[str, Any]]) -> None:
        for n in names:
            got = [answers[n][k] for k in prompts]
            paid = [r for r in got if r.error is None]
            got_problems = [problems[n][k] for k in prompts]
            scores[n]["failed_answers"] = sum(pr is not None and not _wrong(pr) for pr in got_problems)
            scores[n]["wrong_language_answers"] = sum(_wrong(pr) for pr in got_problems)
            scores[n]["cost_per_answer"] = round(sum(r.cost for r in paid) / len(paid), 8) if paid else None
            scores[n]["output_tokens_per_answer"] = (
                round(sum(r.output_tokens for r in paid) / len(paid), 1) if paid else None
            )

    languages: dict[str, Any] = {}
    by_lang: dict[str, list[int]] = {}
    for k, p in enumerate(pilot):
        by_lang.setdefault(p.language, []).append(k)
    for lang, prompts in sorted(by_lang.items()):
        scores = _scores(prompts, names, comparisons, cfg)
        per_answer(prompts, scores)
        mine = [c for c in comparisons if c.prompt in set(prompts)]
        languages[lang] = {
            "teacher": _pick(scores, names),
            "prompts": len(prompts),
            "comparisons": len(mine),
            "undecided": sum(c.points is None for c in mine),
            "teachers": scores,
        }
    everything = list(range(len(pilot)))
    overall = _scores(everything, names, comparisons, cfg)
    per_answer(everything, overall)
    return {
        "version": VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "default": _pick(overall, names),
        "teachers": {m.name: {"llm": connection(m.llm), "model_id": model_ids[m.name]} for m in cfg.models},
        "languages": languages,
        "overall": overall,
        "judge": judge_id,
        "seed": cfg.seed,
        "per_language": cfg.per_language,
        "bootstrap": cfg.bootstrap_iters,
        "confidence": cfg.confidence,
    }


# -- what is written ------------------------------------------------------------------------------


def _write_pilot(
    path: Path,
    pilot: list[Prompt],
    names: list[str],
    problems: dict[str, list[Problem | None]],
    found_languages: dict[str, list[dict[str, Any]]],
    answers: dict[str, list[ChatResponse]],
    comparisons: list[Comparison],
) -> None:
    by_prompt: dict[int, list[Comparison]] = {}
    for c in comparisons:
        by_prompt.setdefault(c.prompt, []).append(c)
    with path.open("w", encoding="utf-8") as f:
        for k, p in enumerate(pilot):
            row = {
                "id": p.id,
                "language": p.language,
                "messages": p.messages,
                "answers": {
                    n: {
                        "content": answers[n][k].content,
                        "served_by": answers[n][k].model,
                        **({"problem": pr.reason()} if (pr := problems[n][k]) else {}),
                        **({"language": lid} if (lid := found_languages[n][k]) else {}),
                    }
                    for n in names
                },
                "comparisons": [
                    {
                        "pair": [names[c.first], names[c.second]],
                        "shown_as_a_b": [names[t] for t in c.shown],
                        "points": list(c.points) if c.points else None,
                        "how": c.how,
                        **({"why": c.why} if c.why else {}),
                        **({"judge_replies": c.replies} if c.replies else {}),
                    }
                    for c in by_prompt.get(k, [])
                ],
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def report(table: dict[str, Any]) -> str:
    """``routing.md``: language -> teacher, with every teacher's win rate, interval and cost."""
    names = list(table["teachers"])
    pct = round(table["confidence"] * 100)

    def cell(s: dict[str, Any]) -> str:
        if s["win_rate"] is None:
            return "-"
        ci = f" [{s['ci'][0]:.2f}, {s['ci'][1]:.2f}]" if s.get("ci") else ""
        cost = f", {s['cost_per_answer']:.6f}/answer" if s.get("cost_per_answer") is not None else ""
        return f"{s['win_rate']:.2f}{ci}{cost}"

    lines = [
        "# Routing table",
        "",
        f"Win rate of each teacher against the others (wins + half the ties), its {pct}% bootstrap "
        f"interval over {table['bootstrap']:,} resamples of the pilot prompts, and the cost per answer; "
        f"judge: `{table['judge']}`, {table['per_language']} pilot prompts per language, seed {table['seed']}. "
        f"Languages not listed go to the default teacher, **{table['default']}**.",
        "",
        "| language | prompts | teacher | " + " | ".join(names) + " |",
        "| --- | ---: | --- | " + " | ".join("---" for _ in names) + " |",
    ]
    for lang, e in table["languages"].items():
        cells = " | ".join(cell(e["teachers"][n]) for n in names)
        lines.append(f"| {lang} | {e['prompts']} | **{e['teacher']}** | {cells} |")
    cells = " | ".join(cell(table["overall"][n]) for n in names)
    lines.append(
        f"| (all) | {sum(e['prompts'] for e in table['languages'].values())} | **{table['default']}** | {cells} |"
    )
    wrong = {n: s.get("wrong_language_answers", 0) for n, s in table["overall"].items()}
    if any(wrong.values()):
        each = ", ".join(f"{n} {c:,}" for n, c in wrong.items() if c)
        lines.append(
            f"\nAnswers in another language than the prompt's (lid.176; each lost its comparisons "
            f"without the judge): {each}."
        )
    for lang, why in (table.get("unrouted") or {}).items():
        lines.append(f"\nNot routed: {lang}: {why}, **{table['default']}**.")
    return "\n".join(lines) + "\n"


__all__ = [
    "PromptsRead",
    "RouteConfig",
    "RouteResult",
    "pilot_sample",
    "read_input",
    "read_prompts",
    "report",
    "route",
    "route_run",
]
