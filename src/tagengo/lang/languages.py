"""Language labels -> the record code, display names, and lid.176's near-language groups.

Chat logs label rows in many spellings: LMSYS-Chat-1M uses polyglot's names (CLD2 codes shown
through ICU: "Portuguese", "Bangla", "Norwegian Nynorsk", "Volapük", "zzp", "unknown"),
WildChat uses lingua's names ("Bokmal", "Slovene", "Ganda"), CLD2 itself says "NORWEGIAN_N"
or "ChineseT", and other data carries ISO 639-1/639-2/639-3 codes or BCP-47 tags
("pt-BR", "zh-Hant", "zh_CN"). A record stores ``language`` as the ISO 639-1 code where one
exists, else the ISO 639-3 code, lower case. This module is the one table between the two.

Everything is precomputed into dicts at import (no heavy imports, no I/O): the functions are
called per row in worker processes. See docs/languages.md for the rules and how to extend.
"""

from __future__ import annotations

import difflib
import functools
import re
import struct
import unicodedata
from collections.abc import Mapping
from pathlib import Path

from tagengo.errors import TagengoError

__all__ = [
    "LID176_LABELS",
    "NEAR_GROUPS",
    "UnknownLanguageLabel",
    "all_codes",
    "code_to_name",
    "group_score",
    "is_known_code",
    "is_unknown_label",
    "iso639_3",
    "label_to_code",
    "lid_label_to_code",
    "near_group",
    "normalize_label",
    "read_fasttext_labels",
]


class UnknownLanguageLabel(TagengoError, ValueError):
    """A label that names no language this table knows (as opposed to a label that says
    "no language", such as ``unknown``, for which ``label_to_code`` returns None)."""

    def __init__(self, label: object, hint: str = "") -> None:
        self.label = label
        self.hint = hint
        message = f"unknown language label {label!r}"
        super().__init__(f"{message}; {hint}" if hint else message)


