"""``tagengo bench answer``: two-turn answers to a question set, written as FastChat answer files.

Turn 2 sees turn 1's question and answer, as in MT-Bench. All first turns go to the client in
one batch, then all second turns, so an HTTP backend works on as many conversations at once as
its concurrency allows. Temperatures follow MT-Bench's per-category table.

Every answer passes the answer contract (tagengo.llm.answer) before it is written: the
reasoning is split off (a ``<think>`` block is never judged as part of the answer), text is
made valid Unicode. A turn the contract rejects for what the server or the run did (the call
failed, a content filter withheld it, the server sent an error body or cut the prompt) leaves its question out of the answer file, as a call that fails for good always has (FastChat
would write the word "ERROR" as the answer and score it): it is listed, with the contract's
word (``kind``) and its reason, in ``<bench>/tagengo/answer_<model>.json``, and a re-run answers
exactly those questions again (the finished calls replay from the request cache). A turn cut at
the token limit stays an answer, as in MT-Bench (``max_new_tokens`` is part of the protocol),
and is counted in ``truncated_turns``, also when the server said ``stop`` for an answer that
used the whole budget; so is an answer with a finish reason no server in use means, and an
empty one (nothing, or nothing after the reasoning): the model's own failures are judged, never
left out, or a weak model's average would rise. Every turn
the contract finds a problem with, written or not, is counted by kind (``answer_problems``, as
``bench judge`` counts its replies); the console says per model how many written turns were
cut and how many turns were filtered or failed, and how many answers the file holds.

A run whose every call failed (a wrong model name, a refusal of the request) writes no
answer file (a previous one stays as it was), only its manifest with the reasons, and stops
with :class:`~tagengo.run.llm_stage.NoCallSucceeded` (exit status 2), as the dataset stages do:
an empty answer file would read as "no answers" to ``bench judge``.

Samples: every answer records its sample index (``tagengo.sample``), and the index is part of
every request's cache key. ``--redo`` and answer runs 2, 3 ... (``--runs``) draw the next unused
index for a question (one past the highest in any of the model's run files), so they are new,
independent samples, never replays of an earlier answer; resuming a crashed run reuses the
index, so the calls it had finished replay from the cache.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from tagengo.bench.config import AnswerConfig
from tagengo.io.bench_layout import Bench, safe_name
from tagengo.io.fastchat import Answer, Question, make_answer_id, read_answers, write_answers
from tagengo.llm.answer import FILTERED, MODEL_OWN, UNFINISHED, answer_problem, used_whole_budget
from tagengo.llm.finish import LENGTH
from tagengo.llm.types import ChatClient, ChatRequest, ChatResponse
from tagengo.run.llm_stage import NoCallSucceeded


@dataclass
class AnswerReport:
    bench: str
    language: str | None
    model_id: str
    path: str
    run: int = 1
    questions: int = 0  # asked for (after limit)
    kept: int = 0  # already in the answer file for the same requests, not asked again
    changed: int = 0  # in the file, but asked differently now: answered again (part of answered)
    answered: int = 0  # newly written
    samples: dict[str, int] = field(default_factory=dict)  # sample index -> answers drawn with it
    failed: list[dict[str, Any]] = field(default_factory=list)  # {question_id, choice, turn, kind, error}
    #: turns the answer contract found a problem with, by kind (tagengo.llm.answer): the failed
    #: ones, and the cut or unknown-finish ones that were written all the same
    answer_problems: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    cached_calls: int = 0
    #: written turns cut at the token limit (finish_reason "length", or the whole budget used);
    #: a cut turn of a question that failed later is not written, so not counted here
    truncated_turns: int = 0
    written_turns: int = 0  # turns written this run (answered questions x choices x turns)
    #: the contract's kinds among the written turns (cut, empty, unknown finish): what the file holds
    written_problems: dict[str, int] = field(default_factory=dict)
    answers_in_file: int = 0  # rows of the answer file after this run (kept + answered + others)
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    seconds: float = 0.0

    @property
    def failed_questions(self) -> int:
        return len({f["question_id"] for f in self.failed})

    @property
    def failed_turns(self) -> dict[str, int]:
        """Turns that left no answer, by the contract's kind (filtered, call failed ...)."""
        out: dict[str, int] = {}
        for f in self.failed:
            out[f["kind"]] = out.get(f["kind"], 0) + 1
        return out

    @property
    def reconciles(self) -> bool:
        return self.questions == self.kept + self.answered + self.failed_questions

    def counts(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "answered": self.answered,
            "reused": self.kept,
            "changed": self.changed,
            "failed": self.failed_questions,
            "failed_turns": self.failed_turns,
            "written_turns": self.written_turns,
            "written_problems": dict(self.written_problems),
            "answers_in_file": self.answers_in_file,
            "answer_problems": dict(self.answer_problems),
            "calls": self.calls,
            "cached_calls": self.cached_calls,
            "truncated_turns": self.truncated_turns,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost": self.cost,
        }

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reconciles"] = self.reconciles
        return d


