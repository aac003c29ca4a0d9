"""Judge prompts in FastChat's ``judge_prompts.jsonl`` shape, and which one judges what.

A prompt row has ``name``, ``type`` (``single`` or ``pairwise``), ``system_prompt``,
``prompt_template`` (a ``str.format`` template), ``description``, ``category`` and
``output_format`` (``[[rating]]``, ``[[A]]``, ``[[rating_a,rating_b]]``, or a translated label
such as ``[[Bewertung]]``). tagengo adds one optional field, ``language_criterion``: a sentence
with a ``{language}`` slot that marks the prompt as one that takes a language sentence (the
Tagengo paper's judge sentence), appended to the system prompt when the language-fidelity check
is on. FastChat ignores the extra field.

The sentence comes in named wordings (:data:`LANGUAGE_WORDINGS`, ours), because the wording
moves the numbers: ``strict`` says a reply in the wrong language, or in a language that is not
fluent and natural, has failed whatever its content; ``consider`` asks the judge to weigh the
language, its fluency and naturalness as one more factor (the sense of the Tagengo fork's
prompts). Each verdict records the wording that produced it (:meth:`JudgePrompt.wording`).

Every judging situation has a *role*; FastChat's prompt names map onto them, and for other
files (translated sets, our own) the role is read from the row: its type, whether the template
has a reference slot (``{ref_answer_1}``) and whether it is multi-turn (``{question_2}``).

| role | FastChat name | placeholders |
| --- | --- | --- |
| single | single-v1 | question, answer |
| single-ref | single-math-v1 | question, ref_answer_1, answer |
| single-multi | single-v1-multi-turn | question_1, answer_1, question_2, answer_2 |
| single-ref-multi | single-math-v1-multi-turn | + ref_answer_1, ref_answer_2 |
| pair | pair-v2 | question, answer_a, answer_b |
| pair-ref | pair-math-v1 | question, ref_answer_1, answer_a, answer_b |
| pair-multi | pair-v2-multi-turn | question_1, question_2, answer_a_1, answer_a_2, answer_b_1, answer_b_2 |
| pair-ref-multi | pair-math-v1-multi-turn | + ref_answer_1, ref_answer_2 |
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from tagengo.errors import ConfigError, InputError
from tagengo.io.fastchat import iter_jsonl, require_fields, write_jsonl

ROLES = (
    "single",
    "single-ref",
    "single-multi",
    "single-ref-multi",
    "pair",
    "pair-ref",
    "pair-multi",
    "pair-ref-multi",
)

FASTCHAT_NAMES = {
    "single-v1": "single",
    "single-math-v1": "single-ref",
    "single-v1-multi-turn": "single-multi",
    "single-math-v1-multi-turn": "single-ref-multi",
    "pair-v2": "pair",
    "pair-math-v1": "pair-ref",
    "pair-v2-multi-turn": "pair-multi",
    "pair-math-v1-multi-turn": "pair-ref-multi",
}

#: The placeholders each role's template is filled with (what FastChat passes to .format()).
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "single": ("question", "answer"),
    "single-ref": ("question", "answer", "ref_answer_1", "ref_answer_2"),
    "single-multi": ("question_1", "question_2", "answer_1", "answer_2"),
    "single-ref-multi": ("question_1", "question_2", "answer_1", "answer_2", "ref_answer_1", "ref_answer_2"),
    "pair": ("question", "answer_a", "answer_b"),
    "pair-ref": ("question", "answer_a", "answer_b", "ref_answer_1", "ref_answer_2"),
    "pair-multi": ("question_1", "question_2", "answer_a_1", "answer_a_2", "answer_b_1", "answer_b_2"),
    "pair-ref-multi": (
        "question_1",
        "question_2",
        "answer_a_1",
        "answer_a_2",
        "answer_b_1",
        "answer_b_2",
        "ref_answer_1",
        "ref_answer_2",
    ),
}

_KNOWN_FIELDS = (
    "name",
    "type",
    "system_prompt",
    "prompt_template",
    "description",
    "category",
    "output_format",
    "language_criterion",
)


#: The named wordings of the language sentence, per prompt kind (written for this project).
#: ``strict`` is the sentence tagengo's own prompt file carries.
LANGUAGE_WORDINGS: dict[str, dict[str, str]] = {
    "strict": {
        "single": "Language: the user wrote in {language}. A reply that is not written in {language}, or "
        "whose {language} is not fluent and natural, has failed the user whatever its content: grade it low.",
        "pair": "Language: the user wrote in {language}. A reply that is not written in {language}, or whose "
        "{language} is not fluent and natural, must lose to one that is.",
    },
    "consider": {
        "single": "Language: the user wrote in {language}. Besides the points above, also weigh whether the "
        "reply is written in {language} and how fluent and natural its {language} is.",
        "pair": "Language: the user wrote in {language}. Besides the points above, also weigh whether each "
        "reply is written in {language} and how fluent and natural its {language} is.",
    },
}
LanguageWording = Literal["strict", "consider"]
DEFAULT_WORDING: LanguageWording = "strict"
#: What a verdict records when no named sentence was appended: the prompt has no language
#: sentence slot and was sent as its file wrote it (FastChat's, MT-Bench-X's, the Tagengo fork's),
#: or the language check was off (``--no-language-check``, or the bench's language is unknown).
WORDING_AS_WRITTEN = "as written"
WORDING_OFF = "off"


def role_for(kind: str, *, ref: bool, multi: bool) -> str:
    """'single' / 'pair' plus the two switches -> a role name."""
    base = "single" if kind == "single" else "pair"
    return base + ("-ref" if ref else "") + ("-multi" if multi else "")


def _template_fields(template: str, where: str) -> set[str]:
    try:
        return {f for _, f, _, _ in string.Formatter().parse(template) if f}
    except ValueError as e:
        raise InputError(f"{where}: field 'prompt_template' is not a valid format template ({e})") from None


@dataclass(slots=True)
class JudgePrompt:
    name: str
    type: str  # "single" or "pairwise"
    system_prompt: str
    prompt_template: str
    output_format: str
    description: str = ""
    category: str = ""
    language_criterion: str | None = None
    source: str = ""  # file:line, for error messages
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "single" if self.type == "single" else "pair"

    @property
    def role(self) -> str:
        if self.name in FASTCHAT_NAMES:
            return FASTCHAT_NAMES[self.name]
        used = _template_fields(self.prompt_template, self.source)
        multi = bool(used & {"question_2", "answer_2", "answer_a_2", "answer_b_2"})
        return role_for(self.kind, ref=bool(used & {"ref_answer_1", "ref_answer_2"}), multi=multi)

    def render(self, values: dict[str, str]) -> str:
        """Fill the template like FastChat (``str.format``); a slot we do not fill is an error."""
        try:
            return self.prompt_template.format_map(_Strict(values))
        except KeyError as e:
            raise InputError(
                f"judge prompt '{self.name}' ({self.source}) uses the placeholder {{{e.args[0]}}}, which is "
                f"not one of {', '.join(PLACEHOLDERS[self.role])}"
            ) from None
        except (ValueError, IndexError) as e:
            raise InputError(f"judge prompt '{self.name}' ({self.source}): bad template ({e})") from None

    def wording(
        self, language_name: str | None, *, language_check: bool = True, wording: str = DEFAULT_WORDING
    ) -> str:
        """Which language sentence :meth:`system` appends with these settings: a name of
        :data:`LANGUAGE_WORDINGS`, :data:`WORDING_OFF` (check off or language unknown) or
        :data:`WORDING_AS_WRITTEN` (the prompt takes no sentence: its own text is all)."""
        if not language_check or not language_name:
            return WORDING_OFF
        if not self.language_criterion:
            return WORDING_AS_WRITTEN
        if wording not in LANGUAGE_WORDINGS:
            raise ConfigError(
                f"language wording '{wording}' is unknown; wordings are {', '.join(LANGUAGE_WORDINGS)}"
            )
        return wording

    def system(
        self, language_name: str | None = None, *, language_check: bool = True, wording: str = DEFAULT_WORDING
    ) -> str:
        """The system prompt, with the language-fidelity sentence in the named ``wording``
        appended when the check is on, the language known and the prompt takes a sentence (its
        row has a ``language_criterion``; the named wording replaces the row's own text)."""
        used = self.wording(language_name, language_check=language_check, wording=wording)
        if used not in LANGUAGE_WORDINGS:
            return self.system_prompt
        assert language_name is not None
        sentence = LANGUAGE_WORDINGS[used][self.kind].replace("{language}", language_name)
        return (self.system_prompt.rstrip() + "\n\n" + sentence).strip()

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "system_prompt": self.system_prompt,
            "prompt_template": self.prompt_template,
            "description": self.description,
            "category": self.category,
            "output_format": self.output_format,
        }
        if self.language_criterion is not None:
            d["language_criterion"] = self.language_criterion
        d.update(self.extra)
        return d