# The table. One line per language:
#   code | ISO 639-3 | display name | other codes | other names
# ``code`` is what a record stores: ISO 639-1 where one exists, else ISO 639-3. "Other codes"
# are 639-2/B codes, deprecated codes (iw, in, ji, jw, mo), and the individual-language codes
# of a macrolanguage's main member (cmn -> zh, pes -> fa, zsm -> ms): the ones data sets such
# as FLORES write. "Other names" are the spellings of CLD2, ICU (polyglot), lingua and common
# aliases. Both lists are matched case-, accent- and punctuation-insensitively.
# Collective or retired codes keep the code lid.176 uses (bh, sh, nah, eml); their ISO 639-3
# column then holds the 639-2/639-5 code or the retired one.
_TABLE = """
aa  | aar | Afar | | Afaraf
ab  | abk | Abkhazian | | Abkhaz
ae  | ave | Avestan | |
af  | afr | Afrikaans | |
ak  | aka | Akan | |
am  | amh | Amharic | | አማርኛ
an  | arg | Aragonese | |
ar  | ara | Arabic | arb | Modern Standard Arabic; Standard Arabic; العربية
as  | asm | Assamese | |
av  | ava | Avaric | | Avar
ay  | aym | Aymara | ayr |
az  | aze | Azerbaijani | azj | Azeri; North Azerbaijani; Azerbaijani (Latin)
ba  | bak | Bashkir | |
be  | bel | Belarusian | | Belarusan; Byelorussian
bg  | bul | Bulgarian | | Български
bh  | bih | Bihari | | Bihari languages
bi  | bis | Bislama | |
bm  | bam | Bambara | | Bamanankan
bn  | ben | Bengali | | Bangla; বাংলা
bo  | bod | Tibetan | tib | Standard Tibetan; Central Tibetan
br  | bre | Breton | |
bs  | bos | Bosnian | | Bosanski
ca  | cat | Catalan | | Valencian; Català
ce  | che | Chechen | |
ch  | cha | Chamorro | |
co  | cos | Corsican | |
cr  | cre | Cree | |
cs  | ces | Czech | cze | Čeština
cu  | chu | Church Slavic | | Church Slavonic; Old Church Slavonic; Old Bulgarian; Old Slavonic
cv  | chv | Chuvash | |
cy  | cym | Welsh | wel | Cymraeg
da  | dan | Danish | | Dansk
de  | deu | German | ger | Deutsch; Standard German; High German
dv  | div | Divehi | | Dhivehi; Maldivian
dz  | dzo | Dzongkha | |
ee  | ewe | Ewe | |
el  | ell | Greek | gre | Modern Greek; Greek Modern; Ελληνικά
en  | eng | English | |
eo  | epo | Esperanto | |
es  | spa | Spanish | | Castilian; Español
et  | est | Estonian | ekk | Standard Estonian; Eesti
eu  | eus | Basque | baq | Euskara
fa  | fas | Persian | per; pes | Farsi; Iranian Persian; Western Persian; فارسی
ff  | ful | Fulah | | Fula; Fulani; Fulfulde; Pulaar
fi  | fin | Finnish | | Suomi
fj  | fij | Fijian | |
fo  | fao | Faroese | |
fr  | fra | French | fre | Français
fy  | fry | Western Frisian | | Frisian; West Frisian; Frysk
ga  | gle | Irish | | Irish Gaelic; Gaeilge
gd  | gla | Scottish Gaelic | | Scots Gaelic; Scots_Gaelic; Gaelic; Gàidhlig
gl  | glg | Galician | | Galego
gn  | grn | Guarani | gug | Guaraní; Paraguayan Guarani
gu  | guj | Gujarati | |
gv  | glv | Manx | |
ha  | hau | Hausa | |
he  | heb | Hebrew | iw | Modern Hebrew; Hebrew (modern); עברית
hi  | hin | Hindi | | हिन्दी
ho  | hmo | Hiri Motu | |
hr  | hrv | Croatian | | Hrvatski
ht  | hat | Haitian Creole | | Haitian; Haitian_Creole; Kreyòl; Kreyol Ayisyen
hu  | hun | Hungarian | | Magyar
hy  | hye | Armenian | arm | Հայերեն
hz  | her | Herero | |
ia  | ina | Interlingua | |
id  | ind | Indonesian | in | Bahasa Indonesia
ie  | ile | Interlingue | | Occidental
ig  | ibo | Igbo | |
ii  | iii | Sichuan Yi | | Nuosu
ik  | ipk | Inupiaq | | Inupiak; Inupiat
io  | ido | Ido | |
is  | isl | Icelandic | ice | Íslenska
it  | ita | Italian | | Italiano
iu  | iku | Inuktitut | |
ja  | jpn | Japanese | | 日本語
jv  | jav | Javanese | jw | Basa Jawa
ka  | kat | Georgian | geo | ქართული
kg  | kon | Kongo | | Kikongo
ki  | kik | Kikuyu | | Gikuyu
kj  | kua | Kuanyama | | Kwanyama
kk  | kaz | Kazakh | | Қазақ тілі
kl  | kal | Kalaallisut | | Greenlandic
km  | khm | Khmer | | Central Khmer; Cambodian
kn  | kan | Kannada | |
ko  | kor | Korean | | 한국어
kr  | kau | Kanuri | |
ks  | kas | Kashmiri | |
ku  | kur | Kurdish | kmr | Northern Kurdish; Kurmanji
kv  | kom | Komi | |
kw  | cor | Cornish | |
ky  | kir | Kyrgyz | | Kirghiz; Kirgiz
la  | lat | Latin | |
lb  | ltz | Luxembourgish | | Letzeburgesch
lg  | lug | Ganda | | Luganda
li  | lim | Limburgish | | Limburgan; Limburger
ln  | lin | Lingala | |
lo  | lao | Lao | | Laothian; Laotian
lt  | lit | Lithuanian | | Lietuvių
lu  | lub | Luba-Katanga | |
lv  | lav | Latvian | lvs | Standard Latvian; Latviešu
mg  | mlg | Malagasy | plt | Plateau Malagasy
mh  | mah | Marshallese | |
mi  | mri | Maori | mao | Māori; Te Reo Māori
mk  | mkd | Macedonian | mac | Македонски
ml  | mal | Malayalam | |
mn  | mon | Mongolian | khk | Halh Mongolian; Khalkha Mongolian
mr  | mar | Marathi | | मराठी
ms  | msa | Malay | may; zsm | Standard Malay; Malaysian; Bahasa Melayu; Bahasa Malaysia
mt  | mlt | Maltese | | Malti
my  | mya | Burmese | bur | Myanmar
na  | nau | Nauru | | Nauruan
nb  | nob | Norwegian Bokmål | | Bokmål; Bokmal
nd  | nde | North Ndebele | | Northern Ndebele
ne  | nep | Nepali | npi | नेपाली
ng  | ndo | Ndonga | |
nl  | nld | Dutch | dut | Flemish; Nederlands
nn  | nno | Norwegian Nynorsk | | Nynorsk; Norwegian_N
no  | nor | Norwegian | | Norsk
nr  | nbl | South Ndebele | | Ndebele; Southern Ndebele
nv  | nav | Navajo | | Navaho
ny  | nya | Nyanja | | Chichewa; Chewa
oc  | oci | Occitan | |
oj  | oji | Ojibwa | | Ojibwe
om  | orm | Oromo | gaz | Afaan Oromoo
or  | ori | Odia | ory | Oriya
os  | oss | Ossetian | | Ossetic
pa  | pan | Punjabi | | Panjabi; Eastern Punjabi; ਪੰਜਾਬੀ
pi  | pli | Pali | |
pl  | pol | Polish | | Polski
ps  | pus | Pashto | pbt | Pushto; Southern Pashto
pt  | por | Portuguese | | Português
qu  | que | Quechua | |
rm  | roh | Romansh | | Rhaeto-Romance; Romansch; Rumantsch
rn  | run | Rundi | | Kirundi
ro  | ron | Romanian | rum; mo; mol | Moldavian; Moldovan; Română
ru  | rus | Russian | | Русский
rw  | kin | Kinyarwanda | |
sa  | san | Sanskrit | |
sc  | srd | Sardinian | |
sd  | snd | Sindhi | |
se  | sme | Northern Sami | |
sg  | sag | Sango | |
sh  | hbs | Serbo-Croatian | | Bosnian-Croatian-Serbian; BCS; Srpskohrvatski
si  | sin | Sinhala | | Sinhalese
sk  | slk | Slovak | slo | Slovenčina
sl  | slv | Slovenian | | Slovene; Slovenščina
sm  | smo | Samoan | |
sn  | sna | Shona | |
so  | som | Somali | |
sq  | sqi | Albanian | alb; als | Tosk Albanian; Shqip
sr  | srp | Serbian | | Srpski; Српски
ss  | ssw | Swati | | Swazi; Siswati; Siswant
st  | sot | Southern Sotho | | Sotho; Sesotho
su  | sun | Sundanese | |
sv  | swe | Swedish | | Svenska
sw  | swa | Swahili | swh | Kiswahili
ta  | tam | Tamil | | தமிழ்
te  | tel | Telugu | | తెలుగు
tg  | tgk | Tajik | | Tajiki
th  | tha | Thai | | ภาษาไทย
ti  | tir | Tigrinya | |
tk  | tuk | Turkmen | |
tl  | tgl | Tagalog | fil | Filipino; Pilipino; Wikang Tagalog
tn  | tsn | Tswana | | Setswana
to  | ton | Tongan | | Tonga; Tonga (Tonga Islands)
tr  | tur | Turkish | | Türkçe
ts  | tso | Tsonga | | Xitsonga
tt  | tat | Tatar | |
tw  | twi | Twi | |
ty  | tah | Tahitian | |
ug  | uig | Uyghur | | Uighur
uk  | ukr | Ukrainian | | Українська
ur  | urd | Urdu | | اردو
uz  | uzb | Uzbek | uzn | Northern Uzbek; Oʻzbekcha
ve  | ven | Venda | |
vi  | vie | Vietnamese | | Tiếng Việt
vo  | vol | Volapük | |
wa  | wln | Walloon | |
wo  | wol | Wolof | |
xh  | xho | Xhosa | | isiXhosa
yi  | yid | Yiddish | ji; ydd | Eastern Yiddish; ייִדיש
yo  | yor | Yoruba | |
za  | zha | Zhuang | | Chuang
zh  | zho | Chinese | chi; cmn | ChineseT; Chinese Traditional; Chinese Simplified; Traditional Chinese; Simplified Chinese; Mandarin; Mandarin Chinese; 中文; 汉语; 漢語
zu  | zul | Zulu | | isiZulu
arz | arz | Egyptian Arabic | | Masri; Egyptian
ast | ast | Asturian | |
azb | azb | South Azerbaijani | | Southern Azerbaijani; Iranian Azerbaijani
bar | bar | Bavarian | |
bcl | bcl | Central Bikol | | Bikol
bho | bho | Bhojpuri | |
bpy | bpy | Bishnupriya | | Bishnupriya Manipuri
bxr | bxr | Russia Buriat | | Buriat; Buryat
cbk | cbk | Chavacano | | Zamboanga Chavacano
ceb | ceb | Cebuano | | Binisaya
chr | chr | Cherokee | |
ckb | ckb | Central Kurdish | | Sorani; Kurdish Sorani
cnr | cnr | Montenegrin | |
crs | crs | Seselwa Creole French | | Seselwa; Seychellois Creole
diq | diq | Zazaki | | Dimli; Southern Zaza; Zaza
dsb | dsb | Lower Sorbian | |
dty | dty | Doteli | | Dotyali
eml | eml | Emilian-Romagnol | | Emiliano-Romagnolo
frr | frr | Northern Frisian | | North Frisian
gaa | gaa | Ga | | Ga language
gan | gan | Gan Chinese | | Gan
gom | gom | Goan Konkani | |
gsw | gsw | Alemannic German | | Alemannic; Swiss German; Alsatian
haw | haw | Hawaiian | |
hif | hif | Fiji Hindi | |
hmn | hmn | Hmong | |
hsb | hsb | Upper Sorbian | |
ilo | ilo | Iloko | | Ilocano; Ilokano
jbo | jbo | Lojban | |
kha | kha | Khasi | |
kok | kok | Konkani | |
krc | krc | Karachay-Balkar | |
kri | kri | Krio | |
lez | lez | Lezghian | | Lezgian; Lezgi
lif | lif | Limbu | |
lmo | lmo | Lombard | |
loz | loz | Lozi | |
lrc | lrc | Northern Luri | | Luri
lua | lua | Luba-Lulua | | Luba_Lulua; Tshiluba
luo | luo | Luo | | Dholuo; Luo (Kenya and Tanzania); Luo_Kenya_and_Tanzania
mai | mai | Maithili | |
mfe | mfe | Morisyen | | Mauritian Creole; Mauritian_Creole
mhr | mhr | Eastern Mari | | Meadow Mari
min | min | Minangkabau | |
mrj | mrj | Western Mari | | Hill Mari
mwl | mwl | Mirandese | |
myv | myv | Erzya | |
mzn | mzn | Mazanderani | |
nah | nah | Nahuatl | | Nahuatl languages
nap | nap | Neapolitan | |
nds | nds | Low German | | Low Saxon; Plattdeutsch
new | new | Newari | | Nepal Bhasa; Newar
nso | nso | Northern Sotho | | Pedi; Sepedi
pam | pam | Pampanga | | Kapampangan; Pampangan
pfl | pfl | Palatine German | |
pms | pms | Piedmontese | |
pnb | pnb | Western Panjabi | | Western Punjabi
prs | prs | Dari | | Dari Persian; Afghan Persian
raj | raj | Rajasthani | |
rue | rue | Rusyn | |
sah | sah | Yakut | | Sakha
scn | scn | Sicilian | |
sco | sco | Scots | |
syr | syr | Syriac | |
tum | tum | Tumbuka | |
tyv | tyv | Tuvinian | | Tuvan
vec | vec | Venetian | |
vep | vep | Veps | | Vepsian
vls | vls | West Flemish | | Vlaams
war | war | Waray | | Waray-Waray; Waray (Philippines); Waray_Philippines; Winaray
wuu | wuu | Wu Chinese | | Wu; Shanghainese
xal | xal | Kalmyk | | Kalmyk Oirat
xmf | xmf | Mingrelian | |
yue | yue | Cantonese | | Yue Chinese; Yue; 粵語; 廣東話
"""