def answer_sample(ans: Answer) -> int:
    """The sample index an answer was drawn with (0 for files that do not say: FastChat's, or
    tagengo's before sample indices)."""
    info = ans.extra.get("tagengo")
    sample = info.get("sample", 0) if isinstance(info, dict) else 0
    return sample if isinstance(sample, int) and not isinstance(sample, bool) else 0


def answer_request(
    cfg: AnswerConfig, q: Question, turn: int, previous: list[str], choice: int, sample: int
) -> ChatRequest:
    """The request for turn ``turn`` (0-based) of choice ``choice``: the system prompt, the
    earlier turns with their answers ``previous``, then the question's turn."""
    seed = None if cfg.seed is None else cfg.seed + choice
    if cfg.num_choices > 1 and seed is None:
        seed = choice  # distinct choices need distinct requests (and cache keys)
    messages: list[dict[str, str]] = []
    if cfg.system_prompt:
        messages.append({"role": "system", "content": cfg.system_prompt})
    for u, a in zip(q.turns[:turn], previous[:turn], strict=True):
        messages += [{"role": "user", "content": u}, {"role": "assistant", "content": a}]
    messages.append({"role": "user", "content": q.turns[turn]})
    return ChatRequest.from_messages(
        messages,
        temperature=cfg.temperature(q.category),
        max_tokens=cfg.max_tokens,
        seed=seed,
        sample=sample,
    )


def answer_key(cfg: AnswerConfig, q: Question, ans: Answer, model_id: str) -> str:
    """sha256 over the cache keys of every request behind an answer (each choice, each turn):
    stored as ``tagengo.request_key``, an answer is kept on a re-run only when it matches."""
    keys = [
        answer_request(cfg, q, t, ans.turns(i), i, answer_sample(ans)).key(model_id)
        for i in range(cfg.num_choices)
        for t in range(len(q.turns))
    ]
    return hashlib.sha256(json.dumps(keys).encode()).hexdigest()


def _stored_key(ans: Answer) -> str | None:
    info = ans.extra.get("tagengo")
    key = info.get("request_key") if isinstance(info, dict) else None
    return key if isinstance(key, str) else None


def _recorded_samples(bench: Bench, model_id: str) -> dict[str, int]:
    """Highest sample index per question key over every run file of the model."""
    out: dict[str, int] = {}
    for path in bench.answer_files(model_id):
        for key, ans in read_answers(path).items():
            out[key] = max(out.get(key, 0), answer_sample(ans))
    return out


def _complete(ans: Answer, q: Question, num_choices: int) -> bool:
    if len(ans.choices) < num_choices:
        return False
    return all(len(ans.turns(i)) >= len(q.turns) for i in range(num_choices))


