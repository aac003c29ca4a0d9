"""What route must not trust: a judge that decided nothing, a language with no decided
comparison, and two teachers that one server answered as one model."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

from tagengo.errors import TagengoError
from tagengo.llm import ChatResponse


class NoComparisonDecided(TagengoError):
    """Every comparison of the pilot was undecided: a routing table would be a guess."""


def stop_when_nothing_decided(comparisons: list[Any], out: str) -> None:
    """Raise :class:`NoComparisonDecided` when no comparison has points (judged, tie or
    forfeit). The commonest reason is named, with the fixes; pilot.jsonl keeps every reply."""
    if not comparisons or any(c.points is not None for c in comparisons):
        return
    why, n = Counter(c.why for c in comparisons).most_common(1)[0]
    raise NoComparisonDecided(
        f"route: the judge decided none of the {len(comparisons):,} comparisons ({n:,} × {why}), so no "
        f"routing table was written (it would send every language to the first teacher). The judge's "
        f"replies are in {out}/pilot.jsonl. A judge must end its reply with a line 'Ranking: A>B' (or B>A, "
        "A=B): name a stronger judge (--judge-model), or ask again more often (--reask)."
    )


def undecided_languages(languages: dict[str, dict[str, Any]]) -> dict[str, str]:
    """language -> why it is not routed, for each language of ``languages`` (the table's
    entries) whose comparisons were all undecided: its winner would be a tie-break, not a verdict."""
    return {
        lang: f"none of its {e['comparisons']:,} comparisons was decided; it goes to the default teacher"
        for lang, e in languages.items()
        if e["comparisons"] and e["undecided"] == e["comparisons"]
    }


def one_model_warnings(answers: dict[str, list[ChatResponse]]) -> list[str]:
    """A warning for each pair of teachers whose answers all name the same served ``model``: a
    server that ignores the requested model (llama.cpp's server, Ollama) answers every request
    with what it loaded, so two teachers on it are one model compared with itself."""
    served = {name: {r.model for r in got if r.error is None and r.model} for name, got in answers.items()}
    out = []
    for a, b in itertools.combinations(answers, 2):
        if served[a] and served[a] == served[b]:
            model = ", ".join(repr(m) for m in sorted(served[a]))
            out.append(
                f"teachers {a} and {b} were both answered by model {model} (the 'model' their server "
                "named in every answer): they may be one model. A server that ignores the requested "
                "model (llama.cpp's server, Ollama) answers with whatever it loaded; give each teacher "
                "its own server (base_url)."
            )
    return out