# Labels that say "no language": detectors' unknown/undetermined values, ISO's special codes
# (und undetermined, zxx no linguistic content, mis uncoded, mul multiple), CLD2's "xx"/"xxx"
# and its joke languages shown through ICU (zzb Bork, zze Elmer Fudd, zzh Hacker, zzp Pig
# Latin), and Klingon: in LMSYS-Chat-1M it is CLD2's guess for gibberish, not real Klingon.
# Matched after normalisation (see ``normalize_label``). "nan" is what a missing value becomes
# when a data frame is written as text (and also Min Nan's 639-3 code, which is therefore not
# in the table: import fails if a no-language key is ever added as a language).
_NO_LANGUAGE = (
    "unknown; unknown language; un; und; undetermined; undefined; zxx; no linguistic content; mis; "
    "uncoded; mul; multiple; multiple languages; multilingual; mixed; other; xx; xxx; zz; zp; zzp; "
    "zzb; zze; zzh; pig latin; bork bork bork; elmer fudd; hacker; klingon; tlh; ignore; "
    "unknown_language; tg_unknown_language; none; null; nan"
)
# Matched on the raw (stripped, case-folded) text, because normalisation would turn "n/a" into
# "na", which is Nauru's code.
_NO_LANGUAGE_RAW = frozenset({"n/a", "-", "--", "?", "??", "???"})

