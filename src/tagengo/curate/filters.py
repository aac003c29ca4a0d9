"""The curation steps of Tagengo (arXiv 2405.12612, section 3.1), one small class each.

Every filter looks at the first user turn (``Record.first_user()``), the prompt that is kept.
Reasons are written for people reading ``rejected/``: they say what matched.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from tagengo.curate.config import (
    AnonymisedConfig,
    LangIDConfig,
    LengthConfig,
    ModelMentionsConfig,
    ModerationConfig,
    UnknownLanguageConfig,
)
from tagengo.invisible import is_invisible
from tagengo.io.shape import normalise_turns
from tagengo.lang.langid import Prediction
from tagengo.records import NO_LANGUAGE, Record
from tagengo.run.steps import BatchFilter, Filter, Mapper

if TYPE_CHECKING:
    from tagengo.lang.verdict import Verdict


class FirstPrompt(Mapper):
    """Keep the first user turn (and any system turn before it) as the record's messages. The
    reader already dropped any other turn before it (an assistant greeting), counted in ``meta``
    (tagengo.io.shape); applied again here for records built by hand.

    The logged response (the first assistant turn after it) and the number of turns move to
    ``meta``: the length step counts them, and users may want them later.
    """

    name = "first_prompt"

    def map(self, row: Record) -> Record:
        msgs = row.messages = normalise_turns(row.messages, row.meta)
        if len(msgs) == 2 and msgs[0]["role"] == "user" and msgs[1]["role"] == "assistant":
            # A prompt and its answer, most logs' rows: what the general case below finds,
            # without its three generators (this runs on every row).
            row.meta["logged_response"] = msgs[1]["content"]
            row.meta["source_turns"] = 1
            row.messages = msgs[:1]
            return row
        i = next(i for i, m in enumerate(msgs) if m["role"] == "user")
        response = next((m["content"] for m in msgs[i + 1 :] if m["role"] == "assistant"), None)
        row.meta["logged_response"] = response
        row.meta["source_turns"] = sum(m["role"] == "user" for m in msgs)
        row.messages = msgs[: i + 1]  # only system turns precede the prompt once normalised
        return row


class ModerationFilter(Filter):
    """Step 1: drop a prompt whose first-turn moderation entry is flagged or has a category set."""

    name = "moderation"

    def __init__(self, cfg: ModerationConfig) -> None:
        self.cfg = cfg

    def keep(self, row: Record) -> tuple[bool, str]:
        # WildChat's own moderation (io/formats.py keeps it in meta): its conversation-level
        # 'toxic' flag and its per-turn Detoxify verdicts weigh as LMSYS's OpenAI entries do.
        if row.meta.get("toxic") is True:
            return False, "moderation: flagged by the source's 'toxic' field"
        detox = row.meta.get("detoxify_moderation")
        if detox and detox.get("flagged"):
            cats = ", ".join(detox.get("categories") or []) or "no category given"
            return False, f"moderation: flagged by 'detoxify_moderation' ({cats})"
        mod = row.meta.get("moderation")
        if not mod:
            return True, ""
        if mod.get("flagged"):
            cats = ", ".join(mod.get("categories") or []) or "no category given"
            return False, f"moderation: flagged ({cats})"
        if self.cfg.categories and mod.get("categories"):
            return False, f"moderation: categories set though not flagged ({', '.join(mod['categories'])})"
        return True, ""


class UnknownLanguageFilter(Filter):
    """Step 2: drop rows labelled with a 'no language' label (or an empty one)."""

    name = "unknown_language"

    def __init__(self, cfg: UnknownLanguageConfig) -> None:
        self.cfg = cfg
        self._labels = {label.strip().lower() for label in cfg.labels}

    def keep(self, row: Record) -> tuple[bool, str]:
        label = row.meta.get("language_label")
        if label is None:  # the format has no labels: language ID assigns one later
            return True, ""
        norm = label.strip().lower()
        if not norm:
            return False, "no language label"
        if norm in self._labels:
            return False, f"language label '{label}' means no language"
        if row.language is None:
            from tagengo.lang.languages import is_unknown_label

            if is_unknown_label(label):
                return False, f"language label '{label}' means no language"
            if self.cfg.drop_unmapped:
                return False, f"language label '{label}' is not in the language table (see docs/languages.md)"
        return True, ""


class AnonymisedFilter(Filter):
    """Step 3: drop prompts carrying anonymisation placeholders (LMSYS writes NAME_1, NAME_2 …)."""

    name = "anonymised"

    def __init__(self, cfg: AnonymisedConfig) -> None:
        self.cfg = cfg
        self._pattern = re.compile("|".join(f"(?:{p})" for p in cfg.patterns)) if cfg.patterns else None
        # A text holding none of the patterns' fixed pieces ("NAME_") cannot match: a substring
        # test settles it at a twentieth of the regex's cost. None: some pattern has no such piece.
        needles = [_needed_literal(p) for p in cfg.patterns]
        self._needles = None if None in needles else needles

    def keep(self, row: Record) -> tuple[bool, str]:
        text = row.first_user()
        if self.cfg.mode == "substring":
            # tagengo-2024: any 'name' substring, so "username" and "rename" go too.
            return ("name" not in text.lower(), "anonymised: contains 'name' (tagengo-2024 substring rule)")
        if self._pattern is None or (self._needles is not None and not any(n in text for n in self._needles)):
            return True, ""
        if m := self._pattern.search(text):
            return False, f"anonymised: placeholder '{m.group(0)}'"
        return True, ""


def _needed_literal(pattern: str) -> str | None:
    """Text that every match of ``pattern`` holds: the plain characters it starts with, after
    any leading assertions (``NAME_`` of ``(?<![A-Za-z0-9_])NAME_\\d+``). None when it starts
    otherwise, ignores case, or Python's parser (a private module) cannot say."""
    try:
        from re import _parser

        parsed = _parser.parse(pattern)
        if parsed.state.flags & re.IGNORECASE:
            return None
        chars: list[str] = []
        for op, arg in parsed:
            name = str(op)
            if name == "LITERAL":
                chars.append(chr(arg))
            elif chars or name not in ("AT", "ASSERT", "ASSERT_NOT"):
                break
    except Exception:  # another Python's parser: no shortcut, the regex decides alone
        return None
    return "".join(chars) if len(chars) >= 2 else None


