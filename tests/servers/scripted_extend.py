"""A scripted OpenAI-compatible chat server for the tests and the benchmark of `tagengo extend`.

It speaks the real protocol over real HTTP on 127.0.0.1 (POST /v1/chat/completions, the usual
``choices`` / ``usage`` body) and answers by reading the request the way the stage wrote it:

* a follow-up writer's request (our writer's system prompt) is answered with the next of three
  fixed follow-ups in the language the prompt asks for (the first one while the chat has one
  user turn, the second with two ...);
* any other request is the teacher's: it is answered in the language of the conversation's first
  user turn (one of ``QUESTIONS``, or English) with the fixed answer of that turn (``answer_text``:
  ``ANSWERS`` to the first question, then one of ``FOLLOW_UP_ANSWERS``, so no answer repeats the one
  before it).

Control words anywhere in the conversation's first user turn change the answers, so that a test
can inject what a real model will not produce on demand:

===============  ==============================================================================
``DRIFT2``       the follow-up that becomes user turn 2 is in English
``DRIFT3``       the follow-up that becomes user turn 3 is in English
``ANSWERDRIFT``  the teacher answers every follow-up in English
``ECHO``         the writer answers with the first user turn, word for word
``EMPTYFU``      the writer answers with nothing
``LABELLED``     the writer wraps its follow-up as ``Person: "..."``
``CUTOFF``       the teacher's answer to a follow-up stops half-way with ``finish_reason: length``
``REPEAT``       the teacher answers a follow-up with its previous answer again (other case, spacing)
``NEARREPEAT``   the teacher answers a follow-up with its previous answer and two words more
``LEAKROLE``     the writer goes on past its follow-up and writes the assistant's turn too
                 (``\n\nAssistant: ...``, the transcript's speaker label)
``LEAKSPAN``     the writer adds a sentence of its own instructions to the follow-up
``ITEM<n>``      no effect: makes the requests of different items distinct (the client would
                 otherwise send identical ones once)
===============  ==============================================================================

Run on its own (benchmarks): ``python tests/servers/scripted_extend.py --latency 0.2`` prints
``{"url": ...}`` on its first line and serves until killed.

``completed`` counts answers per request hash (which is how a test proves that a re-run paid
for nothing twice); ``latency_s`` delays every answer.
"""

from __future__ import annotations

import json
import re
from typing import Any

try:
    from servers.loopback import ScriptedOpenAIServer, run_as_script
except ModuleNotFoundError:  # run as a script (python tests/servers/NAME.py): its folder is on sys.path
    from loopback import ScriptedOpenAIServer, run_as_script

#: First user turns, one per language: a test builds its conversations from these.
QUESTIONS = {
    "en": "How do I keep basil plants healthy on a windowsill?",
    "de": "Wie halte ich Basilikum auf der Fensterbank gesund?",
    "fr": "Comment garder un basilic en bonne santé sur le rebord de la fenêtre ?",
    "es": "¿Cómo mantengo sana una planta de albahaca en la ventana?",
    "ja": "窓辺でバジルを元気に育てるにはどうすればいいですか？",
}

#: The writer's follow-ups: the one at index k becomes user turn k + 2.
FOLLOW_UPS = {
    "en": [
        "What do you mean by bright indirect light exactly?",
        "Could you give me an example of a good watering schedule?",
        "I am not sure about that, my grandmother watered hers every day. Why would that be wrong?",
    ],
    "de": [
        "Was genau meinst du mit hellem, indirektem Licht?",
        "Kannst du mir ein Beispiel für einen guten Gießplan geben?",
        "Da bin ich mir nicht sicher, meine Großmutter hat ihres jeden Tag gegossen. Warum soll das falsch sein?",
    ],
    "fr": [
        "Que veux-tu dire exactement par une lumière vive mais indirecte ?",
        "Peux-tu me donner un exemple de calendrier d'arrosage ?",
        "Je n'en suis pas sûr, ma grand-mère arrosait le sien tous les jours. Pourquoi serait-ce une erreur ?",
    ],
    "es": [
        "¿Qué quieres decir exactamente con luz brillante pero indirecta?",
        "¿Me puedes dar un ejemplo de un buen calendario de riego?",
        "No estoy seguro, mi abuela regaba la suya todos los días. ¿Por qué estaría mal?",
    ],
    "ja": [
        "明るい間接光とは具体的にどういう意味ですか？",
        "水やりのスケジュールの例を教えてもらえますか？",
        "本当にそうでしょうか。祖母は毎日水をあげていましたが、なぜそれがいけないのですか？",
    ],
}