# A few labels whose meaning depends on case: CLD2 calls the Ga language "GA" and ICU "Ga",
# while "ga" is the ISO code of Irish. Lower-case "ga" stays Irish.
_CASE_SENSITIVE = {"GA": "gaa", "Ga": "gaa"}

# lid.176's 176 labels, as the model file lists them (checked against the real file by the
# tests). They are mostly Wikipedia language codes, which are ISO codes except for one:
# Wikipedia "als" is Alemannic German (ISO gsw), while ISO 639-3 "als" is Tosk Albanian.
_LID176 = """
    af als am an ar arz as ast av az azb ba bar bcl be bg bh bn bo bpy br bs bxr ca cbk ce ceb
    ckb co cs cv cy da de diq dsb dty dv el eml en eo es et eu fa fi fr frr fy ga gd gl gn gom
    gu gv he hi hif hr hsb ht hu hy ia id ie ilo io is it ja jbo jv ka kk km kn ko krc ku kv kw
    ky la lb lez li lmo lo lrc lt lv mai mg mhr min mk ml mn mr mrj ms mt mwl my myv mzn nah nap
    nds ne new nl nn no oc or os pa pam pfl pl pms pnb ps pt qu rm ro ru rue sa sah sc scn sco sd
    sh si sk sl so sq sr su sv sw ta te tg th tk tl tr tt tyv ug uk ur uz vec vep vi vls vo wa
    war wuu xal xmf yi yo yue zh
"""
LID176_LABELS: tuple[str, ...] = tuple(_LID176.split())
_LID_EXCEPTIONS = {"als": "gsw"}