def account(report: Any, resp: ChatResponse) -> None:
    """Add a response to a run report's calls, cache hits, tokens and cost (answer and judge
    reports name them alike)."""
    report.calls += 1
    report.cached_calls += resp.cached
    report.input_tokens += resp.input_tokens
    report.output_tokens += resp.output_tokens
    report.cost += resp.cost


def answer_bench(
    bench: Bench,
    cfg: AnswerConfig,
    client: ChatClient,
    *,
    model_id: str | None = None,
    console: Console | None = None,
) -> list[AnswerReport]:
    """Answer ``bench``'s questions with ``client``, ``cfg.runs`` times; run 1 writes
    ``model_answer/<model_id>.jsonl``, run r > 1 ``<model_id>.runR.jsonl``. Returns one report
    per run, each also written as the run's manifest ``<bench>/tagengo/answer_<model>[.runR].json``."""
    model_id = model_id or cfg.model_id or getattr(client, "model_name", None) or client.model_id
    return [_answer_run(bench, cfg, client, model_id, run, console) for run in range(1, cfg.runs + 1)]


def _answer_run(
    bench: Bench, cfg: AnswerConfig, client: ChatClient, model_id: str, run: int, console: Console | None
) -> AnswerReport:
    start = time.monotonic()
    started = time.time()
    path = bench.answer_path(model_id, run)
    report = AnswerReport(bench.name, bench.language, model_id, str(path), run)
    existing = read_answers(path) if path.exists() else {}
    todo, sample = _to_answer(bench, cfg, client, model_id, run, existing, report)
    asked = _ask(bench, cfg, client, model_id, run, todo, sample, report)
    merged = dict(existing)
    merged.update(_written(cfg, client, model_id, todo, sample, asked, report))
    nothing = report.calls > 0 and asked.succeeded == 0 and report.kept == 0
    if not nothing:  # a run with no answer at all leaves the file as it was (or absent)
        write_answers(path, merged.values())
    report.answers_in_file = len(merged)
    report.seconds = round(time.monotonic() - start, 3)
    suffix = "" if run == 1 else f".run{run}"
    write_run_report(
        bench,
        f"answer_{safe_name(model_id)}{suffix}.json",
        report.to_dict(),
        cfg.model_dump(mode="json"),
        stage="bench answer",
        counts=report.counts(),
        started=started,
    )
    if console is not None:
        _print_report(console, report, model_id)
    if nothing:
        _stop_when_no_call_succeeded(bench, report, model_id)
    return report


def _to_answer(
    bench: Bench,
    cfg: AnswerConfig,
    client: ChatClient,
    model_id: str,
    run: int,
    existing: dict[str, Answer],
    report: AnswerReport,
) -> tuple[list[Question], dict[str, int]]:
    """(questions to ask, the sample index of each): an answer in the file for the same
    requests is kept; one asked differently now is asked again in its sample slot."""
    questions = bench.questions[: cfg.limit] if cfg.limit else list(bench.questions)
    report.questions = len(questions)
    recorded = _recorded_samples(bench, model_id)
    todo: list[Question] = []
    sample: dict[str, int] = {}
    for q in questions:
        ans = existing.get(q.key)
        if ans is not None and not cfg.redo and _complete(ans, q, cfg.num_choices):
            stored = _stored_key(ans)
            if stored is None or stored == answer_key(cfg, q, ans, client.model_id):
                report.kept += 1  # the same requests (or a file that cannot say: FastChat's)
                continue
            # Asked differently now (model, temperature, max tokens, system prompt ...): answer
            # again in the same sample slot, so going back to the old setting replays the cache.
            report.changed += 1
            todo.append(q)
            sample[q.key] = answer_sample(ans)
            continue
        todo.append(q)
        # A new draw takes the next unused index; one never written (a failed or crashed
        # question) is still unused, so its finished calls replay from the cache.
        sample[q.key] = max(run - 1, recorded[q.key] + 1) if q.key in recorded else run - 1
    return todo, sample