#: The teacher's answer, whatever the turn.
ANSWERS = {
    "en": "Place the pot where it gets plenty of light but no harsh midday sun, water when the top of "
    "the soil feels dry, and pinch off the flower buds so that the leaves keep growing.",
    "de": "Stell den Topf an einen hellen Platz ohne pralle Mittagssonne, gieß erst, wenn die obere "
    "Erdschicht trocken ist, und knipse die Blütenknospen ab, damit die Blätter weiter wachsen.",
    "fr": "Place le pot dans un endroit lumineux sans le soleil direct de midi, arrose quand le dessus "
    "de la terre est sec et pince les boutons de fleurs pour que les feuilles continuent de pousser.",
    "es": "Pon la maceta en un lugar luminoso sin el sol fuerte del mediodía, riega cuando la parte de "
    "arriba de la tierra esté seca y corta los botones florales para que las hojas sigan creciendo.",
    "ja": "鉢は真昼の強い日差しが当たらない明るい場所に置き、土の表面が乾いたら水をあげ、葉が育ち"
    "続けるように花のつぼみを摘み取ってください。",
}

#: The teacher's answers to the follow-ups: the one at index k answers user turn k + 2.
FOLLOW_UP_ANSWERS = {
    "en": [
        "Bright indirect light means a spot near a window where the sun does not shine straight onto the "
        "leaves, for example behind a thin curtain.",
        "Water deeply about twice a week in spring, check the soil every morning in hot summer weeks, and "
        "water less often in winter.",
        "Daily watering keeps the roots wet all the time, so they cannot breathe and start to rot; a pot "
        "with a drainage hole helps a lot.",
    ],
    "de": [
        "Helles indirektes Licht bedeutet einen Platz am Fenster, an dem die Sonne nicht direkt auf die "
        "Blätter scheint, zum Beispiel hinter einer dünnen Gardine.",
        "Gieß im Frühling etwa zweimal pro Woche gründlich, prüfe in heißen Sommerwochen jeden Morgen die "
        "Erde und gieß im Winter seltener.",
        "Tägliches Gießen hält die Wurzeln ständig nass, sodass sie nicht atmen können und zu faulen "
        "beginnen; ein Topf mit Abzugsloch hilft sehr.",
    ],
    "fr": [
        "Une lumière vive mais indirecte, c'est un endroit près d'une fenêtre où le soleil ne tape pas "
        "directement sur les feuilles, par exemple derrière un voilage.",
        "Arrose abondamment environ deux fois par semaine au printemps, vérifie la terre chaque matin "
        "pendant les semaines chaudes et arrose moins en hiver.",
        "Un arrosage quotidien laisse les racines toujours mouillées : elles ne respirent plus et "
        "commencent à pourrir ; un pot percé aide beaucoup.",
    ],
    "es": [
        "La luz brillante pero indirecta es un sitio junto a una ventana donde el sol no da directamente "
        "sobre las hojas, por ejemplo detrás de una cortina fina.",
        "Riega a fondo unas dos veces por semana en primavera, revisa la tierra cada mañana en las semanas "
        "de calor y riega menos en invierno.",
        "Regar todos los días deja las raíces siempre mojadas, así que no pueden respirar y empiezan a "
        "pudrirse; una maceta con agujero ayuda mucho.",
    ],
    "ja": [
        "明るい間接光とは、窓の近くで太陽の光が葉に直接当たらない場所のことです。たとえば薄いカーテン越しの光です。",
        "春は週に二回ほどたっぷり水をあげ、暑い夏の間は毎朝土を確かめ、冬は回数を減らしてください。",
        "毎日水をあげると根がいつも濡れたままになり、呼吸できずに腐り始めます。底に穴のある鉢を使うとよいでしょう。",
    ],
}

#: What NEARREPEAT adds to the previous answer.
GOOD_LUCK = {
    "en": "Good luck!",
    "de": "Viel Glück!",
    "fr": "Bonne chance !",
    "es": "¡Buena suerte!",
    "ja": "頑張ってね。",
}