# Near-language groups for the `default` preset: a labelled language counts as detected when
# the lid.176 probabilities of its group sum to the threshold. A group is only made where
# (a) the members are one language, one ISO macrolanguage, or one pluricentric standard, AND
# (b) lid.176 splits text that a label source names with one label. Measured numbers and the
# groups considered and rejected (da/no, mk/sr, hi/ne, ur/pnb ...) are in docs/languages.md.
NEAR_GROUPS: tuple[frozenset[str], ...] = (
    # Chinese macrolanguage (zho). "Chinese" labels cover Cantonese/Wu text, which lid.176
    # scores as yue/wuu (written Cantonese: yue 0.85-0.98). gan is not a lid.176 label but
    # belongs to the same macrolanguage.
    frozenset({"zh", "yue", "wuu", "gan"}),
    # Norwegian (nor) = Bokmål + Nynorsk; CLD2 says NORWEGIAN, lingua BOKMAL/NYNORSK, lid.176
    # has no and nn (no nb) and splits between them.
    frozenset({"no", "nb", "nn"}),
    # Malay macrolanguage (msa): Indonesian is a standard of Malay; lid.176 gives Indonesian
    # prompts id 0.7 / ms 0.3 and Malaysian ones ms 0.4-0.8 / id 0.2-0.5.
    frozenset({"ms", "id"}),
    # Serbo-Croatian (hbs): one pluricentric language with four standards; lid.176 spreads a
    # single sentence over sr, hr, bs and sh (e.g. sr 0.31 / hr 0.31 / sh 0.08).
    frozenset({"sh", "sr", "hr", "bs", "cnr"}),
    # Persian macrolanguage (fas) = Iranian Persian (pes, our fa) + Dari (prs); lid.176 has
    # only fa. Tajik (Cyrillic script) and Mazanderani/Luri (distinct languages) stay out.
    frozenset({"fa", "prs"}),
    # Arabic macrolanguage (ara): Egyptian Arabic is a member; lid.176 has ar and arz and
    # scores Egyptian colloquial text as ar 0.99.
    frozenset({"ar", "arz"}),
    # Azerbaijani macrolanguage (aze) = North (azj, Latin script: our az) + South (azb,
    # Arabic script, Iran); "Azerbaijani" labels cover both, lid.176 has az and azb.
    frozenset({"az", "azb"}),
    # Kurdish macrolanguage (kur): lid.176 ku is Kurmanji, ckb is Sorani; CLD2's KURDISH
    # label covers both.
    frozenset({"ku", "ckb"}),
    # Punjabi written in Gurmukhi (India, pa) and Shahmukhi (Pakistan, pnb); CLD2 and lingua
    # only know "Punjabi".
    frozenset({"pa", "pnb"}),
    # Bihari: ICU (so LMSYS) names CLD2's "bh" as "Bhojpuri", and lid.176's bh is trained on
    # Bhojpuri Wikipedia.
    frozenset({"bh", "bho"}),
    # Konkani macrolanguage (kok); lid.176's gom (Goan Konkani) is the written standard.
    frozenset({"kok", "gom"}),
)