class ModelMentionFilter(Filter):
    """Step 4: drop prompts that mention a model name (they ask about a model, not a task)."""

    name = "model_mentions"

    def __init__(self, cfg: ModelMentionsConfig) -> None:
        self.cfg = cfg
        names = sorted({n.lower() for n in cfg.names}, key=len, reverse=True)
        alternation = "|".join(re.escape(n) for n in names)
        # "word": the name must not touch another Latin letter. Digits, punctuation and other
        # scripts may touch it, so "llama2", "gpt-4", "vicuna13b" and "用chatgpt写" match while
        # "llamada" and "Claudette" do not.
        latin = "a-z\u00c0-\u024f"
        self._word = re.compile(rf"(?<![{latin}])(?:{alternation})(?![{latin}])") if names else None
        self._names = names

    def keep(self, row: Record) -> tuple[bool, str]:
        text = row.first_user().lower()
        if self.cfg.match == "substring":
            for n in self._names:
                if n in text:
                    return False, f"model mention: '{n}' (substring)"
            return True, ""
        # Only a text holding a name can match the word regex (substring tests cost half of it).
        if self._word is not None and any(n in text for n in self._names) and (m := self._word.search(text)):
            return False, f"model mention: '{m.group(0)}'"
        return True, ""


class LanguageIDFilter(BatchFilter):
    """Step 5: keep a row only when language ID agrees with its labelled language.

    lid.176 reads the prompt with code, URLs and (``strip_technical``) identifiers and math left
    out, a mostly upper-case prompt in small letters (``fold_case``). ``group`` rule (default): the label matches when the probabilities of its near-language
    group (Indonesian+Malay, Chinese+Wu+Cantonese, Norwegian bokmål+nynorsk …) reach the
    threshold. ``exact`` (tagengo-2024): the top label must equal the row's language.
    When the top label agrees with the label but is unsure, ``agree_threshold`` is enough (the
    label is a prior). Rows still unsettled, unless fastText is sure of another language
    (``trust_other_above``), get a second opinion from lingua (``second_opinion``), which chooses
    between the label and fastText's top labels. Rows without a label get the detected
    language when it is confident.
    """

    name = "language_id"

    def __init__(self, cfg: LangIDConfig) -> None:
        self.cfg = cfg
        self._lid = None
        self._second = None
        self._stats: dict[str, Counter] = {}

    def setup(self) -> None:
        from tagengo.lang.langid import LanguageIdentifier, SecondOpinion

        if self._lid is None:  # idempotent: forked workers inherit the parent's model
            self._lid = LanguageIdentifier(self.cfg.model_path)
        if self._second is None and self.cfg.second_opinion != "none":
            self._second = SecondOpinion(low_accuracy=self.cfg.second_opinion == "lingua-low-accuracy")

    @contextlib.contextmanager
    def shared_by_workers(self) -> Iterator[None]:
        """While the runner's forked workers run: lingua in one server process that they all ask
        (:class:`~tagengo.lang.langid.SharedSecondOpinion`), so each lingua model is loaded
        once per run, not once per worker. Answers are the same."""
        from tagengo.lang.langid import SecondOpinion, SharedSecondOpinion

        own = self._second
        if not isinstance(own, SecondOpinion):
            yield
            return
        with SharedSecondOpinion(own) as shared:
            self._second = shared
            try:
                yield
            finally:
                self._second = own

    def _passes(self, score: float) -> bool:
        return score > self.cfg.threshold if self.cfg.strict else score >= self.cfg.threshold

    def keep_batch(self, batch: Sequence[Record]) -> list[tuple[bool, str]]:
        from tagengo.lang.langid import detector_text
        from tagengo.lang.verdict import PendingVerdict, expect_deferred

        if self._lid is None:
            self.setup()
        lid = self._lid
        cfg = self.cfg
        # Two passes. The first reads every labelled row with lid.176 and sends the rows it cannot
        # settle to the second opinion without waiting (lingua's server may be loading a model
        # for one: 0.3-0.7 s that the worker used to sit out). The second decides every row in
        # batch order, reading those answers: meta, reasons and the tallies come out as they did
        # when each row waited for its answer.
        lines: list[str] = []
        verdicts: list[object] = []
        for row in batch:
            line = detector_text(row.first_user(), cfg.strip_code, cfg.strip_technical, cfg.fold_case)
            lines.append(line)
            if not line.strip() or row.language is None:
                verdicts.append(None)
                continue
            # One top-1 call settles most rows (the label is the top label); only the rest pay for
            # the top-k call, and those still unsettled for the second opinion.
            verdicts.append(
                expect_deferred(
                    line,
                    row.language,
                    identifier=lid,
                    prepared=True,  # the detector's line: no second pass over it
                    threshold=cfg.threshold,
                    strict=cfg.strict,
                    near=cfg.rule == "group",
                    k=cfg.top_k,
                    settle_on_top=True,
                    top_in_group=True,
                    agree_threshold=cfg.agree_threshold,
                    second_opinion=self._second,
                    second_opinion_min=cfg.second_opinion_min,
                    trust_other_above=cfg.trust_other_above,
                )
            )
        out: list[tuple[bool, str]] = []
        for row, line, verdict in zip(batch, lines, verdicts, strict=True):
            if not line.strip():  # lid.176 still answers for "" (en 0.12): name the real fault
                out.append((False, "language ID: the prompt is empty (no text to identify)"))
            elif verdict is None:
                out.append(self._assign(row, line))
            else:
                if isinstance(verdict, PendingVerdict):
                    verdict = verdict.settle()
                out.append(self._decide(row, verdict))
        return out

    def _assign(self, row: Record, line: str) -> tuple[bool, str]:
        """A row without a label gets the detected language when detection is confident."""
        from tagengo.lang.languages import near_group

        cfg = self.cfg
        lid = self._lid
        pred = lid.predict(line, 1)
        group_score = pred.score
        if cfg.rule == "group":
            pred = lid.predict(line, cfg.top_k)
            group_score = pred.group_score(near_group(pred.top))
        ok = cfg.assign_unlabelled and self._passes(group_score)
        self._note(row, pred, group_score, ok, frozenset({pred.top}))
        if ok:
            row.language = pred.top
            row.meta["language_from_lid"] = True
            return True, ""
        return False, f"language ID: no label and detection not confident ({pred.top} {group_score:.2f})"

    def _decide(self, row: Record, verdict: Verdict) -> tuple[bool, str]:
        """A labelled row's decision, its meta and tallies from lid.176's (and lingua's) verdict."""
        pred, score, group, how = verdict.prediction, verdict.score, verdict.group, verdict.kept_by
        assert pred is not None  # no min_letters: every line is read
        second = None
        if verdict.second_opinion is not None:
            second = verdict.second_opinion[0]
            row.meta["lid_second_opinion"] = second
            row.meta["lid_second_opinion_score"] = round(verdict.second_opinion[1], 4)
        if how:
            row.meta["lid_kept_by"] = how
        self._note(row, pred, score, verdict.ok, group, how)
        if verdict.ok:
            return True, ""
        reason = self._reason(row.language, group, pred, score)
        if second is not None:
            reason += f"; lingua: {second} {row.meta['lid_second_opinion_score']:.2f}"
        return False, reason

    def _reason(self, want: str, group: frozenset[str], pred: Prediction, score: float) -> str:
        if pred.top not in group:
            return f"language ID: labelled {want}, detected {pred.top} ({pred.score:.2f})"
        return f"language ID: {want} confidence {score:.2f} below {self.cfg.threshold}"

    def _note(
        self, row: Record, pred: Prediction, score: float, ok: bool, group: frozenset[str], how: str = ""
    ) -> None:
        row.meta["lid_label"] = pred.top
        row.meta["lid_score"] = round(pred.score, 4)
        if score != pred.score:
            row.meta["lid_group_score"] = round(score, 4)
        key = row.language or NO_LANGUAGE
        c = self._stats.get(key)
        if c is None:  # not setdefault: it would build a Counter for every row
            c = self._stats[key] = Counter()
        c["checked"] += 1
        if how:
            c[f"kept_by_{how}"] += 1
        if not ok:
            c["mismatch" if pred.top not in group else "low_confidence"] += 1

    def summary(self) -> dict:
        out = {"by_language": {lang: dict(c) for lang, c in self._stats.items()}}
        self._stats = {}
        return out