@dataclass
class _Asked:
    """What the turns of a run got, per question key."""

    #: turns[choice][question key] -> answers so far; failed question keys drop out of later turns
    turns: list[dict[str, list[str]]]
    finish: dict[str, list[str | None]]  # choice 0's finish reasons
    kinds: dict[str, list[str]]  # the contract's kinds of the turns a question will have written
    cut: dict[str, int]  # turns cut at the token limit
    failed: set[str] = field(default_factory=set)
    succeeded: int = 0  # calls that gave an answer (fresh or cached)


def _ask(
    bench: Bench,
    cfg: AnswerConfig,
    client: ChatClient,
    model_id: str,
    run: int,
    todo: list[Question],
    sample: dict[str, int],
    report: AnswerReport,
) -> _Asked:
    """Every turn of ``todo``, one batch per turn (turn t+1 sees turn t's answer); a turn the
    contract fails drops its question from the later turns and lists it in ``report.failed``."""
    asked = _Asked(
        [{q.key: [] for q in todo} for _ in range(cfg.num_choices)],
        {q.key: [] for q in todo},
        {q.key: [] for q in todo},
        {q.key: 0 for q in todo},
    )
    turns, finish, kinds, cut, failed = asked.turns, asked.finish, asked.kinds, asked.cut, asked.failed
    max_turns = max((len(q.turns) for q in todo), default=0)
    for t in range(max_turns):
        batch: list[tuple[int, Question]] = []
        requests: list[ChatRequest] = []
        for i in range(cfg.num_choices):
            for q in todo:
                if q.key in failed or len(q.turns) <= t:
                    continue
                requests.append(answer_request(cfg, q, t, turns[i][q.key], i, sample[q.key]))
                batch.append((i, q))
        if not requests:
            break
        label = f"{bench.name}: {model_id} turn {t + 1}" + (f" (run {run})" if run > 1 else "")
        responses = client.chat_many(requests, desc=label)
        for (i, q), req, resp in zip(batch, requests, responses, strict=True):
            account(report, resp)
            # What leaves no answer fails the turn. A cut answer (or one with an unknown finish
            # reason) is still the model's answer, as in MT-Bench: written, and counted.
            # An empty answer (also one with nothing after its reasoning) is the model's own
            # failure: written and judged, as MT-Bench does, so that leaving it out cannot lift
            # a weak model's average. What the server or the run caused fails the turn.
            fatal = answer_problem(resp, req, require_stop=False)
            if fatal is not None and fatal.kind in MODEL_OWN:  # empty, a loop, the prompt echoed
                fatal = None
            problem = fatal or answer_problem(resp, req)
            if problem is not None:
                report.answer_problems[problem.kind] = report.answer_problems.get(problem.kind, 0) + 1
            if fatal is not None:
                failed.add(q.key)
                report.failed.append(
                    {
                        "question_id": q.question_id,
                        "choice": i,
                        "turn": t + 1,
                        "kind": fatal.kind,
                        "error": fatal.reason(),
                    }
                )
                continue
            asked.succeeded += 1
            if problem is not None:
                kinds[q.key].append(problem.kind)
            cut[q.key] += resp.finish_reason == LENGTH or used_whole_budget(resp, req)
            turns[i][q.key].append((resp.content or "").strip())
            if i == 0:
                finish[q.key].append(resp.finish_reason)
    return asked