_KEEP = re.compile(r"[\W_]+")
_TAG_SPLIT = re.compile(r"[-_]")
_PARENS = re.compile(r"\s*\(.*\)\s*$")


def normalize_label(label: str) -> str:
    """The matching key of a label: accents removed, case folded, and everything that is not
    a letter or digit dropped ("Norwegian_N" -> "norwegiann", "Volapük" -> "volapuk")."""
    decomposed = unicodedata.normalize("NFKD", label)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _KEEP.sub("", stripped.casefold())


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _build() -> tuple[dict[str, str], dict[str, str], dict[str, str], dict[str, str]]:
    """Parse ``_TABLE`` into (key -> code for codes, key -> code for names, code -> name,
    code -> 639-3). A key that would mean two languages is a bug in the table: fail at import."""
    code_keys: dict[str, str] = {}
    name_keys: dict[str, str] = {}
    names: dict[str, str] = {}
    iso3: dict[str, str] = {}

    def put(target: dict[str, str], key: str, code: str, what: str) -> None:
        if not key:
            raise RuntimeError(f"languages table: empty {what} for {code!r}")
        if target.get(key, code) != code:
            raise RuntimeError(f"languages table: {what} {key!r} maps to both {target[key]!r} and {code!r}")
        target[key] = code

    for line in _TABLE.strip().splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) != 5:
            raise RuntimeError(f"languages table: expected 5 cells in {line!r}")
        code, three, name, codes, aliases = cells
        if code in names:
            raise RuntimeError(f"languages table: {code!r} listed twice")
        names[code] = name
        iso3[code] = three
        for other in [code, three, *_split(codes)]:
            put(code_keys, normalize_label(other), code, "code")
        for other in [name, *_split(aliases)]:
            if other not in _CASE_SENSITIVE:  # "Ga" is matched by case, its key is Irish's code
                put(name_keys, normalize_label(other), code, "name")
    for key, code in name_keys.items():
        if code_keys.get(key, code) != code:
            raise RuntimeError(
                f"languages table: {key!r} is a code of {code_keys[key]!r} and a name of {code!r}"
            )
    return code_keys, name_keys, names, iso3


_CODE_KEYS, _NAME_KEYS, _NAMES, _ISO3 = _build()
_ALL_KEYS = {**_NAME_KEYS, **_CODE_KEYS}
_NO_LANGUAGE_KEYS = frozenset(normalize_label(x) for x in _split(_NO_LANGUAGE))
if _NO_LANGUAGE_KEYS & _ALL_KEYS.keys():  # pragma: no cover - a table bug
    raise RuntimeError(f"languages table: no-language labels clash: {_NO_LANGUAGE_KEYS & _ALL_KEYS.keys()}")

_GROUP_OF: dict[str, frozenset[str]] = {}
for _group in NEAR_GROUPS:
    for _member in _group:
        if _member not in _NAMES or _member in _GROUP_OF:  # pragma: no cover - a table bug
            raise RuntimeError(f"near groups: {_member!r} is not in the table or is in two groups")
        _GROUP_OF[_member] = _group
for _code in _NAMES:
    _GROUP_OF.setdefault(_code, frozenset({_code}))

