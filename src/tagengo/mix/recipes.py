"""The mixture recipes as global steps: which records a training mixture keeps.

Every step decides from a few columns (id, language, and for the parallel recipe one meta
key) and changes no record, so each has the Arrow ``select`` fast path: at a million rows
the runner never builds Python records for them.

Samples are seeded the way ``curate``'s per-language cap is: a row's key is a hash of
(seed, id) (``sample_key``), an item's (``--size``, ``--take``, parallel groups) a hash of
(seed, ``group:<group id>``) or (seed, ``row:<id>``) for a row without a group, and the
smallest keys win. A sample is therefore the same for the same seed whatever the row order.

One item set for every variant of a parallel set (Lima-X compares mono, ENDEFRITES and
ENDEFRITES-sampled on the same items): ``complete_groups`` runs first and drops every group
that lacks one of the group languages, whatever the recipe, and ``item_set`` runs last and
puts the count and a hash of the kept items in the manifest, so two mixes can be shown to
share them.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from tagengo.mix.config import MixConfig
from tagengo.records import NO_LANGUAGE, Record, Rejection
from tagengo.run.sampling import sample_key
from tagengo.run.steps import GlobalStep, Step


def key_array(seed: int, values: Sequence[str]) -> np.ndarray:
    """``sample_key`` of every value as big-endian uint64, so numpy sorts them in byte order."""
    if not values:
        return np.zeros(0, dtype=np.uint64)
    return np.frombuffer(b"".join(sample_key(seed, v) for v in values), dtype=">u8").astype(np.uint64)


def item_id(group: str | None, row_id: str) -> str:
    """A row's item: ``group:<id>`` for a row of a parallel group, ``row:<id>`` for one without
    (prefixed so the two never collide). Items are what ``--size`` and ``--take`` sample and
    what the manifest's ``item_set`` hashes."""
    return f"group:{group}" if group is not None else f"row:{row_id}"


def meta_value(meta: dict[str, Any] | str | None, dotted: str) -> str | None:
    """The value at ``dotted`` (``a.b`` reaches into nested dicts) of a meta dict or its JSON text,
    as a string; None when absent, null or empty."""
    if meta is None:
        return None
    if isinstance(meta, str):
        # Most rows of a non-parallel set lack the key: skip parsing those.
        if f'"{dotted.rsplit(".", 1)[-1]}"' not in meta:
            return None
        meta = orjson.loads(meta)
    value: Any = meta
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value)
    return text or None


class _Columns:
    """The columns a recipe step reads, from an Arrow table or from records."""

    def __init__(
        self,
        ids: list[str],
        languages: list[str | None],
        meta: Callable[[], list[Any]],
        sources: Callable[[], list[str]] | None = None,
    ) -> None:
        self.ids = ids
        self.languages = languages
        self._meta = meta
        self._sources = sources or (lambda: [""] * len(ids))

    @classmethod
    def from_table(cls, table: pa.Table) -> _Columns:
        return cls(
            table.column("id").to_pylist(),
            table.column("language").to_pylist(),
            lambda: table.column("meta").to_pylist(),
            lambda: table.column("source").to_pylist(),
        )

    @classmethod
    def from_records(cls, records: Sequence[Record]) -> _Columns:
        return cls(
            [r.id for r in records],
            [r.language for r in records],
            lambda: [r.meta for r in records],
            lambda: [r.source for r in records],
        )

    def sources(self) -> list[str]:
        return self._sources()

    def items(self, group_key: str) -> list[str]:
        """Each row's item: its parallel-group id, or its own id when it has none (prefixed so
        the two never collide)."""
        return [item_id(meta_value(m, group_key), i) for m, i in zip(self.meta(), self.ids, strict=True)]

    def meta(self) -> list[Any]:
        return self._meta()


class RecipeStep(GlobalStep):
    """A global step that only selects: ``decide`` gives one reason per row (None keeps it)."""

    def __init__(self, cfg: MixConfig) -> None:
        self.cfg = cfg
        self._summary: dict[str, Any] = {}

    def decide(self, cols: _Columns) -> list[str | None]:
        raise NotImplementedError

    def select(self, table: pa.Table) -> list[str | None]:
        return self.decide(_Columns.from_table(table))

    def process(self, batch: list[Record]) -> tuple[list[Record], list[Rejection]]:
        kept: list[Record] = []
        rejected: list[Rejection] = []
        for row, reason in zip(batch, self.decide(_Columns.from_records(batch)), strict=True):
            if reason is None:
                kept.append(row)
            else:
                rejected.append(Rejection(row, self.name, reason))
        return kept, rejected

    def summary(self) -> dict[str, Any]:
        out, self._summary = self._summary, {}
        return out