def _written(
    cfg: AnswerConfig,
    client: ChatClient,
    model_id: str,
    todo: list[Question],
    sample: dict[str, int],
    asked: _Asked,
    report: AnswerReport,
) -> dict[str, Answer]:
    """The answers of the questions whose every turn got one, counted in ``report``."""
    out: dict[str, Answer] = {}
    now = time.time()
    turns, finish, kinds, cut = asked.turns, asked.finish, asked.kinds, asked.cut
    for q in todo:
        if q.key in asked.failed:
            continue
        choices = [{"index": i, "turns": turns[i][q.key]} for i in range(cfg.num_choices)]
        ans = Answer(
            question_id=q.question_id,
            model_id=model_id,
            choices=choices,
            answer_id=make_answer_id(model_id, q.question_id, choices),
            tstamp=now,
            extra={
                "tagengo": {
                    "temperature": cfg.temperature(q.category),
                    # The answer file's key stays MT-Bench's word: files written before the
                    # option was renamed --max-tokens read the same.
                    "max_new_tokens": cfg.max_tokens,
                    "finish_reasons": finish[q.key],
                    "sample": sample[q.key],
                }
            },
        )
        ans.extra["tagengo"]["request_key"] = answer_key(cfg, q, ans, client.model_id)
        out[q.key] = ans
        report.answered += 1
        report.truncated_turns += cut[q.key]
        report.written_turns += sum(len(c["turns"]) for c in choices)
        for kind in kinds[q.key]:
            report.written_problems[kind] = report.written_problems.get(kind, 0) + 1
        report.samples[str(sample[q.key])] = report.samples.get(str(sample[q.key]), 0) + 1
    return out


def _print_report(console: Console, r: AnswerReport, model_id: str) -> None:
    """Two lines per model: the questions (they reconcile) and the file, then the turns: the
    written ones that were cut (or empty, or of an unknown finish) and the ones that failed."""
    head = f"[bold]{r.bench}[/] ({r.language or '?'}): {model_id}" + (f" run {r.run}" if r.run > 1 else "")
    console.print(
        f"{head}: {r.questions} questions: {r.answered} answered, {r.kept} already there, "
        f"{r.failed_questions} failed (not written) -> {r.path} ({r.answers_in_file} answers in the file)"
    )
    failed = r.failed_turns
    filtered = failed.pop(FILTERED, 0)
    others = ", ".join(f"{n} {kind}" for kind, n in sorted(failed.items()))
    written = [f"{r.truncated_turns} cut at the token limit"]
    # "unfinished" is the contract's word for the cut turns, counted just before
    written += [f"{n} {kind}" for kind, n in sorted(r.written_problems.items()) if kind != UNFINISHED]
    console.print(
        f"  turns: {r.written_turns} written ({', '.join(written)}); {filtered} filtered; "
        f"{sum(failed.values())} failed" + (f" ({others})" if others else "") + " (not written)"
    )


def _stop_when_no_call_succeeded(bench: Bench, r: AnswerReport, model_id: str) -> None:
    """Every call of the run failed: nothing was written; say why and what to do."""
    first = r.failed[0]["error"] if r.failed else "see the manifest"
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(r.failed_turns.items()))
    raise NoCallSucceeded.of(
        model_id,
        f"{r.calls:,} failed: {kinds}; the first: {first}",
        first,
        f"No answer file was written ({r.path} is left as it was); the reasons are in "
        f"{bench.report_dir}/answer_{safe_name(model_id)}{'' if r.run == 1 else f'.run{r.run}'}.json. "
        "Re-run once fixed: answers already cached are reused and only the failed calls are made again.",
    )


def write_run_report(
    bench: Bench,
    name: str,
    report: dict[str, Any],
    config: dict[str, Any],
    *,
    stage: str,
    counts: dict[str, Any],
    started: float,
) -> Path:
    """The manifest of one answer or judge run, beside the files FastChat reads
    (``<bench>/tagengo/<name>``): stage, bench, full config, counts, package versions, start
    and end time, and the whole run report."""
    from tagengo.run.manifest import STAGE_PACKAGES, package_versions

    path = bench.report_dir / name
    body = {
        "stage": stage,
        "bench": str(bench.path),
        "language": bench.language,
        "language_source": bench.language_source,
        "config": config,
        "counts": counts,
        "versions": package_versions(*STAGE_PACKAGES),
        "started_at": datetime.fromtimestamp(started, UTC).isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "report": report,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(body, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


__all__ = ["AnswerReport", "account", "answer_bench", "answer_sample", "write_run_report"]
