"""Peer for benchmarks: what a user writes instead of `tagengo generate` with threads.

A ``ThreadPoolExecutor`` of ``--concurrency`` threads sharing one ``httpx.Client``, one
POST to ``{base_url}/chat/completions`` per prompt, answers written as JSONL in input order.
No cache, no retry, no resume: the smallest honest script. Runs in its own virtualenv
(benchmarks/peers.py: httpx pinned), so it imports nothing from tagengo.

Input lines: ``{"id": ..., "prompt": "..."}`` or ``{"id": ..., "messages": [...]}``.
Output lines: ``{"id": ..., "answer": "...", "finish_reason": "..."}``.

    python chat_threadpool.py --input prompts.jsonl --out answers.jsonl \
        --base-url http://127.0.0.1:8000/v1 --model m --concurrency 64 --max-tokens 64
"""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ThreadPoolExecutor

import httpx


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--input", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--base-url", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--temperature", type=float, default=0.0)
    a = p.parse_args()

    with open(a.input, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    key = os.environ.get("OPENAI_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    limits = httpx.Limits(max_connections=a.concurrency, max_keepalive_connections=a.concurrency)
    url = f"{a.base_url.rstrip('/')}/chat/completions"

    with httpx.Client(headers=headers, limits=limits, timeout=120) as client:

        def ask(row: dict) -> dict:
            messages = row.get("messages") or [{"role": "user", "content": row["prompt"]}]
            body = {
                "model": a.model,
                "messages": messages,
                "temperature": a.temperature,
                "max_tokens": a.max_tokens,
            }
            r = client.post(url, json=body)
            r.raise_for_status()
            choice = r.json()["choices"][0]
            return {
                "id": row.get("id"),
                "answer": choice["message"]["content"],
                "finish_reason": choice["finish_reason"],
            }

        with ThreadPoolExecutor(a.concurrency) as pool:
            answers = list(pool.map(ask, rows))

    with open(a.out, "w", encoding="utf-8") as f:
        for ans in answers:
            f.write(json.dumps(ans, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