def _lacks(g: str, missing: set[str]) -> str:
    shown = ",".join(sorted(missing)[:8]) + (" …" if len(missing) > 8 else "")
    return f"parallel group {g} lacks {shown}"


class CompleteGroups(RecipeStep):
    """Keep only complete parallel groups: the item set every recipe draws from.

    A group is complete when it has a row in every group language: ``--group-languages``;
    else, on `tagengo translate`'s output, every translation target (the languages of the rows
    with ``meta.translation``; each group also holds its source row, whatever its language, so
    a set translated from English and Japanese items is complete without both); else every
    language among the grouped rows. The step runs before the languages are selected, so
    ``--recipe monolingual --languages de`` and ``--recipe parallel`` of one parallel set keep
    the same groups. Rows without a group id pass: they are items of their own. The summary
    counts groups, incomplete ones and, per language, the groups that lack it.
    """

    name = "complete_groups"

    def decide(self, cols: _Columns) -> list[str | None]:
        groups: list[str | None] = []
        translated: list[bool] = []
        for m in cols.meta():
            g = meta_value(m, self.cfg.group_key)
            groups.append(g)
            translated.append(g is not None and meta_value(m, "translation.to") is not None)
        members: dict[str, list[int]] = defaultdict(list)
        for i, g in enumerate(groups):
            if g is not None:
                members[g].append(i)
        out: list[str | None] = [None] * len(groups)
        if not members:
            self._summary = {"groups": 0}
            return out
        grouped = [i for idx in members.values() for i in idx]
        if self.cfg.group_languages:
            required, basis = set(self.cfg.group_languages), "--group-languages"
        elif targets := {lang for i in grouped if translated[i] and (lang := cols.languages[i])}:
            required, basis = targets, "translation targets (meta.translation)"
        else:
            required = {lang for i in grouped if (lang := cols.languages[i])}
            basis = "every language of the grouped rows"
        lacking: Counter = Counter()
        incomplete = 0
        for g, idx in members.items():
            missing = required - {cols.languages[i] for i in idx}
            if missing:
                incomplete += 1
                lacking.update(missing)
                reason = _lacks(g, missing)
                for i in idx:
                    out[i] = reason
        self._summary = {
            "groups": len(members),
            "complete_groups": len(members) - incomplete,
            "incomplete_groups": incomplete,
            "groups_lacking": dict(sorted(lacking.items())),
            "group_languages": sorted(required),
            "basis": basis,
            "rows_without_group": sum(g is None for g in groups),
        }
        return out


class LanguageSelect(RecipeStep):
    """Keep the selected languages (all by default), English only with ``english``."""

    name = "languages"

    def decide(self, cols: _Columns) -> list[str | None]:
        wanted = set(self.cfg.languages)
        listed = ",".join(self.cfg.languages)
        counts = Counter(cols.languages)
        min_rows = self.cfg.min_rows
        out: list[str | None] = []
        for lang in cols.languages:
            if not lang:
                out.append("no language code")
            elif lang == "en" and not self.cfg.english:
                out.append("English left out (--no-english)")
            elif wanted and lang not in wanted:
                out.append(f"language {lang} is not in the mix ({listed})")
            elif counts[lang] < min_rows:
                out.append(f"language {lang} has {counts[lang]:,} rows, fewer than --min-rows {min_rows:,}")
            else:
                out.append(None)
        present = {lang for lang in cols.languages if lang}
        summary: dict[str, Any] = {}
        if missing := sorted(wanted - present):
            summary["missing_languages"] = missing
        if dupes := len(cols.ids) - len(set(cols.ids)):
            # Not removed (a mix is a selection), but the user should know: the same id in two
            # inputs usually means a folder was given twice.
            summary["duplicate_ids"] = dupes
        self._summary = summary
        return out


