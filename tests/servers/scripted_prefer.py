"""A scripted OpenAI-compatible server for `tagengo prefer`'s tests and benchmark: it plays both
the answering models and the ranking judge, over real HTTP (the scripted judge server's
machinery), with replies chosen here.

Answering models are told apart by their system prompt (``ROLE=best`` / ``ROLE=weak`` /
``ROLE=plain``, set with the model spec's ``system_prompt``):

* best: ``BEST`` and a sentence in the prompt's language;
* weak: ``WEAK`` and an English sentence, whatever the prompt's language;
* plain: a sentence in the prompt's language.

The judge (a request with tagengo's ranking prompt) ranks answers holding ``BEST`` first, then
plain ones (tied), then ``WEAK`` ones, with one reason per answer. Control words in the prompt:
``GARBLE-ONCE``: the first reply has no ranking line, the re-ask gets a valid one;
``GARBLE-ALWAYS``: no reply ever has one.

    python tests/servers/scripted_prefer.py --port 8012 --latency 0.2   # prints its URL, serves until killed
"""

from __future__ import annotations

import re

try:
    from servers.loopback import run_as_script
    from servers.scripted_judge import ScriptedJudgeServer
except ModuleNotFoundError:  # run as a script: its folder is on sys.path
    from loopback import run_as_script
    from scripted_judge import ScriptedJudgeServer

from tagengo.llm.ranking_prompts import JUDGE_SYSTEM

SENTENCES = {
    "en": "This is a careful answer to your question, written in plain and simple English words.",
    "de": "Das ist eine sorgfältige Antwort auf deine Frage, geschrieben in einfachen deutschen Worten.",
    "fr": "Voici une réponse soignée à votre question, écrite avec des mots français simples et clairs.",
    "ja": "これはあなたの質問に対する丁寧な回答です。簡単な日本語の言葉で書かれています。",
}
_ANSWER = re.compile(r"\[Answer ([A-Z])\]\n(.*?)\n\[End of answer \1\]", re.DOTALL)
_JUDGE_MARK = JUDGE_SYSTEM.split("{")[0][:60]


def score(answer: str) -> int:
    return 2 if "BEST" in answer else 0 if "WEAK" in answer else 1


def judge_reply(messages: list[dict[str, str]]) -> str:
    first_user = next(m["content"] for m in messages if m["role"] == "user")
    asked_again = any(m["role"] == "assistant" for m in messages)
    if "GARBLE-ALWAYS" in first_user or ("GARBLE-ONCE" in first_user and not asked_again):
        return "All of these answers look fine to me; the first one is perhaps the best."
    answers = dict(_ANSWER.findall(first_user))
    tiers: dict[int, list[str]] = {}
    for label in sorted(answers):
        tiers.setdefault(score(answers[label]), []).append(label)
    ranking = ">".join("=".join(tiers[s]) for s in sorted(tiers, reverse=True))
    reasons = "\n".join(
        f"{label}: {['weak', 'adequate', 'thorough'][score(a)]}." for label, a in sorted(answers.items())
    )
    return f"{reasons}\nRanking: {ranking}"


def language_of(text: str) -> str:
    for code, word in (("de", "Wetter"), ("fr", "Bonjour"), ("ja", "天気")):
        if word in text:
            return code
    return "en"


def reply(messages: list[dict[str, str]]) -> str:
    """The scripted server's whole behaviour: judge or one of the answering roles."""
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    if system.startswith(_JUDGE_MARK):
        return judge_reply(messages)
    user = messages[-1]["content"]
    sentence = SENTENCES[language_of(user)]
    if "ROLE=best" in system:
        return f"BEST {sentence}"
    if "ROLE=weak" in system:
        return f"WEAK {SENTENCES['en']}"
    return sentence


def main(argv: list[str] | None = None) -> None:
    run_as_script(
        lambda **kw: ScriptedJudgeServer(reply, **kw),
        "scripted answering models and ranking judge for tagengo prefer",
        lambda url: f"scripted prefer server at {url} (Ctrl-C to stop)",
        port=8012,
        argv=argv,
    )


if __name__ == "__main__":
    main()