def _has_visible(text: str, n: int) -> bool:
    """``visible_length(text) >= n`` (tagengo.invisible), stopping at the n-th visible character:
    a prompt's first two characters usually settle it, where counting them all cost as much per
    row as the tokenizer's Python wrapper."""
    if n <= 0:
        return True
    seen = 0
    for ch in text:
        if not is_invisible(ch):
            seen += 1
            if seen >= n:
                return True
    return False


_COUNTED = {"prompt_and_response": "prompt + response", "prompt": "prompt", "conversation": "conversation"}


class LengthFilter(Filter):
    """Step 6: drop rows over the token limit (cl100k_base, as GPT-4 counts) or with an empty prompt."""

    name = "length"

    def __init__(self, cfg: LengthConfig) -> None:
        self.cfg = cfg
        self._counter = None

    def setup(self) -> None:
        from tagengo.lang.tokens import TokenCounter

        if self._counter is None:
            self._counter = TokenCounter(self.cfg.encoding)

    def _texts(self, row: Record) -> list[str]:
        prompt = row.first_user()
        if self.cfg.over == "prompt":
            return [prompt]
        if self.cfg.over == "conversation":
            return [m["content"] for m in row.messages] + [row.meta.get("logged_response") or ""]
        response = row.meta.get("logged_response")
        if response is None:  # keep=conversation: the response is still in messages
            response = next((m["content"] for m in row.messages if m["role"] == "assistant"), "")
        return [prompt, response]

    def keep(self, row: Record) -> tuple[bool, str]:
        if self._counter is None:
            self.setup()
        prompt = row.first_user()
        # Zero-width spaces, joiners, BOMs and the like show nothing: they are not a prompt.
        if not _has_visible(prompt, self.cfg.min_chars):
            return False, f"length: prompt has fewer than {self.cfg.min_chars} visible characters"
        texts = self._texts(row)
        if self.cfg.joined:
            n = self._counter.count(" ".join(texts))
        else:
            n = sum(self._counter.count(t) for t in texts)
        row.meta["tokens"] = n
        limit = self.cfg.max_tokens
        too_long = n >= limit if self.cfg.strict else n > limit
        if too_long:
            rel = "≥" if self.cfg.strict else ">"
            return False, f"length: {n} tokens {rel} {limit} ({_COUNTED[self.cfg.over]})"
        return True, ""