class LanguageSample(RecipeStep):
    """Cut every language to the same size: ``per_language`` rows, or the smallest language's count."""

    name = "per_language_sample"

    def decide(self, cols: _Columns) -> list[str | None]:
        by_lang: dict[str | None, list[int]] = defaultdict(list)
        for i, lang in enumerate(cols.languages):
            by_lang[lang].append(i)
        out: list[str | None] = [None] * len(cols.ids)
        if not by_lang:
            self._summary = {"per_language": 0}
            return out
        counts = {lang: len(idx) for lang, idx in by_lang.items()}
        if self.cfg.per_language is not None:
            n, basis = self.cfg.per_language, "--per-language"
        else:
            smallest = min(counts, key=lambda lang: (counts[lang], lang or ""))
            n, basis = counts[smallest], f"smallest language ({smallest or NO_LANGUAGE})"
        cut = 0
        for lang, idx in by_lang.items():
            if len(idx) <= n:
                continue
            keys = key_array(self.cfg.seed, [cols.ids[i] for i in idx])
            order = np.argsort(keys, kind="stable")
            reason = f"per-language sample: {lang or NO_LANGUAGE} has {len(idx):,} rows; a seeded sample of {n:,} was kept"
            for j in order[n:]:
                out[idx[j]] = reason
                cut += 1
        summary: dict[str, Any] = {
            "per_language": n,
            "basis": basis,
            "rows_in": len(cols.ids),
            "rows_cut": cut,
            "languages": len(counts),
        }
        if self.cfg.per_language is None:
            # The smallest language sets every language's size: the CLI warns with this.
            summary["limiting_language"] = smallest or NO_LANGUAGE
        if short := {lang or NO_LANGUAGE: c for lang, c in sorted(counts.items(), key=str) if c < n}:
            summary["short_languages"] = short  # fewer rows than the common size: all kept
        self._summary = summary
        return out


class ParallelGroups(RecipeStep):
    """Keep rows that share a parallel-group id, whole groups at a time.

    A group is complete when it has a row in every selected language (``--languages``, or
    every language among the grouped rows). With ``complete_groups`` incomplete groups are
    dropped; with ``per_language`` a seeded sample of that many groups is kept.
    """

    name = "parallel_groups"

    def decide(self, cols: _Columns) -> list[str | None]:
        groups, members, out, required, candidates, incomplete = _parallel_groups(cols, self.cfg)
        n = self.cfg.per_language
        sampled_out = 0
        if n is not None and len(candidates) > n:
            # The key --size uses: --per-language N picks the groups --size N picks.
            order = _seeded_order(self.cfg.seed, [item_id(g, "") for g in candidates])
            reason = f"parallel group not in the seeded sample of {n:,} of {len(candidates):,} groups"
            for j in order[n:]:
                sampled_out += 1
                for i in members[candidates[j]]:
                    out[i] = reason
        self._summary = {
            "groups": len(members),
            "incomplete_groups": incomplete,
            "sampled_out_groups": sampled_out,
            "kept_groups": len(candidates) - sampled_out,
            "rows_without_group": sum(g is None for g in groups),
            "languages_required": sorted(required),
        }
        return out


def _parallel_groups(
    cols: _Columns, cfg: MixConfig
) -> tuple[list[str | None], dict[str, list[int]], list[str | None], set[str], list[str], int]:
    """Rows by parallel group, for the recipes that keep or deal whole groups.

    Returns ``(groups, members, out, required, candidates, incomplete)``: each row's group id,
    group -> row indices, the per-row reasons so far (rows without a group id are rejected;
    with ``complete_groups`` so are the rows of a group lacking a required language), the
    required languages (``--languages``, else every language among the grouped rows), the
    groups still in play in first-seen order, and how many groups were incomplete."""
    key = cfg.group_key
    groups = [meta_value(m, key) for m in cols.meta()]
    members: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        if g is not None:
            members[g].append(i)
    out: list[str | None] = [None if g is not None else f"no parallel-group id (meta.{key})" for g in groups]
    required = set(cfg.languages) or {cols.languages[i] for idx in members.values() for i in idx}
    required.discard(None)
    candidates: list[str] = []
    incomplete = 0
    for g, idx in members.items():
        missing = required - {cols.languages[i] for i in idx}
        if missing and cfg.complete_groups:
            incomplete += 1
            reason = _lacks(g, missing)  # type: ignore[arg-type]
            for i in idx:
                out[i] = reason
        else:
            candidates.append(g)
    return groups, members, out, required, candidates, incomplete  # type: ignore[return-value]


