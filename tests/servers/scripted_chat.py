"""A scripted OpenAI-compatible chat server for the tests and benchmarks of `tagengo reverse`
and `tagengo translate`.

It speaks the real protocol over real HTTP on 127.0.0.1 (POST /v1/chat/completions, the
usual ``choices`` / ``usage`` body) and answers by reading the request the way the stage
wrote it, so a test can steer the control flow exactly:

* a translation request (our translator's system prompt) is answered in the target language:
  a fixed sentence of that language repeated to about the source's length, then two of its
  words picked by a hash of the source (so that two different sources, like two turns of one
  conversation, get two different translations, as from a real translator), every ``⟦n⟧``
  marker copied, every number of the source's prose (``3``, ``1,000.5``) written after the
  sentences, in order, as a translator keeps them, and every control word of the source
  (``SCORE=2``, ``NOSCORE`` ...) kept;
* an instruction request is answered ``Instruction: Explain this topic ... <control words>``, in
  the language the request asks for (``Write it in German.``);
* a judge request is answered ``Reasoning: ... Score: N`` (FastChat's ``Rating: [[N]]`` when the
  request's model name ends in ``brackets``, as a judge used to MT-Bench writes).

Control words in a source text change the answers:

=============  ===========================================================================
``SCORE=k``    the judge gives k (default 4)
``NOSCORE``    the judge never names a score
``LATESCORE``  the judge names no score at first, then ``Score: 4`` when asked again
``NOINSTR``    the instruction writer answers with nothing, every time
``LATEINSTR``  it answers with nothing first, then properly when asked again
``DROPMARK``   the translator leaves out the first marker
``WRONGLANG``  the translator answers in English
``EMPTY``      the translator answers with nothing
``COPY``       the translator sends the source text back untranslated
``SAMETEXT``   the translator leaves out the words picked by the source's hash: every source of
               about one length comes back as the same text (a translator answering one turn
               with another's translation)
``BADNUM``     the translator changes the last number of the prose (adds 2: ``(3, 3)`` becomes
               ``(3, 5)``)
``BACKWRONG``  the instruction's back-translation comes back in English
``ITEM<n>``    no effect; kept through every answer, so that items of a benchmark make
               distinct requests (the client would otherwise send identical ones once)
=============  ===========================================================================

Run on its own (benchmarks): ``python tests/servers/scripted_chat.py --latency 0.2`` prints
``{"url": ...}`` on its first line and serves until killed.

``stats`` counts requests and completed answers per request hash (which is how a test
proves nothing finished was paid for twice); ``latency_s`` delays every answer.
"""

from __future__ import annotations

import json
import re
import zlib
from typing import Any

try:
    from servers.loopback import ScriptedOpenAIServer, run_as_script
except ModuleNotFoundError:  # run as a script (python tests/servers/NAME.py): its folder is on sys.path
    from loopback import ScriptedOpenAIServer, run_as_script

SENTENCES = {
    "en": "This is a careful translation of the original text into the English language.",
    "de": "Dies ist eine sorgfältige Übersetzung des ursprünglichen Textes in die deutsche Sprache.",
    "fr": "Ceci est une traduction soignée du texte original dans la langue française.",
    "it": "Questa è una traduzione accurata del testo originale nella lingua italiana.",
    "es": "Esta es una traducción cuidadosa del texto original a la lengua española.",
    "ja": "これは元の文章を日本語に丁寧に翻訳したものです。",
}
#: The instruction the writer answers, per language asked for.
INSTRUCTIONS = {
    "en": "Explain this topic to me in a few clear sentences.",
    "de": "Erkläre mir dieses Thema bitte in ein paar klaren Sätzen.",
    "fr": "Explique-moi ce sujet en quelques phrases claires, s'il te plaît.",
    "it": "Spiegami questo argomento in poche frasi chiare, per favore.",
    "es": "Explícame este tema en unas pocas frases claras, por favor.",
    "ja": "このテーマについて、わかりやすい文章でいくつか説明してください。",
}
_NAMES = {"English": "en", "German": "de", "French": "fr", "Italian": "it", "Spanish": "es", "Japanese": "ja"}
_CONTROL = re.compile(
    r"\b(?:SCORE=[1-5]|NOSCORE|LATESCORE|NOINSTR|LATEINSTR|DROPMARK|WRONGLANG|EMPTY|COPY|SAMETEXT|BACKWRONG|BADNUM|ITEM\d+)\b"
)
_MARKER = re.compile(r"⟦\d+⟧")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_BETWEEN = re.compile(r"-----\n(.*?)\n-----", re.S)


