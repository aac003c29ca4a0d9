"""The one sentence a stopped run adds after the refusal it got on every call: a request
option's fix where the refusal names one, and the server where its replies are at fault (a
newcomer's trial was told to 'fix the request options' for bodies that were not UTF-8, for
codeless error bodies and for empty choices)."""

from __future__ import annotations

import pytest

from tagengo.llm.client import refusal_hint


@pytest.mark.parametrize(
    "error, words",
    [
        ("HTTP 400: 'max_tokens' is not supported with this model. Use 'max_completion_tokens'", "--max-tokens-param"),
        ("HTTP 400: Unsupported value: 'temperature' does not support 0.2", "--temperature"),
        ("provider error: Unsupported parameter: 'top_p'", "--top-p"),
        ("provider error: Internal error ('InternalServerError' in an HTTP 200 body)", "its own error"),
        ("provider error: the response body is not valid UTF-8: byte 0xdf at 45", "not valid UTF-8"),
        ("malformed response: '<html><body>502 Bad Gateway'", "--base-url"),
        ("HTTP 422: something no table knows", "Read the reason"),
    ],
)  # fmt: skip
def test_the_hint_names_the_option_or_the_server(error: str, words: str) -> None:
    hint = refusal_hint(error)
    assert words in hint, hint
    if "provider error: Internal" in error or "UTF-8" in error:
        assert "--" not in hint  # no request option blamed for the server's own fault