_LID_TO_CODE: dict[str, str] = {}
for _label in LID176_LABELS:
    _target = _LID_EXCEPTIONS.get(_label, _label)
    if _target not in _NAMES:  # pragma: no cover - a table bug
        raise RuntimeError(f"lid.176 label {_label!r} has no table entry")
    _LID_TO_CODE[_label] = _LID_TO_CODE["__label__" + _label] = _target


class _NoLanguage:
    """Marks a resolved "no language" label in the cache."""


class _Unmapped:
    """Marks an unmapped label in the cache, with its hint (computing one costs ~1 ms)."""

    def __init__(self, hint: str) -> None:
        self.hint = hint


_NONE = _NoLanguage()
_UNMAPPED = _Unmapped("")


@functools.lru_cache(maxsize=8192)
def _resolve(label: str) -> str | _NoLanguage | _Unmapped:
    """``_lookup`` cached per distinct label: a data set has few distinct labels, so the
    hot loop almost always hits the cache, unmapped labels included."""
    result = _lookup(label)
    return _Unmapped(_hint(label)) if result is _UNMAPPED else result


def _lookup(label: str) -> str | _NoLanguage | _Unmapped:
    text = label.strip()
    if not text or text.casefold() in _NO_LANGUAGE_RAW:
        return _NONE
    if text in _CASE_SENSITIVE:
        return _CASE_SENSITIVE[text]
    # CLD2's pseudo-languages (X_Arabic, X_KLINGON ...) and BCP-47 private use (x-...).
    if text.casefold().startswith(("x_", "x-")):
        return _NONE
    key = normalize_label(text)
    if key in _NO_LANGUAGE_KEYS:
        return _NONE
    code = _ALL_KEYS.get(key)
    if code is not None:
        return code
    # "Portuguese (Brazil)", "Chinese (Traditional)": ICU display names with a qualifier.
    base = _PARENS.sub("", text)
    if base != text and base:
        return _lookup(base)
    return _lookup_tag(text)


def _lookup_tag(text: str) -> str | _NoLanguage | _Unmapped:
    """BCP-47-like tags: "pt-BR", "zh_CN", "zh-Hant-TW", "sr-Latn", "xx-Latn", "zh-yue"."""
    parts = _TAG_SPLIT.split(text)
    primary = parts[0].casefold()
    if len(parts) < 2 or not (2 <= len(primary) <= 3 and primary.isascii() and primary.isalpha()):
        return _UNMAPPED
    if not all(part.isascii() and part.isalnum() and 1 <= len(part) <= 8 for part in parts[1:]):
        return _UNMAPPED
    # Extended language subtag: zh-yue is Cantonese, ar-arz Egyptian Arabic, zh-cmn Chinese.
    extlang = parts[1].casefold()
    if len(extlang) == 3 and extlang.isalpha() and extlang in _CODE_KEYS:
        return _CODE_KEYS[extlang]
    if primary in _NO_LANGUAGE_KEYS:
        return _NONE
    return _CODE_KEYS.get(primary, _UNMAPPED)


def _hint(label: str) -> str:
    close = difflib.get_close_matches(normalize_label(label), list(_ALL_KEYS), n=5, cutoff=0.75)
    codes = list(dict.fromkeys(_ALL_KEYS[key] for key in close))[:3]
    guess = f"; did you mean {' or '.join(f'{_NAMES[c]} ({c})' for c in codes)}?" if codes else ""
    return (
        "it is not a language name, an ISO 639 code, a BCP-47 tag or a 'no language' value such "
        f"as 'unknown'{guess} To accept it, add it to the table in src/tagengo/lang/languages.py "
        "(see docs/languages.md)"
    )


def label_to_code(label: str | None) -> str | None:
    """The record code of a data set's language label.

    Accepts names in any case and punctuation ("PORTUGUESE", "Norwegian_N", "ChineseT",
    "Volapük"), ISO 639-1/639-2/639-3 codes (also deprecated ones: iw, in, ji, jw, mo) and
    BCP-47 tags ("pt-BR", "zh_Hant", "zh-yue"). Returns None for labels that say "no language"
    (None, "", "unknown", "und", "xx", "zzp", "Klingon" ... see ``is_unknown_label``). Raises
    ``UnknownLanguageLabel``, with a hint, for a label that is none of these.
    """
    if label is None:
        return None
    if not isinstance(label, str):
        if isinstance(label, float) and label != label:  # NaN: pandas' missing value
            return None
        raise TypeError(f"a language label must be a string or None, not {type(label).__name__}: {label!r}")
    result = _resolve(label)
    if isinstance(result, str):
        return result
    if isinstance(result, _Unmapped):
        raise UnknownLanguageLabel(label, result.hint)
    return None