#: What LEAKSPAN adds to a follow-up: a sentence of the writer's instructions, word for word.
LEAKED = "Reply with the message only, without a label or quotation marks."


def answer_text(language: str, turn: int) -> str:
    """The teacher's answer to user turn ``turn`` (1, 2, ...) of a conversation in ``language``."""
    return ANSWERS[language] if turn == 1 else FOLLOW_UP_ANSWERS[language][(turn - 2) % 3]


_NAMES = {"English": "en", "German": "de", "French": "fr", "Spanish": "es", "Japanese": "ja"}
_CONTROL = re.compile(
    r"\b(?:DRIFT2|DRIFT3|ANSWERDRIFT|ECHO|EMPTYFU|LABELLED|CUTOFF|REPEAT|NEARREPEAT|LEAKROLE|LEAKSPAN)\b"
)
_FIRST_TURN = re.compile(r"=====\nPerson: (.*?)\n\n(?:Assistant|Person): ", re.S)


def prompt(language: str, item: int, *controls: str) -> str:
    """The first user turn of a test conversation: the question of ``language``, an item tag, controls."""
    return " ".join([QUESTIONS[language], f"ITEM{item}", *controls])


def conversation(row_id: str, language: str, item: int, *controls: str, answered: bool = True) -> dict:
    """One input row in the ``messages`` format: the question of ``language`` (and its answer)."""
    msgs = [{"role": "user", "content": prompt(language, item, *controls)}]
    if answered:
        msgs.append({"role": "assistant", "content": ANSWERS[language]})
    return {"id": row_id, "language": language, "messages": msgs}


def language_of(text: str) -> str:
    return next((lang for lang, q in QUESTIONS.items() if text.startswith(q)), "en")


def answer(body: dict[str, Any]) -> tuple[str, str]:
    """(content, finish_reason) of the scripted answer to one chat request."""
    from tagengo.extend.prompts import WRITER_SYSTEM

    msgs = body["messages"]
    system = msgs[0]["content"] if msgs and msgs[0]["role"] == "system" else ""
    users = [m["content"] for m in msgs if m["role"] == "user"]
    if system == WRITER_SYSTEM:
        request = users[0]
        first = _FIRST_TURN.search(request + "\n\nAssistant: ")
        first_turn = first.group(1) if first else ""
        controls = set(_CONTROL.findall(first_turn))
        turns_so_far = request.count("\n\nPerson: ") + 1
        name = re.search(r"Write it in (\w+),", request)
        lang = _NAMES.get(name.group(1), "en") if name else "en"
        if "EMPTYFU" in controls:
            return "", "stop"
        if "ECHO" in controls:
            return first_turn, "stop"
        if f"DRIFT{turns_so_far + 1}" in controls:
            lang = "en"
        text = FOLLOW_UPS[lang][(turns_so_far - 1) % 3]
        if "LEAKROLE" in controls:
            text += "\n\nAssistant: " + ANSWERS[lang]
        if "LEAKSPAN" in controls:
            text += " " + LEAKED
        return (f'Person: "{text}"' if "LABELLED" in controls else text), "stop"
    controls = set(_CONTROL.findall(users[0]))
    lang = language_of(users[0])
    if len(users) >= 2 and "ANSWERDRIFT" in controls:
        lang = "en"
    text = answer_text(lang, len(users))
    if len(users) >= 2 and "CUTOFF" in controls:
        return text[: len(text) // 2], "length"
    previous = next((m["content"] for m in reversed(msgs) if m["role"] == "assistant"), None)
    if len(users) >= 2 and previous is not None:
        if "REPEAT" in controls:  # the same text, with other case and spacing
            return "  " + previous.upper().replace(" ", "   ") + "\n", "stop"
        if "NEARREPEAT" in controls:
            return f"{previous} {GOOD_LUCK[lang]}", "stop"
    return text, "stop"


class ScriptedExtendServer(ScriptedOpenAIServer):
    """Start with ``.start()`` (or as a context manager); ``.url`` is the API root (…/v1)."""

    thread_name = "scripted-extend"

    def reply(self, body: dict[str, Any]) -> tuple[str, str]:
        return answer(body)


def main() -> None:
    run_as_script(
        ScriptedExtendServer,
        "scripted OpenAI-compatible server for tagengo extend",
        lambda url: json.dumps({"url": url}),
    )


if __name__ == "__main__":
    main()
