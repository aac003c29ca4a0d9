"""The routing table `tagengo route` writes and `tagengo generate --routing` reads.

``routing.json``::

    {
      "version": 1,
      "default": "a",                       # the teacher of a language the table does not name
      "teachers": {"a": {"llm": {...}, "model_id": "openai:gpt-4o@https://api.openai.com/v1"}, ...},
      "languages": {
        "de": {"teacher": "b", "prompts": 20, "comparisons": 20, "undecided": 0,
               "teachers": {"a": {"win_rate": 0.35, "ci": [0.15, 0.55], "wins": 7, "losses": 13,
                                  "ties": 0, "forfeits": 0, "failed_answers": 0,
                                  "cost_per_answer": 0.0061, "output_tokens_per_answer": 402.5}, ...}},
        ...
      },
      "overall": {"a": {...}, ...},         # every language pooled: what picked the default
      "judge": "openai:gpt-4o@...", "seed": 0, "per_language": 20, "bootstrap": 1000, "confidence": 0.95
    }

A teacher's ``llm`` holds how to reach it (:data:`CONNECTION_FIELDS`: backend, model, URL, the
*name* of its key's environment variable, Azure deployment, prices), never a secret. Everything else
generate needs (sampling, concurrency, cache, budget, --batch) is generate's own option.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tagengo.errors import ConfigError
from tagengo.llm.config import LLMConfig

TABLE_FILE = "routing.json"
VERSION = 1

#: The fields of a teacher's LLMConfig that say which model answers and what it costs: stored in
#: the table; generate takes every other field from its own options.
CONNECTION_FIELDS = (
    "backend",
    "model",
    "base_url",
    "api_key_env",
    "azure_deployment",
    "azure_api_version",
    "model_path",
    "n_ctx",
    "max_tokens_param",
    "cache_id",
    "input_price_per_1m",
    "output_price_per_1m",
    "prices",
    "batch_prices",
)


def connection(config: LLMConfig) -> dict[str, Any]:
    """What the table keeps of a teacher's config."""
    return config.model_dump(mode="json", include=set(CONNECTION_FIELDS))


@dataclass
class RoutingTable:
    path: Path
    data: dict[str, Any]
    sha256: str

    @classmethod
    def load(cls, path: str | Path) -> RoutingTable:
        """The table at ``path`` (``routing.json``, or the folder `tagengo route` wrote it in).
        ``ConfigError`` (one sentence naming --routing) when it is missing or not a table."""
        p = Path(path)
        if p.is_dir():
            p = p / TABLE_FILE
        try:
            raw = p.read_bytes()
            data = json.loads(raw)
        except FileNotFoundError:
            raise ConfigError(
                f"--routing {path}: no routing table there; write one with `tagengo route`."
            ) from None
        except (OSError, ValueError) as e:
            raise ConfigError(f"--routing {path}: not a routing table ({e}).") from None
        if (
            not isinstance(data, dict)
            or data.get("version") != VERSION
            or not isinstance(data.get("teachers"), dict)
        ):
            raise ConfigError(f"--routing {path}: not a version-{VERSION} routing table of `tagengo route`.")
        teachers = data["teachers"]
        if data.get("default") not in teachers:
            raise ConfigError(
                f"--routing {path}: its default teacher {data.get('default')!r} is not among its teachers."
            )
        for lang, entry in (data.get("languages") or {}).items():
            if entry.get("teacher") not in teachers:
                raise ConfigError(
                    f"--routing {path}: language {lang} goes to an unknown teacher {entry.get('teacher')!r}."
                )
        return cls(p, data, hashlib.sha256(raw).hexdigest())

    @property
    def default(self) -> str:
        return str(self.data["default"])

    @property
    def teachers(self) -> list[str]:
        return list(self.data["teachers"])

    def routes(self) -> dict[str, str]:
        """language -> teacher."""
        return {lang: e["teacher"] for lang, e in (self.data.get("languages") or {}).items()}

    def teacher_for(self, language: str | None) -> str:
        entry = (self.data.get("languages") or {}).get(language or "")
        return str(entry["teacher"]) if entry else self.default

    def llm_config(self, teacher: str, base: LLMConfig) -> LLMConfig:
        """``base`` (generate's own client options) reaching ``teacher`` instead: the table's
        connection fields replace base's, a field the table leaves out takes LLMConfig's default."""
        given = self.data["teachers"][teacher].get("llm") or {}
        fields = {
            k: given.get(k, LLMConfig.model_fields[k].get_default(call_default_factory=True))
            for k in CONNECTION_FIELDS
        }
        return LLMConfig.model_validate({**base.model_dump(), **fields})
