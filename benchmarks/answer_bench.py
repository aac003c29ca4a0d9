"""The answer contract (tagengo.llm.answer): what it costs per answer, against what cannot be
avoided and against what a user writes.

The contract runs on every answer of every LLM stage: the backend reads the body
(``OpenAIHTTPBackend._parse``: JSON, error bodies, content parts, reasoning fields, token usage),
``normalise`` splits reasoning from the answer and repairs it, and ``answer_problem`` runs the
shared checks (finish reason, token budget, prompt cut, empty, template leak, tool call, U+FFFD,
control characters, loop, echo). Timed here on response bodies built in memory (no HTTP):

* answers of about 50, 500 and 4,000 words (CJK: 1.5 characters a word) in three scripts (English,
  Chinese, Arabic), put together from the bundled LMSYS sample's answers in that language, each
  sent three ways: plain, with a ``<think>`` block before it (an R1 distill without a reasoning
  parser) and with ``reasoning_content`` (vLLM, DeepSeek); the reasoning is English of the
  answer's length;
* the fault kinds of tests/servers/answer_faults.py (its own bending code, on a German answer of
  about 500 words to a German prompt), with the decision the contract takes on each.

Contenders, interleaved on each body (the best of --rounds rounds of at least --min-time seconds
each, so a neighbour's burst on a shared core does not count):

* **bound**: what no reader of the answer can skip: ``orjson.loads`` of the body and one pass over
  the answer text (``str.encode("utf-8")``, which also proves it valid Unicode);
* **peer**: what a user writes: ``json.loads``, ``choices[0]["message"]["content"].strip()``,
  ``finish_reason == "stop"`` and a ``<think>...</think>`` regex; and, where the ``openai`` package
  is installed, its SDK's ``ChatCompletion.model_validate_json`` (what a user of the SDK pays
  before reading the content);
* **contract**: parse + normalise + answer_problem; ``parse`` (the backend's reading alone) is
  timed too, and ``checks`` (normalise + answer_problem) is the contract less the parse.

Then the contract's cost as a share of one core at what generate sees (64 calls in flight of
200 ms each: 320 answers/s), and the answer-language check (``AnswerLanguage.problem``: lid.176 on
the whole answer, then in runs for drift) apart, since it is the costly part.

    .venv/bin/python benchmarks/answer_bench.py
    .venv/bin/python benchmarks/answer_bench.py --min-time 0.2 --rounds 5     # a quiet machine
    .venv/bin/python benchmarks/answer_bench.py --no-language --no-faults      # the contract alone
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "src" / "tagengo" / "data" / "sample" / "lmsys_sample.jsonl"
#: The sample's language names -> record codes, the three scripts timed (and German, the faults').
SCRIPTS = {"English": "en", "Chinese": "zh", "Arabic": "ar", "German": "de"}
SIZES = (50, 500, 4000)
FORMS = ("plain", "think", "reasoning_content")
#: Characters per word where words are not separated by spaces.
CJK_CHARS_PER_WORD = 1.5
#: What generate sees: 64 calls in flight, 200 ms each.
IN_FLIGHT, CALL_S = 64, 0.200
_THINK = re.compile(r"<think>.*?</think>", re.S)


def _answers() -> dict[str, tuple[str, list[str]]]:
    """language code -> (the first prompt, every answer) of the bundled sample."""
    out: dict[str, tuple[str, list[str]]] = {}
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        code = SCRIPTS.get(row.get("language"))
        if code is None:
            continue
        turns = row["conversation"]
        prompt = next(t["content"] for t in turns if t["role"] == "user")
        answers = [t["content"] for t in turns if t["role"] == "assistant" and t["content"].strip()]
        entry = out.setdefault(code, (prompt, []))
        entry[1].extend(answers)
    return out


def _words(text: str, code: str) -> float:
    return len(text) / CJK_CHARS_PER_WORD if code in ("zh", "ja") else len(text.split())


def _text(answers: list[str], code: str, words: int) -> str:
    """Answers of one language joined (in turn, as paragraphs) up to about ``words`` words: the
    cycle is longer than the loop check's longest unit, so a long text is no loop."""
    parts: list[str] = []
    for a in itertools.cycle(answers):
        parts.append(a.strip())
        text = "\n\n".join(parts)
        if _words(text, code) >= words:
            break
    if code in ("zh", "ja"):
        return text[: int(words * CJK_CHARS_PER_WORD)].rstrip()
    return " ".join(text.split(" ")[:words]) if _words(text, code) > words * 1.2 else text


