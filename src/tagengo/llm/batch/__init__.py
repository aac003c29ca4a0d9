"""Batch APIs: the same calls as online, at the provider's batch price, answered within 24 hours.

``LLMConfig(batch=True)`` (``--batch`` on every stage of model calls) makes ``LLMClient.chat_many``
send the calls the request cache does not hold through OpenAI's or Azure OpenAI's Batch API, or
(``--batch-dir``) through a JSONL round trip with vLLM's ``run-batch``; the answers fill the
request cache and reach the stage as online answers do. See ``runner.py`` for the steps and
docs/llm.md ("Batch APIs") for the options.
"""

from __future__ import annotations

from tagengo.llm.batch.runner import BatchPending, BatchRunner

__all__ = ["BatchPending", "BatchRunner"]
