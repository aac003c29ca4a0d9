"""The words of translator chatter, in the languages translated to and from most: what announces
a translation, opens a translator's note, signs off, or labels a text with its language. Only
the vocabulary; what is cut or rejected, by comparing with the source, is decided in
tagengo.llm.translation.chatter. Written for tagengo from the phrasings translators are seen to
use (English, German, French, Italian, Spanish, Portuguese, Dutch, Russian, Chinese, Japanese,
Korean)."""

from __future__ import annotations

import contextlib
import re

from tagengo.lang.languages import all_codes, code_to_name

#: "translation" and "translated" (a line that announces a translation names it).
TRANSLATION_WORDS = (
    r"translation|translated|übersetzung|übersetzt|traduction|traduit|traduzione|tradott[oa]|"
    r"traducción|traducid[oa]|tradução|traduzid[oa]|vertaling|vertaald|översättning|oversættelse|"
    r"oversettelse|käännös|tłumaczenie|překlad|preklad|prijevod|превод|перевод|переклад|çeviri|"
    r"terjemahan|bản dịch|μετάφραση|תרגום|ترجمة|अनुवाद|แปล|"
    r"翻訳|訳文|日本語訳|英訳|和訳|翻译|译文|翻譯|譯文|번역"
)
#: "Here is" and its kin, which open an announcement.
HERE_IS = (
    r"\b(?:here is|here's|here are|below is|hier ist|hier sind|hier die|voici|voilà|ecco|aquí está|"
    r"aquí tienes|a continuación|aqui está|aqui vai|segue)\b|以下(?:は|が|是|为|為)|下面是|다음은"
)
TRANSLATION = re.compile(TRANSLATION_WORDS, re.I)
ANNOUNCE = re.compile(rf"{TRANSLATION_WORDS}|{HERE_IS}", re.I)
HERE_IS_TRANSLATION = re.compile(rf"(?:{HERE_IS}).{{0,60}}?(?:{TRANSLATION_WORDS})", re.I)

#: Words that open a translator's note or explanation: "Note:", "Translator's note:",
#: "Explanation:", "Anmerkung:", "Remarque :", "Nota:", "注:", "注意：", "訳注：" ...
NOTE_WORDS = (
    r"(?:translator[’']?s?|translation)\s+notes?|notes?|n\.\s?b\.?|nb|explanations?|"
    r"anmerkung(?:en)?(?:\s+de[rs]\s+übersetzer(?:s|in)?)?|anm\.(?:\s*d\.\s*ü\.)?|hinweis|erklärung|"
    r"remarques?|note du traducteur|n\.\s?d\.\s?t\.?|ndt|explication|"
    r"nota(?:\s+del?l?[ao]?\s+tradu(?:ttore|ttrice|ctor|ctora|tor|tora))?|n\.\s?del\s?t\.?|"
    r"spiegazione|explicación|explicação|"
    r"observação|obs\.|opmerking|noot|примечание(?:\s+переводчика)?|пояснение|"
    r"訳注|訳者注|注記|注意|備考|补充|注释|注釋|译注|译者注|备注|備註|说明|說明|解释|解釋|解説|注|참고|주"
)
#: A note: a note word then a colon (a full-width comma too, as Chinese writes "注意，…"), or "※".
NOTE = re.compile(rf"^[\s*_(\[（>—–-]*(?:(?:{NOTE_WORDS})[\s*_]*[:：，]|※)", re.I)
#: "Note that ...", "Please note ...": a note as a paragraph of its own after the translation,
#: never a line inside one ("Note that the values may change." is a line of many a text).
NOTE_SENTENCE = re.compile(r"^[\s*_(\[（>—–-]*(?:note that|please note)\b", re.I)
#: A note in parentheses at the very end of the text: "... heute? (Note: informal.)",
#: "*(Translated from English.)*".
INLINE_NOTE = re.compile(
    rf"\s*[*_]*[(\[（][\s*_]*(?:(?:{NOTE_WORDS})[\s*_]*[:：]|[^()\[\]（）]{{0,40}}(?:{TRANSLATION_WORDS}))"
    r"(?:[^()\[\]（）]|\([^()]*\))*[)\]）][*_.。]*\s*\Z",
    re.I,
)
#: A note word and its colon after a sentence or a space, inside the last sentences: a note
#: run into the translation ("Keine 注意，…", "Fertig. Note: …").
NOTE_INSIDE = re.compile(rf"(?:(?<=\s)|(?<=[.!?。！？]))[*_(（]*(?:{NOTE_WORDS})[\s*_]*[:：，]", re.I)