def _body(content: Any, prompt_tokens: int, completion_tokens: int, **message: Any) -> dict[str, Any]:
    """A chat completion as vLLM and OpenAI send it."""
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1765100000,
        "model": "teacher",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class Case:
    """One response body with the request it answers and the row's language."""

    def __init__(self, name: str, status: int, payload: bytes, request: Any, language: str, prompt: str):
        self.name, self.status, self.payload = name, status, payload
        self.request, self.language, self.prompt = request, language, prompt


def _cases(faults: bool) -> tuple[list[Case], list[Case]]:
    from tagengo.llm.types import ChatRequest

    texts = _answers()
    english = texts["en"][1]
    plain: list[Case] = []
    for code in ("en", "zh", "ar"):
        prompt, answers = texts[code]
        request = ChatRequest.from_messages([{"role": "user", "content": prompt}], max_tokens=16384)
        for words in SIZES:
            answer = _text(answers, code, words)
            reasoning = _text(english, "en", words)
            ptok, ctok = max(1, len(prompt.encode()) // 4), max(1, len(answer.encode()) // 4)
            bodies = {
                "plain": _body(answer, ptok, ctok),
                "think": _body(f"<think>\n{reasoning}\n</think>\n\n{answer}", ptok, 2 * ctok),
                "reasoning_content": _body(answer, ptok, 2 * ctok, reasoning_content=reasoning),
            }
            for form, body in bodies.items():
                plain.append(Case(f"{code} {words} {form}", 200, orjson.dumps(body), request, code, prompt))
    if not faults:
        return plain, []
    sys.path.insert(0, str(REPO / "tests"))
    from servers.answer_faults import KINDS, bend, error_reply

    prompt, answers = texts["de"]
    answer = _text(answers, "de", 500)
    bent: list[Case] = []
    for kind in KINDS:
        prompt_k = f"{prompt} FAULT={kind}"
        sent = {"model": "teacher", "messages": [{"role": "user", "content": prompt_k}], "max_tokens": 4096}
        request = ChatRequest.from_messages(sent["messages"], max_tokens=4096)
        reply = error_reply(kind)
        if reply is None:
            body = _body(answer, max(1, len(prompt_k.encode()) // 4), len(answer.encode()) // 4)
            bend(kind, sent, body)
            reply = (200, body)
        status, body = reply
        # json, not orjson: a body with a lone surrogate is what the server sends (surrogate).
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
        bent.append(Case(kind, status, payload, request, "de", prompt_k))
    return plain, bent


def _backend() -> Any:
    from tagengo.llm import LLMConfig
    from tagengo.llm.backends.openai_http import OpenAIHTTPBackend

    os.environ.pop("OPENAI_API_KEY", None)
    return OpenAIHTTPBackend(LLMConfig(backend="openai", model="teacher", base_url="http://127.0.0.1:9/v1"))


def _contract(backend: Any) -> Callable[[Case], Any]:
    """The contract as the client runs it: a body the backend refuses is a failed call, which
    answer_problem then names (``call failed``, ``filtered``, ``provider error``)."""
    from tagengo.llm.answer import answer_problem, normalise
    from tagengo.llm.errors import RequestError, RetryableError
    from tagengo.llm.types import ChatResponse

    def run(case: Case) -> Any:
        try:
            if case.status != 200:
                backend._raise_for_status(case.status, {}, case.payload)
            resp = backend._parse(case.payload)
        except (RequestError, RetryableError) as e:
            kind = getattr(e, "kind", "failed")
            resp = ChatResponse(
                content=None, finish_reason=None, model="teacher", error=str(e), error_kind=kind
            )
        normalise(resp)
        return resp, answer_problem(resp, case.request)

    return run


def _parse(backend: Any, case: Case) -> Callable[[], Any] | None:
    """The backend's reading of the body alone, for a body it reads (a 200 it does not refuse)."""
    if case.status != 200:
        return None
    try:
        backend._parse(case.payload)
    except Exception:
        return None
    return lambda: backend._parse(case.payload)


def _bound(case: Case) -> Any:
    d = orjson.loads(case.payload)
    content = d["choices"][0]["message"]["content"]
    return content.encode("utf-8") if isinstance(content, str) else content


def _peer(case: Case) -> Any:
    d = json.loads(case.payload)
    choice = d["choices"][0]
    text = _THINK.sub("", choice["message"]["content"] or "").strip()
    return text if choice["finish_reason"] == "stop" else None


def _sdk() -> Callable[[Case], Any] | None:
    try:
        from openai.types.chat import ChatCompletion
    except ImportError:
        return None

    def run(case: Case) -> Any:
        c = ChatCompletion.model_validate_json(case.payload).choices[0]
        text = _THINK.sub("", c.message.content or "").strip()
        return text if c.finish_reason == "stop" else None

    return run


def _time(fns: dict[str, Callable[[], Any]], min_time: float, rounds: int) -> dict[str, float]:
    """µs per call of each function: the best round's mean, rounds interleaved."""
    loops: dict[str, int] = {}
    for name, fn in fns.items():  # calibrate: loops for a round of at least min_time
        n, dt = 1, 0.0
        while n < 1 << 20:
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            if (dt := time.perf_counter() - t0) >= min_time / 8:
                break
            n *= 2
        loops[name] = max(1, round(n * min_time / max(dt, 1e-9)))
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            n = loops[name]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / n * 1e6)
    return best


def _decision(result: Any) -> str:
    resp, problem = result
    if problem is not None:
        return problem.kind
    notes = resp.raw.get("normalised") or []
    extra = [f"{resp.replaced_chars} replaced"] if resp.replaced_chars else []
    extra += ["reasoning split"] if resp.reasoning else []
    return "accepted" + (f" ({'; '.join(extra + notes)})" if extra or notes else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--min-time", type=float, default=0.05, help="seconds per round of one contender on one body"
    )
    ap.add_argument("--rounds", type=int, default=3, help="rounds per body (the best is kept)")
    ap.add_argument("--no-faults", dest="faults", action="store_false", help="skip the fault kinds")
    ap.add_argument("--no-language", dest="language", action="store_false", help="skip the language check")
    args = ap.parse_args()

    backend = _backend()
    contract = _contract(backend)
    sdk = _sdk()
    plain, bent = _cases(args.faults)
    print(
        f"answer contract, {len(plain)} bodies + {len(bent)} fault kinds; best of {args.rounds} rounds of "
        f">= {args.min_time} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        f"openai SDK {'yes' if sdk else 'not installed'}"
    )
    budget_us = 1e6 * CALL_S / IN_FLIGHT  # one core's time per answer at 320 answers/s
    print(
        f"\n{'body':28s} {'chars':>7s} {'KB':>6s} {'bound':>8s} {'peer':>8s} {'SDK':>8s} {'parse':>8s} "
        f"{'checks':>8s} {'contract':>9s} {'x bound':>8s} {'x peer':>7s} {'core %':>7s}"
    )
    figures: list[dict[str, Any]] = []
    for case in plain:
        fns: dict[str, Callable[[], Any]] = {
            "bound": lambda c=case: _bound(c),
            "peer": lambda c=case: _peer(c),
            "contract": lambda c=case: contract(c),
        }
        if sdk is not None:
            fns["sdk"] = lambda c=case: sdk(c)
        if (parse := _parse(backend, case)) is not None:
            fns["parse"] = parse
        us = _time(fns, args.min_time, args.rounds)
        if "parse" in us:  # normalise + answer_problem: the rest of the contract
            us["checks"] = max(0.0, us["contract"] - us["parse"])
        resp, _ = contract(case)
        row = {
            "body": case.name,
            "chars": len(resp.content or ""),
            "kb": round(len(case.payload) / 1024, 1),
            **{k: round(v, 1) for k, v in us.items()},
            "x_bound": round(us["contract"] / us["bound"], 2),
            "x_peer": round(us["contract"] / us["peer"], 2),
            "core_pct": round(100 * us["contract"] / budget_us, 2),
            "decision": _decision(contract(case)),
        }
        figures.append(row)
        print(
            f"{case.name:28s} {row['chars']:7,d} {row['kb']:6.1f} {us['bound']:8.1f} {us['peer']:8.1f} "
            f"{us.get('sdk', float('nan')):8.1f} {us.get('parse', float('nan')):8.1f} "
            f"{us.get('checks', float('nan')):8.1f} {us['contract']:9.1f} {row['x_bound']:8.2f} "
            f"{row['x_peer']:7.2f} {row['core_pct']:7.2f}"
        )
    ratios_b = sorted(r["x_bound"] for r in figures)
    ratios_p = sorted(r["x_peer"] for r in figures)
    worst = max(figures, key=lambda r: r["contract"])
    print(
        f"\ncontract / bound: median {ratios_b[len(ratios_b) // 2]:.2f}x (range {ratios_b[0]:.2f}-{ratios_b[-1]:.2f}); "
        f"contract / peer: median {ratios_p[len(ratios_p) // 2]:.2f}x (range {ratios_p[0]:.2f}-{ratios_p[-1]:.2f})"
    )
    print(
        f"at {IN_FLIGHT} in flight x {CALL_S * 1000:.0f} ms ({IN_FLIGHT / CALL_S:.0f} answers/s, {budget_us:,.0f} µs "
        f"of one core per answer): the contract takes {worst['core_pct']:.2f}% of a core at most "
        f"({worst['body']}, {worst['contract']:,.0f} µs), {100 * worst['contract'] / (CALL_S * 1e6):.3f}% of one "
        "200 ms call"
    )

    faults: list[dict[str, Any]] = []
    if bent:
        print(f"\n{'fault kind':16s} {'contract µs':>12s}  decision")
        for case in bent:
            us = _time({"contract": lambda c=case: contract(c)}, args.min_time / 2, args.rounds)["contract"]
            decision = _decision(contract(case))
            faults.append({"kind": case.name, "contract": round(us, 1), "decision": decision})
            print(f"{case.name:16s} {us:12.1f}  {decision}")

    language: list[dict[str, Any]] = []
    if args.language:
        from tagengo.llm.answer import AnswerLanguage, AnswerLanguageConfig

        check = AnswerLanguage(AnswerLanguageConfig())
        t0 = time.perf_counter()
        check.warm()
        load_s = time.perf_counter() - t0
        print(f"\nlanguage check (AnswerLanguage.problem, lid.176 loaded in {load_s:.2f} s)")
        print(f"{'answer':16s} {'chars':>7s} {'µs':>9s} {'core %':>7s} {'x contract':>10s}  found")
        by_name = {r["body"]: r for r in figures}
        for case in [c for c in plain if c.name.endswith(" plain")] + [
            c for c in bent if c.name in ("wronglang", "drift")
        ]:
            text = (contract(case)[0].content or "").strip()

            def one(t: str = text, c: Case = case) -> Any:
                return check.problem(t, c.language, prompt=c.prompt)

            us = _time({"lang": one}, args.min_time, args.rounds)["lang"]
            problem, found = one()
            name = case.name.removesuffix(" plain")
            base = by_name.get(case.name, {}).get("contract")
            said = f"{found.get('detected')} p={found.get('prob', 0):.2f}" if found else "not checked"
            said += f" -> {problem.kind}" if problem else ""
            language.append({"answer": name, "chars": len(text), "us": round(us, 1), "found": said})
            print(
                f"{name:16s} {len(text):7,d} {us:9.1f} {100 * us / budget_us:7.2f} "
                f"{(f'{us / base:.1f}x' if base else '-'):>10s}  {said}"
            )
    print(
        json.dumps(
            {
                "bench": "answer",
                "load": round(os.getloadavg()[0], 2),
                "bodies": figures,
                "faults": faults,
                "language": language,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
