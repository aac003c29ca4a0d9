"""The answer checks (tagengo.llm.answer: the answer-language check and the degenerate kinds)
against every text tagengo bundles, with its language label: chat logs' answers (LMSYS, WildChat,
ShareGPT samples), the language-ID evaluation prompts (technical ones full of code among them),
the reverse corpus and the bench questions. None of it was written to tune these checks, except
the translation-request words (tagengo.llm.answer), read off the LMSYS sample's translation
prompts. The figures are the ones docs/llm.md gives ("The answer's language"); run with -s to see
the table."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import tagengo
from tagengo.lang.languages import label_to_code
from tagengo.llm.answer import AnswerLanguage, AnswerLanguageConfig, degenerate
from tagengo.llm.types import ChatRequest

DATA = Path(tagengo.__file__).parent / "data"
#: Planted rows whose label is wrong or no language on purpose (sample/planted.json).
UNUSABLE = (
    "lid_mislabelled", "language_unknown", "language_klingon", "language_bad_code", "language_null",
    "language_missing", "trivial_prompt",
)  # fmt: skip


def _code(label: str | None) -> str | None:
    try:
        return label_to_code(label)
    except Exception:  # a label that names no language
        return None


def _pairs(conversation: list[dict], role: str, content: str, user: str, assistant: str):
    for a, b in zip(conversation, conversation[1:]):
        if a[role] == user and b[role] == assistant:
            yield a, b[content]


def bundled_texts() -> list[tuple[str, str | None, str, str | None]]:
    """(source, language, text, the prompt it answers or None) for every bundled text."""
    cases = json.loads((DATA / "sample" / "planted.json").read_text())["cases"]
    skip = {i for k in UNUSABLE for i in cases[k]["ids"]}
    out = []
    for line in (DATA / "sample" / "lmsys_sample.jsonl").open(encoding="utf-8"):
        r = json.loads(line)
        if r["conversation_id"] not in skip and (code := _code(r.get("language"))):
            for user, answer in _pairs(r["conversation"], "role", "content", "user", "assistant"):
                out.append(("lmsys answers", code, answer, user["content"]))
    for line in (DATA / "sample" / "wildchat_sample.jsonl").open(encoding="utf-8"):
        for user, answer in _pairs(json.loads(line)["conversation"], "role", "content", "user", "assistant"):
            out.append(("wildchat answers", _code(user.get("language")), answer, user["content"]))
    for line in (DATA / "sample" / "sharegpt_sample.jsonl").open(encoding="utf-8"):
        for user, answer in _pairs(json.loads(line)["conversations"], "from", "value", "human", "gpt"):
            out.append(("sharegpt answers", None, answer, user["value"]))
    for line in (DATA / "langid" / "eval.jsonl").open(encoding="utf-8"):
        r = json.loads(line)
        out.append((f"langid eval: {r['kind']}", r["language"], r["text"], None))
    for f in sorted((DATA / "corpus").glob("*.txt")):
        out += [
            ("corpus paragraphs", f.stem, p.strip(), None) for p in f.read_text().split("\n\n") if p.strip()
        ]
    for d in sorted((DATA / "bench").glob("*_tagengo_mini")):
        for line in (d / "question.jsonl").open(encoding="utf-8"):
            out += [("bench questions", d.name.split("_")[0], t, None) for t in json.loads(line)["turns"]]
    return out


def test_the_answer_checks_reject_almost_nothing_correctly_labelled_and_catch_planted_mislabels():
    check = AnswerLanguage(AnswerLanguageConfig())
    texts, checked, wrong, broken = Counter(), Counter(), Counter(), Counter()
    shown = []
    for source, language, text, prompt in bundled_texts():
        texts[source] += 1
        problem, found = check.problem(text, language, prompt=prompt)
        checked[source] += bool(found)
        if problem is not None:
            wrong[source] += 1
            shown.append(f"  {source} [{language}]: {problem.detail[:60]} | {text[:60]!r}")
        request = ChatRequest.from_messages([{"role": "user", "content": prompt}]) if prompt else None
        if (bad := degenerate(text, request)) is not None:
            broken[source] += 1
            shown.append(f"  {source}: {bad.reason()[:80]}")
    print(f"\n{'source':28} {'texts':>6} {'checked':>8} {'wrong language':>15} {'degenerate':>11}")
    for s in texts:
        print(f"{s:28} {texts[s]:6} {checked[s]:8} {wrong[s]:15} {broken[s]:11}")
    print("\n".join(shown))

    planted = "langid eval: mislabelled"
    right = [s for s in texts if s != planted]
    assert sum(texts[s] for s in right) > 900 and sum(checked[s] for s in right) > 850
    # Correctly labelled: two code-switched prompts (Hinglish, Taglish) answered in English are the
    # only ones rejected; never a technical prompt, a corpus paragraph or a bench question.
    assert sum(wrong[s] for s in right) <= 2, shown
    for s in ("langid eval: technical", "corpus paragraphs", "bench questions", "wildchat answers"):
        assert wrong[s] == 0, s
    assert sum(broken.values()) == 0, shown
    # The planted wrong labels long enough to judge are caught.
    assert wrong[planted] >= 20