#: What an assistant says when it hands over: "I hope this helps!", "Let me know if ...",
#: "Ich hoffe, das hilft", "N'hésitez pas ...", "お役に立てば" ... (matched at a sentence's start).
SIGNOFF = re.compile(
    r"^[\s*_(]*(?:"
    r"(?:i\s+)?hope\s+(?:this|that|it)\s+(?:helps|is\s+helpful|was\s+helpful|works|meets)|"
    r"(?:please\s+)?let\s+me\s+know\s+(?:if|whether|what|how)|feel\s+free\s+to|"
    r"if\s+you\s+(?:have|need|want|would\s+like)\s+(?:any|anything|more|further|other|another|me\s+to)|"
    r"is\s+there\s+anything\s+else|(?:do\s+not|don't)\s+hesitate|happy\s+to\s+help|glad\s+(?:i|to)\s+"
    r"(?:could\s+)?help|"
    r"ich\s+hoffe,?\s+(?:das|dies|es)\s+hilft|hoffe,?\s+das\s+hilft|lass(?:t)?\s+(?:es\s+)?mich\s+wissen|"
    r"lassen\s+sie\s+(?:es\s+)?mich\s+wissen|gib\s+mir\s+bescheid|geben\s+sie\s+mir\s+bescheid|"
    r"(?:falls|wenn)\s+(?:du|sie|ihr)\s+(?:noch\s+)?(?:weitere|andere|irgendwelche)?\s*fragen|"
    r"zöger(?:e|n\s+sie)\s+nicht|"
    r"j'espère\s+que\s+(?:cela|ça|ceci)|n'hésite[zr]?\s+pas|fai(?:tes|s)-moi\s+savoir|"
    r"si\s+vous\s+avez\s+(?:d'autres|des|besoin)|"
    r"spero\s+(?:che\s+)?(?:questo|questa|ciò|sia|ti|vi)|fa(?:mmi|temi)\s+sapere|non\s+esit(?:are|ate)|"
    r"espero\s+que\s+(?:esto|esta|te|le|les|sea|isso|isto|ajude|tenha)|ha(?:z|ga)me\s+saber|"
    r"házmelo\s+saber|avísame|déjame\s+saber|no\s+dudes?\s+en|me\s+avise|avise-me|não\s+hesite|"
    r"ik\s+hoop\s+dat\s+(?:dit|dat)|laat\s+(?:het\s+)?me\s+weten|aarzel\s+niet|"
    r"надеюсь,?\s+это|дайте\s+(?:мне\s+)?знать|"
    r"お役に立て|ご不明な点|他に何か|ほかに何か|希望(?:这|這|对你|對你|能对|能對)|"
    r"如果(?:您|你)(?:还有|還有|有任何|需要)|如有(?:任何|其他)|도움이\s*되(?:었으면|길)|궁금한\s*점이"
    r")",
    re.I,
)
#: A sign-off anywhere in a sentence, after a space: "EULA annehmen Let me know if ...".
SIGNOFF_INSIDE = re.compile(r"(?<=\s)" + SIGNOFF.pattern.removeprefix("^"), re.I)

#: "I kept / I used / I translated ...": a translator speaking of its own translation.
FIRST_PERSON_META = re.compile(
    r"\b(?:i(?:'ve|\s+have)?\s+(?:kept|used|translated|chose|left|preserved|retained|rendered|"
    r"maintained|assumed|adapted|opted)|ich\s+habe\s+.{0,40}(?:beibehalten|übersetzt|verwendet)|"
    r"j'ai\s+(?:gardé|conservé|traduit|utilisé))\b",
    re.I,
)

