"""The run's warning for one answer given to many prompts (a canned reply sent as an answer: the
s31 newcomer trial kept "Der Dienst ist derzeit überlastet..." for 40 of 40 prompts): counted per
distinct prompt, added up across chunks, named with its count and first characters."""

from __future__ import annotations

from tagengo.llm import ChatRequest
from tagengo.llm.accounting import SAME_ANSWER_MIN, Accounting, same_answer_warnings
from tagengo.llm.types import ChatResponse
from tagengo.run.steps import Step

CANNED = "Der Dienst ist derzeit überlastet. Bitte versuchen Sie es in einigen Minuten erneut."


def _resp(text: str) -> ChatResponse:
    return ChatResponse(content=text, finish_reason="stop", model="m")


def _req(prompt: str) -> ChatRequest:
    return ChatRequest.from_messages([{"role": "user", "content": prompt}])


def _run(answers: list[tuple[str, str]]) -> dict:
    acc = Accounting()
    for prompt, answer in answers:
        acc.record(_resp(answer), "m", _req(prompt))
    return acc.summary(percentiles=False)


def test_one_answer_to_five_distinct_prompts_is_warned_with_count_and_text():
    summary = _run([(f"Frage {i}", CANNED) for i in range(SAME_ANSWER_MIN)] + [("x", "Eine andere Antwort.")])
    (warning,) = same_answer_warnings(summary)
    assert warning.startswith(f"{SAME_ANSWER_MIN} distinct prompts got the identical answer {CANNED[:60]!r}")
    assert "'m'" in warning


def test_a_prompt_repeated_in_the_input_and_a_short_common_reply_below_the_line_are_not():
    repeated = _run([("Frage", CANNED)] * 10 + [(f"Frage {i}", CANNED) for i in range(3)])
    assert same_answer_warnings(repeated) == []  # 4 distinct prompts
    varied = _run([(f"Frage {i}", f"Antwort {i}") for i in range(20)])
    assert same_answer_warnings(varied) == [] and "same_answers" not in varied["m"]


def test_chunks_add_up_and_spacing_does_not_hide_the_repeat():
    a = _run([(f"a{i}", CANNED) for i in range(3)])
    b = _run([(f"b{i}", CANNED.replace(" ", "  ")) for i in range(3)])
    assert same_answer_warnings(a) == [] and same_answer_warnings(b) == []
    (warning,) = same_answer_warnings(Step.merge_summaries(a, b))
    assert warning.startswith("6 distinct prompts")


def test_failed_calls_and_long_answers_are_not_counted():
    acc = Accounting()
    for i in range(8):
        acc.record(
            ChatResponse(content=None, finish_reason=None, model="m", error="HTTP 500"), "m", _req(f"q{i}")
        )
        acc.record(_resp("lang " * 200), "m", _req(f"r{i}"))
    assert same_answer_warnings(acc.summary()) == []
