"""Accounting: per-model sums, cached answers counted apart, the budget guard, the table."""

from __future__ import annotations

import pytest
from rich.console import Console

from tagengo.llm.accounting import Accounting, estimate_input_tokens, summary_table
from tagengo.llm.types import ChatRequest, ChatResponse


def test_sums_per_model_with_cached_answers_free():
    acc = Accounting()
    acc.record(
        ChatResponse("a", "stop", "m", input_tokens=10, output_tokens=5, latency_s=1.0, cost=0.5, attempts=2),
        "m",
    )
    acc.record(
        ChatResponse("b", "length", "m", input_tokens=4, output_tokens=9, latency_s=3.0, cost=0.25), "m"
    )
    acc.record(ChatResponse("c", "stop", "m", cost=0.5, cached=True), "m")
    acc.record(ChatResponse(None, None, "m", error="HTTP 400: too long", attempts=1), "m")
    s = acc.summary()["m"]
    assert (s["calls"], s["cached"], s["failed"], s["retries"]) == (2, 1, 1, 1)
    assert (s["input_tokens"], s["output_tokens"]) == (14, 14)
    assert s["cost"] == 0.75 and s["cached_cost"] == 0.5 and acc.spent == 0.75
    assert s["finish_reasons"] == {"stop": 2, "length": 1}
    assert s["errors"] == {"HTTP 400": 1}
    assert s["latency_s_sum"] == 4.0 and s["latency_s_p95"] == 3.0
    assert "latency_s_p50" not in acc.summary(percentiles=False)["m"]


def test_the_budget_counts_calls_in_flight_at_their_worst_case():
    acc = Accounting(budget=1.0)
    acc.reserve(0.6)
    assert acc.can_afford(0.4) and not acc.can_afford(0.41)
    acc.release(0.6)
    acc.record(ChatResponse("a", "stop", "m", cost=0.7), "m")
    assert not acc.can_afford(0.31)


@pytest.mark.parametrize(
    "text",
    [
        "Explain how a bicycle stays upright. ",
        "自転車はなぜ倒れないのですか。",
        "为什么自行车不会倒下？",
        "Почему велосипед не падает? ",
        "क्यों साइकिल नहीं गिरती? ",
    ],
)
def test_the_token_estimate_is_not_below_either_openai_tokenizer(text):
    import bpe_openai

    req = ChatRequest.from_messages([{"role": "user", "content": text * 10}])
    real = max(len(bpe_openai.get_encoding(n).encode(text * 10)) for n in ("cl100k_base", "o200k_base"))
    assert real <= estimate_input_tokens(req) <= 1.5 * real + 10


def test_the_summary_table_shows_each_model():
    acc = Accounting()
    acc.record(
        ChatResponse("a", "stop", "teacher-x", input_tokens=1000, output_tokens=20, cost=0.1), "teacher-x"
    )
    console = Console(width=200, record=True)
    console.print(summary_table(acc.summary(percentiles=False)))
    text = console.export_text()
    assert "teacher-x" in text and "1,000" in text and "0.1000" in text and "stop 1" in text


def test_count_usage_uses_the_models_tokenizer_where_known_and_cl100k_otherwise():
    from tagengo.lang.tokens import TokenCounter
    from tagengo.llm.accounting import count_usage, encoding_for_model

    assert encoding_for_model("gpt-4o-mini") == "o200k_base"
    assert encoding_for_model("openai/gpt-5") == "o200k_base"
    assert encoding_for_model("llama3.1:8b") == "cl100k_base"
    assert encoding_for_model(None) == "cl100k_base"
    req = ChatRequest.from_messages(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "東京の天気は？"}]
    )
    cl = TokenCounter("cl100k_base")
    n_in, n_out = count_usage(req, "Sunny and warm.", "llama3")
    assert n_in == 3 + (3 + cl.count("Be brief.")) + (3 + cl.count("東京の天気は？"))
    assert n_out == cl.count("Sunny and warm.")
    o2 = TokenCounter("o200k_base")
    assert count_usage(req, "Sunny and warm.", "gpt-4o")[1] == o2.count("Sunny and warm.")