def _seeded_order(seed: int, items: list[str]) -> np.ndarray:
    """Positions of ``items`` by their seeded keys, smallest first."""
    return np.argsort(key_array(seed, items), kind="stable")


def _seeded_first(seed: int, items: list[str], n: int) -> set[str]:
    """The ``n`` items with the smallest seeded keys (all of them when there are fewer)."""
    if n >= len(items):
        return set(items)
    return {items[j] for j in _seeded_order(seed, items)[:n]}


class ParallelSampled(RecipeStep):
    """From a parallel set, every item exactly once, in one language drawn evenly.

    Lima-X's ENDEFRITES-sampled (arXiv 2402.13703): the mixture is as large as one
    monolingual set, yet holds every language. Groups are put in seeded order and dealt to
    the languages in turn, so the language counts differ by at most one; a group dealt a
    language it lacks (``--no-complete-groups``) takes the next one it has. The summary's
    ``items_in_two_languages`` counts groups kept in more than one language: always 0, the
    proof the manifest carries.
    """

    name = "parallel_sampled"

    def decide(self, cols: _Columns) -> list[str | None]:
        groups, members, out, required, candidates, incomplete = _parallel_groups(cols, self.cfg)
        order = sorted(required)  # type: ignore[type-var]
        dealt: Counter = Counter()
        kept_per_group: Counter = Counter()
        if candidates:
            ranked = np.argsort(key_array(self.cfg.seed, candidates), kind="stable")
            for pos, j in enumerate(ranked):
                g = candidates[j]
                have = {cols.languages[i] for i in members[g]}
                lang = next(
                    (
                        order[(pos + k) % len(order)]
                        for k in range(len(order))
                        if order[(pos + k) % len(order)] in have
                    ),
                    None,
                )
                chosen = next((i for i in members[g] if cols.languages[i] == lang), None)
                for i in members[g]:
                    if i == chosen:
                        dealt[lang] += 1
                        kept_per_group[g] += 1
                    else:
                        out[i] = f"parallel-sampled: group {g} is kept in {lang} only"
        self._summary = {
            "groups": len(members),
            "incomplete_groups": incomplete,
            "kept_groups": len(kept_per_group),
            "per_language": dict(sorted(dealt.items())),
            "items_in_two_languages": sum(n > 1 for n in kept_per_group.values()),
            "rows_without_group": sum(g is None for g in groups),
            "languages_required": order,
        }
        return out


class SourceTake(RecipeStep):
    """Combine sources with fixed counts or shares (``--take SOURCE=N`` / ``SOURCE=0.25``).

    Tagengo's experiments add 669 Japanese pairs and 6,000 English pairs to its set: here a
    source's rows (the records' ``source`` field) are cut to a seeded sample of whole items
    (parallel groups, or rows); sources not named pass whole. A named source that is absent
    is reported in the summary (``missing_sources``)."""

    name = "take"

    def decide(self, cols: _Columns) -> list[str | None]:
        table = self.cfg.take_table()
        sources = cols.sources()
        items = cols.items(self.cfg.group_key)
        by_source: dict[str, list[str]] = defaultdict(list)
        for src, item in zip(sources, items, strict=True):
            if src in table:
                by_source[src].append(item)
        keep: dict[str, set[str]] = {}
        summary: dict[str, Any] = {"sources": {}}
        for src, amount in table.items():
            distinct = list(dict.fromkeys(by_source.get(src, [])))
            n = int(amount) if amount >= 1 else round(amount * len(distinct))
            keep[src] = _seeded_first(self.cfg.seed, distinct, n)
            summary["sources"][src] = {"items": len(distinct), "asked": amount, "kept_items": len(keep[src])}
            if len(distinct) < n:
                summary.setdefault("short_sources", {})[src] = len(distinct)
        if missing := sorted(s for s in table if not by_source.get(s)):
            summary["missing_sources"] = missing
        self._summary = summary
        out: list[str | None] = []
        for src, item in zip(sources, items, strict=True):
            if src in keep and item not in keep[src]:
                amount = table[src]
                what = f"{int(amount):,} items" if amount >= 1 else f"a {amount:g} share"
                out.append(f"take: not in the seeded sample of {what} of source {src}")
            else:
                out.append(None)
        return out


