"""What a prompt asks for, as a key: its content words (stemmed), ignoring case, punctuation,
word order, filler words and inflection. The second signal of near-duplicate removal.

Sentence embeddings cannot tell a request said again from a different request on the same
template: with the bundled multilingual-e5-small, "Schreibe ein Gedicht über den Herbst." and
"… über den Frühling." have cosine 0.965, more than many true rewordings, and single words
that differ ("autumn"/"spring" 0.90, "short"/"brief" 0.92) are no better apart. So with
``content_check`` on, two prompts are compared only when their content keys are equal, the
way rows of different languages are never compared (see :mod:`tagengo.dedup.decide`).

The key of a prompt in language ``lang``:

1. NFKC, case folded; words are runs of letters and digits (``\\w+``); in scripts written
   without spaces (Chinese, Japanese, Thai, Lao, Khmer, Myanmar) every character is a word;
2. filler words of the language are left out (:data:`FILLERS`: articles, pronouns, auxiliaries,
   prepositions, politeness such as "please"/"bitte"/"por favor", greetings and thanks, and
   verbs of asking such as "give"/"tell"/"show"). Negations, numbers and number words,
   "before"/"after", "with"/"without" and the like are content, never fillers;
3. the rest is stemmed with the language's Snowball stemmer (``snowballstemmer``) where one
   exists, and accents are dropped after stemming;
4. the key is the sequence of what is left, each word once, up to rotation (a phrase moved
   from the front to the back keeps it; swapped roles, "from English to German" / "from
   German to English", change it). Digits are kept as written.

A rewording (case, punctuation, filler words, a phrase moved to the front or back,
inflection, du/Sie) keeps the key; a different topic, object, number, order of roles or an
added constraint changes it. Synonyms of content words
("short"/"brief", "write"/"compose"), German verb-second reordering and separable verbs
("kehre … um" / "umkehren") also change it: such pairs are kept apart, the price of never
merging different requests (docs/dedup.md gives the measured rates). Languages without
a filler list (ja, zh, ko, th …) compare their words as they are, so only case, punctuation
and word-order changes merge there.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

# Scripts written without spaces between words: CJK ideographs, kana, Thai, Lao, Khmer, Myanmar.
_UNSPACED = (
    "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
)
_TOKEN = re.compile(rf"[{_UNSPACED}]|[^\W{_UNSPACED}]+")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Words that do not change what is asked, per language (ISO 639-1). Written for this project.
FILLERS: dict[str, frozenset[str]] = {
    "en": _words(
        """a an the please pls plz kindly can could would will you u your me my i im m s is are am be
        do does did how what which whats tell give show let help want like need just some for to of
        in on at about regarding into with by from and or hey hi hello thanks thank thx so really also
        there that this it its way know quick quickly ok okay dear maybe now here as"""
    ),
    "de": _words(
        """der die das den dem des ein eine einen einem einer eines bitte danke dankeschön hallo hi hey
        kannst können könnten könntest kann würdest würden würde du sie ihr ich mir mich mein meine
        meinen dir dich uns wie was welche welcher welches ist sind bin sein mal doch denn eben ja
        gern gerne und oder für zu zum zur von vom in im ins an am auf über mit bei aus um es dies
        diese dieser so also einfach eigentlich gib geben gibst nenne nennen nennst sag sage sagen
        zeig zeige zeigen hilf helfen hallo moin servus"""
    ),
    "fr": _words(
        """le la les l un une des du de d au aux à en sur pour par avec et ou s il te plaît plait svp stp
        merci bonjour salut coucou tu vous je j me m moi mon ma mes toi peux pouvez peut pourrais
        pourriez est ce c que qu qui quoi comment quel quelle quels quelles donne donner donnez
        dis dire dites montre montrer aide aider aidez veux voudrais voulez"""
    ),
    "es": _words(
        """el la los las lo un una unos unas de del al a en sobre para por con y o e u favor gracias
        hola oye tú tu usted ustedes yo me mi mis te ti puedes puede podrías podría podrias podria
        cómo como qué que cuál cual cuáles cuales es son está esta dame da das darme dar dime decir di
        muéstrame muestrame mostrar ayúdame ayudame ayuda ayudar quiero quisiera necesito se puedo
        pueden quieres decirme darme mostrarme ayudarme"""
    ),
    "pt": _words(
        """o a os as um uma uns umas de do da dos das no na nos nas em ao à para por pelo pela com e ou
        favor obrigado obrigada oi olá ola você voce vocês tu eu me mim meu minha te pode podes
        poderia posso como que qual quais é são está dá dê dar diga dizer mostre ajude ajudar quero
        gostaria preciso se"""
    ),
    "ru": _words(
        """пожалуйста спасибо привет здравствуйте можешь можете мог могли бы ли ты вы я мне меня мой
        моя мои тебе вам как что какой какая какое какие это в во на о об про для с со и или а к по у
        из же ну дай дайте скажи скажите расскажи расскажите покажи покажите помоги помогите
        подскажи подскажите дать сказать рассказать показать помочь подсказать можно"""
    ),
}

_STEMMER_NAMES = {
    "ar": "arabic", "ca": "catalan", "da": "danish", "de": "german", "el": "greek", "en": "english",
    "es": "spanish", "eu": "basque", "fi": "finnish", "fr": "french", "ga": "irish", "hi": "hindi",
    "hu": "hungarian", "hy": "armenian", "id": "indonesian", "it": "italian", "lt": "lithuanian",
    "ne": "nepali", "nl": "dutch", "no": "norwegian", "pt": "portuguese", "ro": "romanian",
    "ru": "russian", "sr": "serbian", "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}  # fmt: skip


@cache
def _stemmer(lang: str | None):
    name = _STEMMER_NAMES.get(lang or "")
    if name is None:
        return None
    import snowballstemmer

    try:
        return snowballstemmer.stemmer(name)
    except KeyError:  # a snowballstemmer without this language
        return None


@lru_cache(maxsize=1 << 16)
def _strip_accents(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Spanish writes an imperative with attached pronouns with an accent it did not have
# ("explica" -> "explícame", "resume" -> "resúmeme"): the accent marks the attached pronoun.
_ES_ENCLITIC = re.compile(r"^(?=.*[áéíóú].)(.{3,}?)(?:me|te|nos|se|lo|la|le|los|las|les)$")


def _drop_enclitic(word: str) -> str:
    m = _ES_ENCLITIC.match(word)
    return m.group(1) if m else word


def content_words(text: str, lang: str | None) -> list[str]:
    """The content words of ``text`` (steps 1-3 of the module doc), in order."""
    words = _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())
    fillers = FILLERS.get(lang or "", frozenset())
    kept = [w for w in words if w not in fillers]
    if lang == "es":
        kept = [_drop_enclitic(w) for w in kept]
    if _stemmer(lang) is None:
        return [_strip_accents(w) for w in kept]
    return [_stem(lang, w) for w in kept]


@lru_cache(maxsize=1 << 18)
def _stem(lang: str, word: str) -> str:
    # Snowball in pure Python costs ~50 us a word; words repeat (Zipf), so a cache makes the
    # key of a typical prompt a few dict lookups.
    return _strip_accents(word if word.isdigit() else _stemmer(lang).stemWord(word))


def content_key(text: str, lang: str | None) -> tuple[str, ...]:
    """The content words in order, up to rotation: equal keys mean the same thing is asked.

    Order matters ("Is Python faster than Java?" is not "Is Java faster than Python?"), but a
    phrase moved from the front to the back ("In Python, how do I read a CSV file?" / "How do I
    read a CSV file in Python?") is a rotation of the same sequence, so the key is the
    sequence's smallest rotation. Repeated words are kept once (their first place)."""
    words = list(dict.fromkeys(content_words(text, lang)))
    if len(words) < 2:
        return tuple(words)
    return min(tuple(words[i:] + words[:i]) for i in range(len(words)))
