"""The fake OpenAI-compatible server used by tests, benchmarks and dry runs: the protocol, the
faults that stick to a request, and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from servers.fake_chat_server import FakeChatServer, FaultRates, answer_for


def _post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(
        url + "/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_answers_in_the_openai_shape_and_cuts_at_max_tokens():
    body = {"model": "m", "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 3}
    with FakeChatServer() as s:
        status, d = _post(s.url, {**body, "max_tokens": 100})
        assert status == 200 and d["object"] == "chat.completion" and d["model"] == "m"
        assert d["choices"][0]["message"]["content"] == answer_for(body)
        assert d["choices"][0]["finish_reason"] == "stop"
        assert d["usage"]["completion_tokens"] == len(answer_for(body).split())
        _, cut = _post(s.url, body)
        assert cut["choices"][0]["finish_reason"] == "length" and cut["usage"]["completion_tokens"] == 3


def test_request_bound_faults_are_the_same_on_every_attempt_and_every_server():
    rates = FaultRates(rate_400=0.3, rate_empty=0.3)
    bodies = [
        {"model": "m", "messages": [{"role": "user", "content": f"q{i}"}], "max_tokens": 50}
        for i in range(30)
    ]
    outcomes = []
    for seed in (1, 2):
        with FakeChatServer(faults=rates, seed=seed) as s:
            outcomes.append(
                [
                    (st, d.get("choices", [{}])[0].get("message", {}).get("content"))
                    for st, d in (_post(s.url, b) for b in bodies)
                ]
            )
    assert outcomes[0] == outcomes[1]
    statuses = [st for st, _ in outcomes[0]]
    assert 400 in statuses and 200 in statuses and any(c == "" for _, c in outcomes[0])


def test_the_command_line_prints_its_address_first():
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("fake_chat_server.py")), "--latency", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        status, d = _post(info["url"], {"model": "x", "messages": [{"role": "user", "content": "hi"}]})
        assert status == 200 and d["choices"][0]["message"]["content"].startswith("Answer ")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