class DownSample(RecipeStep):
    """Cut the mixture to ``--size`` items, a seeded sample of whole parallel groups
    (Bactrian-X-small: 1,030 items); a row without a group is an item of its own.

    The key is the item's (``item_id``), not the recipe's, so on a parallel set every recipe
    keeps the same groups. After most recipes the step samples what the recipe kept; before
    ``parallel-sampled`` (``groups_only``) it draws from the groups that recipe will deal, so
    the dealing is even over exactly the groups written (dealing first and cutting after
    would leave the languages uneven)."""

    name = "size"

    def __init__(self, cfg: MixConfig, *, groups_only: bool = False) -> None:
        super().__init__(cfg)
        self.groups_only = groups_only

    def decide(self, cols: _Columns) -> list[str | None]:
        n = self.cfg.size
        assert n is not None
        if self.groups_only:
            return self._groups_only(cols, n)
        items = cols.items(self.cfg.group_key)
        distinct = list(dict.fromkeys(items))
        keep = _seeded_first(self.cfg.seed, distinct, n)
        self._summary = {"items": len(distinct), "kept_items": len(keep), "size": n}
        reason = f"size: not in the seeded sample of {n:,} of {len(distinct):,} items"
        return [None if item in keep else reason for item in items]

    def _groups_only(self, cols: _Columns, n: int) -> list[str | None]:
        # Rows without a group and rows of incomplete groups are left to the recipe, which
        # rejects them with its own reasons.
        _, members, _, _, candidates, _ = _parallel_groups(cols, self.cfg)
        pool = [item_id(g, "") for g in candidates]
        keep = _seeded_first(self.cfg.seed, pool, n)
        reason = f"size: not in the seeded sample of {n:,} of {len(pool):,} items"
        out: list[str | None] = [None] * len(cols.ids)
        for g, item in zip(candidates, pool, strict=True):
            if item not in keep:
                for i in members[g]:
                    out[i] = reason
        self._summary = {
            "items": len(pool),
            "kept_items": len(keep),
            "size": n,
            "drawn_from": "parallel groups",
        }
        return out


class ItemSet(RecipeStep):
    """Drops nothing: puts in the manifest which items the mixture holds, so two mixes can be
    shown to draw from the same ones (mono-de and ENDEFRITES of one parallel set).

    ``items_sha256`` is the SHA-256 of the sorted item ids (``group:<id>``, ``row:<id>``; see
    ``item_id``) joined by newlines; ``rows_per_language`` counts the rows written."""

    name = "item_set"

    def decide(self, cols: _Columns) -> list[str | None]:
        items = sorted(set(cols.items(self.cfg.group_key)))
        groups = sum(item.startswith("group:") for item in items)
        self._summary = {
            "items": len(items),
            "parallel_groups": groups,
            "rows_without_group": len(items) - groups,
            "items_sha256": hashlib.sha256("\n".join(items).encode()).hexdigest(),
            "rows_per_language": dict(
                sorted(Counter(lang or NO_LANGUAGE for lang in cols.languages).items())
            ),
        }
        return [None] * len(cols.ids)


def build_steps(cfg: MixConfig) -> list[Step]:
    """The steps of a recipe, in order: complete groups, languages, per-source take, the
    recipe, size (before the recipe for parallel-sampled), item set."""
    steps: list[Step] = [CompleteGroups(cfg)] if cfg.complete_groups else []
    steps.append(LanguageSelect(cfg))
    if cfg.take:
        steps.append(SourceTake(cfg))
    if cfg.recipe == "parallel":
        steps.append(ParallelGroups(cfg))
    elif cfg.recipe == "parallel-sampled":
        if cfg.size is not None:
            steps.append(DownSample(cfg, groups_only=True))
        steps.append(ParallelSampled(cfg))
    elif cfg.recipe == "sampled" or cfg.per_language is not None:
        steps.append(LanguageSample(cfg))
    if cfg.size is not None and cfg.recipe != "parallel-sampled":
        steps.append(DownSample(cfg))
    steps.append(ItemSet(cfg))
    return steps