class _Strict(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


#: The fields a judge prompt row must have, most fundamental first (FastChat's judge_prompts.jsonl).
_PROMPT_FIELDS = (
    ("name", "a string such as 'single-v1'"),
    ("type", "'single' or 'pairwise'"),
    ("prompt_template", "a format string"),
    ("output_format", "a string such as '[[rating]]'"),
)


def read_judge_prompts(path: Path) -> list[JudgePrompt]:
    """Read a ``judge_prompts.jsonl`` (FastChat's, a translated one, or ours)."""
    path = Path(path)
    out: list[JudgePrompt] = []
    names: dict[str, int] = {}
    for n, obj in iter_jsonl(path):
        where = f"{path}:{n}"
        require_fields(obj, where, _PROMPT_FIELDS)
        for key, _ in _PROMPT_FIELDS:
            if not isinstance(obj[key], str):
                raise InputError(f"{where}: field '{key}' should be a string, got {type(obj[key]).__name__}")
        if obj["type"] not in ("single", "pairwise"):
            raise InputError(f"{where}: field 'type' should be 'single' or 'pairwise', got {obj['type']!r}")
        system = obj.get("system_prompt", "")
        if not isinstance(system, str):
            raise InputError(f"{where}: field 'system_prompt' should be a string")
        crit = obj.get("language_criterion")
        if crit is not None and not isinstance(crit, str):
            raise InputError(f"{where}: field 'language_criterion' should be a string")
        if obj["name"] in names:
            raise InputError(f"{where}: field 'name' {obj['name']!r} repeats line {names[obj['name']]}")
        names[obj["name"]] = n
        p = JudgePrompt(
            name=obj["name"],
            type=obj["type"],
            system_prompt=system,
            prompt_template=obj["prompt_template"],
            output_format=obj["output_format"],
            description=str(obj.get("description", "")),
            category=str(obj.get("category", "")),
            language_criterion=crit,
            source=where,
            extra={k: v for k, v in obj.items() if k not in _KNOWN_FIELDS},
        )
        unknown = _template_fields(p.prompt_template, where) - set(PLACEHOLDERS[p.role])
        if unknown:
            raise InputError(
                f"{where}: field 'prompt_template' of '{p.name}' uses {', '.join(sorted(unknown))}, "
                f"which a {p.role} prompt is not given (it gets {', '.join(PLACEHOLDERS[p.role])})"
            )
        out.append(p)
    if not out:
        raise InputError(f"{path}: no judge prompts in file")
    return out


def write_judge_prompts(path: Path, prompts: list[JudgePrompt]) -> int:
    return write_jsonl(path, (p.to_dict() for p in prompts))


def default_prompts_path() -> Path:
    """tagengo's own prompts (written for this project), shipped as package data."""
    return Path(str(resources.files("tagengo") / "data" / "bench" / "judge_prompts.jsonl"))


@dataclass(slots=True)
class PromptSet:
    """One prompt per role, chosen from a prompts file."""

    by_role: dict[str, JudgePrompt]
    path: Path

    @classmethod
    def load(cls, path: Path | None = None, choose: dict[str, str] | None = None) -> PromptSet:
        """Read ``path`` (our defaults when None). ``choose`` maps role -> prompt name where a file
        has several candidates; otherwise FastChat's names win, then the first row of a role."""
        path = Path(path) if path is not None else default_prompts_path()
        prompts = read_judge_prompts(path)
        by_name = {p.name: p for p in prompts}
        by_role: dict[str, JudgePrompt] = {}
        for p in prompts:
            role = p.role
            current = by_role.get(role)
            if current is None or (p.name in FASTCHAT_NAMES and current.name not in FASTCHAT_NAMES):
                by_role[role] = p
        for role, name in (choose or {}).items():
            if role not in ROLES:
                raise ConfigError(f"judge prompt role '{role}' is unknown; roles are {', '.join(ROLES)}")
            if name not in by_name:
                raise ConfigError(f"{path}: no judge prompt named '{name}' (have {', '.join(by_name)})")
            if by_name[name].role != role:
                raise ConfigError(
                    f"{path}: judge prompt '{name}' is a {by_name[name].role} prompt, not {role}"
                )
            by_role[role] = by_name[name]
        return cls(by_role, path)

    def get(self, role: str) -> JudgePrompt | None:
        return self.by_role.get(role)

    def require(self, role: str, why: str) -> JudgePrompt:
        p = self.by_role.get(role)
        if p is None:
            raise ConfigError(
                f"{self.path} has no {role} judge prompt, needed for {why}; "
                f"it has: {', '.join(f'{r} ({q.name})' for r, q in self.by_role.items())}"
            )
        return p


# What we say when a reply has no readable verdict. Ours, in English: judges follow an English
# instruction about the format even when the material is in another language.
REASK_SINGLE = (
    "I could not find a valid grade in your reply. Reply again with only the grade: a number "
    "from 1 to 10 in double square brackets, for example [[6]]."
)
REASK_PAIR = (
    "I could not find a valid verdict in your reply. Reply again with only the verdict: [[A]] if "
    "assistant A is better, [[B]] if assistant B is better, or [[C]] for a tie."
)
REASK_TWO_SCORE = (
    "I could not find valid scores in your reply. Reply again with only the two scores, for "
    "assistant A then assistant B, each from 1 to 10, for example [[7, 4]]."
)