def _wide(text: str) -> int:
    return len(text) + 2 * len(re.findall(r"[\u3040-\u9fff]", text))


def _picked_words(prose: str, sentence: str) -> str:
    """Two words of ``sentence`` (two-character pieces where it has no spaces) chosen by a hash
    of ``prose``, as one more short sentence: what makes two sources' translations differ."""
    spaced = " " in sentence
    words = (
        [w.strip(".") for w in sentence.split()]
        if spaced
        else [sentence[i : i + 2] for i in range(0, len(sentence) - 2, 2)]
    )
    h = zlib.crc32(prose.strip().encode("utf-8"))
    picked = (words[h % len(words)], words[(h // len(words)) % len(words)])
    return " ".join(picked) + "." if spaced else "".join(picked) + "。"


def translate(text: str, target: str) -> str:
    """The scripted translation of ``text`` into ``target`` (see module doc)."""
    controls = _CONTROL.findall(text)
    if "EMPTY" in controls:
        return ""
    if "COPY" in controls:
        return text
    if "WRONGLANG" in controls or ("BACKWRONG" in controls and target != "en"):
        target = "en"
    markers = _MARKER.findall(text)
    if "DROPMARK" in controls and markers:
        markers = markers[1:]
    sentence = SENTENCES[target]
    prose = _MARKER.sub("", _CONTROL.sub("", text))
    n = max(1, round(_wide(prose) / _wide(sentence)))
    parts = [sentence] * n
    if "SAMETEXT" not in controls:
        parts.append(_picked_words(prose, sentence))
    # Markers go between sentences, in order, as a translator keeps them in place.
    for i, m in enumerate(markers):
        parts.insert(min(len(parts), 1 + i), m)
    numbers = _NUMBER.findall(prose)
    if "BADNUM" in controls and numbers:
        numbers[-1] = str(int(numbers[-1].replace(",", "").split(".")[0]) + 2)
    return " ".join(parts + numbers + controls)


def answer(body: dict[str, Any]) -> str:
    """The scripted answer to one chat request."""
    msgs = body["messages"]
    system = msgs[0]["content"] if msgs and msgs[0]["role"] == "system" else ""
    first_user = next(m["content"] for m in msgs if m["role"] == "user")
    asked_again = sum(m["role"] == "user" for m in msgs) > 1
    m = _BETWEEN.search(first_user)
    text = m.group(1) if m else first_user
    if system.startswith("You are a professional translator"):
        name = re.search(r"into (\w+)\.", first_user)
        return translate(text, _NAMES.get(name.group(1), "en") if name else "en")
    if system.startswith("You help build a dataset"):
        controls = _CONTROL.findall(text)
        if "NOINSTR" in controls or ("LATEINSTR" in controls and not asked_again):
            return ""
        # In the language the prompt asks for ("Write it in German."), as a real writer does.
        asked = re.search(r"Write it in (\w+)\.", first_user)
        lang = _NAMES.get(asked.group(1), "en") if asked else "en"
        return f"Instruction: {INSTRUCTIONS[lang]} " + " ".join(controls)
    if system.startswith("You rate training examples"):
        controls = _CONTROL.findall(first_user)
        if "NOSCORE" in controls or ("LATESCORE" in controls and not asked_again):
            return "This pair looks reasonable to me."
        score = next((int(c.split("=")[1]) for c in controls if c.startswith("SCORE=")), 4)
        verdict = (
            f"Rating: [[{score}]]" if str(body.get("model", "")).endswith("brackets") else f"Score: {score}"
        )
        if asked_again:
            return verdict
        return f"Reasoning: the reply fits the instruction.\n{verdict}"
    return "I am a scripted server and did not recognise this request."


class ScriptedChatServer(ScriptedOpenAIServer):
    """Start with ``.start()`` (or as a context manager); ``.url`` is the API root (…/v1)."""

    thread_name = "scripted-chat"

    def reply(self, body: dict[str, Any]) -> tuple[str, str]:
        return answer(body), "stop"


def main() -> None:
    run_as_script(
        ScriptedChatServer,
        "scripted OpenAI-compatible chat server (tests, benchmarks)",
        lambda url: json.dumps({"url": url}),
    )


if __name__ == "__main__":
    main()