def is_unknown_label(label: str | None) -> bool:
    """True for labels that say "no language" (None, empty, "unknown", "und", "zxx", "xx",
    "xx-Latn", "zzp", "zp", "Klingon", CLD2's "X_..." pseudo-languages). False for every real
    language label, and also for unmapped labels: those are errors, not "unknown"."""
    try:
        return label_to_code(label) is None
    except UnknownLanguageLabel:
        return False


def code_to_name(code: str) -> str:
    """The English display name of a record code ("pt" -> "Portuguese")."""
    name = _NAMES.get(code)
    if name is None:
        raise UnknownLanguageLabel(
            code, "code_to_name takes a record code; map labels with label_to_code first"
        )
    return name


def iso639_3(code: str) -> str:
    """The ISO 639-3 code of a record code ("pt" -> "por"; for the collective or retired
    codes bh, nah and eml, the ISO 639-2/5 or retired code)."""
    three = _ISO3.get(code)
    if three is None:
        raise UnknownLanguageLabel(code, "iso639_3 takes a record code; map labels with label_to_code first")
    return three


def is_known_code(code: str) -> bool:
    """True if ``code`` is a record code of the table."""
    return code in _NAMES


def all_codes() -> tuple[str, ...]:
    """Every record code of the table, sorted."""
    return tuple(sorted(_NAMES))


def near_group(code: str) -> frozenset[str]:
    """The near-language group of a record code (``frozenset({code})`` when it has none)."""
    group = _GROUP_OF.get(code)
    return group if group is not None else frozenset({code})


def group_score(code: str, scores: Mapping[str, float]) -> float:
    """Sum of ``scores`` (record code -> probability) over the near-language group of ``code``."""
    return sum(scores.get(member, 0.0) for member in near_group(code))


def lid_label_to_code(label: str) -> str:
    """The record code of a lid.176 label: "__label__pt" or "pt" -> "pt", "als" -> "gsw".

    Labels of other fastText models (e.g. "__label__eng_Latn") fall back to
    ``label_to_code``. Raises ``UnknownLanguageLabel`` for labels that map to no language.
    """
    code = _LID_TO_CODE.get(label)
    if code is not None:
        return code
    bare = label[len("__label__") :] if label.startswith("__label__") else label
    try:
        code = label_to_code(bare)
    except UnknownLanguageLabel as exc:
        raise UnknownLanguageLabel(label, "not a lid.176 label, nor a known language code") from exc
    if code is None:
        raise UnknownLanguageLabel(label, "this model label means 'no language'; it has no record code")
    return code


_FASTTEXT_MAGIC = 793712314


def read_fasttext_labels(path: str | Path) -> list[str]:
    """The labels of a fastText model file (.bin or .ftz), read from its dictionary header
    without loading the model (fasttext-predict has no ``get_labels``). Labels keep their
    "__label__" prefix, in the file's order (most frequent first)."""
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8 or struct.unpack("<i", head[:4])[0] != _FASTTEXT_MAGIC:
            raise ValueError(f"{path} is not a fastText model file (bad magic number)")
        fh.read(12 * 4 + 8)  # training arguments: 12 int32 and one double
        size, _nwords, nlabels = struct.unpack("<3i", fh.read(12))
        fh.read(16)  # ntokens, pruneidx_size (int64 each)
        labels: list[str] = []
        buf, pos = b"", 0
        for _ in range(size):
            # An entry: the word's UTF-8 bytes, a NUL, its count (int64) and type (int8).
            end = buf.find(b"\0", pos)
            while end < 0 or len(buf) - end < 10:
                more = fh.read(1 << 20)
                if not more:
                    raise ValueError(f"{path}: the dictionary ends early")
                buf, pos = buf[pos:] + more, 0
                end = buf.find(b"\0")
            if buf[end + 9] == 1:
                labels.append(buf[pos:end].decode("utf-8"))
            pos = end + 10
    if len(labels) != nlabels:
        raise ValueError(f"{path}: read {len(labels)} labels, the header says {nlabels}")
    return labels