_INTERJECTION_WORDS = (
    r"sure(?:\s+thing)?|certainly|of\s+course|absolutely|okay|ok|alright|all\s+right|"
    r"no\s+problem|gladly|happy\s+to\s+help|gerne|gern|klar|natürlich|selbstverständlich|"
    r"bien\s+sûr|d'accord|avec\s+plaisir|certo|certamente|volentieri|claro|por\s+supuesto|"
    r"desde\s+luego|com\s+certeza|natuurlijk|zeker|конечно|好的|当然|當然|没问题|もちろん(?:です)?|"
    r"かしこまりました|承知しました|はい|물론(?:입니다)?|네"
)
#: "Sure!", "Certainly.", "Gerne!", "好的。": a short first line that may stand before an
#: announcement (a vocabulary, not any short line: "Hallo Welt." there is the translation).
INTERJECTION = re.compile(rf"^[\s*_]*(?:{_INTERJECTION_WORDS})[\s*_]*[!.,。！、]?[\s*_]*$", re.I)
#: The start of a short line that hands something over: "Sure, here you go:", "Okay, in German:".
CHATTY_START = re.compile(rf"^[\s*_]*(?:{_INTERJECTION_WORDS})(?!\w)", re.I)

#: "Original:", "Source text:", "原文：": a label a translator puts before the source it repeats.
SOURCE_LABEL_WORDS = (
    r"original(?:\s+text)?|source(?:\s+text)?|originaltext|ausgangstext|texte\s+(?:original|source)|"
    r"testo\s+originale|texto\s+original|原文|原文本|元の文"
)

#: Names of the most translated languages in their own language (the English names come from
#: the language table): a translator labels its answer "Deutsch:" as often as "German:".
_AUTONYMS = {
    "en": ("english", "englisch", "anglais", "inglese", "inglés", "inglês", "英語", "英文", "英语", "영어"),
    "de": ("deutsch", "allemand", "tedesco", "alemán", "alemão", "duits", "ドイツ語", "德语", "德語"),
    "fr": ("français", "französisch", "francese", "francés", "francês", "frans", "フランス語", "法语"),
    "it": ("italiano", "italienisch", "italien", "italiaans", "イタリア語", "意大利语"),
    "es": ("español", "spanisch", "espagnol", "spagnolo", "espanhol", "spaans", "スペイン語", "西班牙语"),
    "pt": ("português", "portugiesisch", "portugais", "portoghese", "portugués", "ポルトガル語", "葡萄牙语"),
    "nl": ("nederlands", "niederländisch", "néerlandais", "olandese"),
    "ja": ("日本語", "japanisch", "japonais", "giapponese", "japonés"),
    "zh": ("中文", "汉语", "漢語", "简体中文", "繁體中文", "chinesisch", "chinois", "cinese", "chino"),
    "ko": ("한국어", "koreanisch", "coréen", "coreano"),
    "ru": ("русский", "russisch", "russe", "russo", "ruso"),
}


#: English names of every language in the table (four letters or more: "Lao" and "Ido" are
#: words too) and the autonyms above: "In Japanese:" and "Auf Deutsch:" name a language.
_ALL_NAMES = sorted(
    {code_to_name(c).lower() for c in all_codes() if len(code_to_name(c)) >= 4}
    | {n for names in _AUTONYMS.values() for n in names},
    key=len,
    reverse=True,
)
LANGUAGE_NAME = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in _ALL_NAMES) + r")(?!\w)", re.I)


def language_names(code: str | None) -> tuple[str, ...]:
    """Lower-case names of the language ``code``: its English name and its autonyms."""
    if not code:
        return ()
    names = list(_AUTONYMS.get(code, ()))
    with contextlib.suppress(Exception):  # a code the table lacks has no English name to add
        names.append(code_to_name(code).lower())
    return tuple(dict.fromkeys(names))


def language_label(codes: list[str | None], extra: str = "") -> re.Pattern[str] | None:
    """A first line's "German:", "In German:", "Auf Deutsch:", "**English**:" label naming one of
    ``codes`` (or matching ``extra``, a regex alternative), with what follows the colon."""
    names = [re.escape(n) for code in codes for n in language_names(code)]
    alts = "|".join([*names, *([extra] if extra else [])])
    if not alts:
        return None
    return re.compile(
        rf"^[\s*_#>]*(?:(?:in|auf|en|em|in\s+lingua)\s+)?(?:{alts})[\s*_]*[:：][\s*_]*",
        re.I,
    )
