"""Peer for benchmarks: what a user writes instead of `tagengo generate` with the official
``openai`` client: ``AsyncOpenAI`` and an ``asyncio.Semaphore(--concurrency)``, answers
written as JSONL in input order. No cache and no resume (the client's own retries stay at
its default). Runs in its own virtualenv (benchmarks/peers.py: openai and httpx pinned).

Input and output lines as for chat_threadpool.py.

    python chat_openai_async.py --input prompts.jsonl --out answers.jsonl \
        --base-url http://127.0.0.1:8000/v1 --model m --concurrency 64 --max-tokens 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os

import httpx
from openai import AsyncOpenAI


async def run(a: argparse.Namespace, rows: list[dict]) -> list[dict]:
    # The SDK's default pool keeps at most 1,000 connections; say 'concurrency' as a user would.
    limits = httpx.Limits(max_connections=a.concurrency, max_keepalive_connections=a.concurrency)
    client = AsyncOpenAI(
        base_url=a.base_url,
        api_key=os.environ.get("OPENAI_API_KEY", "none"),
        http_client=httpx.AsyncClient(limits=limits, timeout=120),
    )
    sem = asyncio.Semaphore(a.concurrency)

    async def ask(row: dict) -> dict:
        messages = row.get("messages") or [{"role": "user", "content": row["prompt"]}]
        async with sem:
            r = await client.chat.completions.create(
                model=a.model, messages=messages, temperature=a.temperature, max_tokens=a.max_tokens
            )
        choice = r.choices[0]
        return {"id": row.get("id"), "answer": choice.message.content, "finish_reason": choice.finish_reason}

    try:
        return await asyncio.gather(*(ask(row) for row in rows))
    finally:
        await client.close()


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
    answers = asyncio.run(run(a, rows))
    with open(a.out, "w", encoding="utf-8") as f:
        for ans in answers:
            f.write(json.dumps(ans, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
