"""The operators of the code (and arithmetic) in a prompt: "return x + 1" / "return x - 1",
"a < b" / "a <= b", "==" / "!=", "[i for i in …]" / "{i: i*i for i in …}", "2+3" / "2*3".

The request check reads words; symbols are no words to it, so two prompts that differ only in
their code were "the same content words" (a newcomer's trial, 2026-12-07). Code is the object
of a request to fix or explain it: other code is another request. What a post-edit or another
translation changes in code is kept out: comments, the text of strings, identifiers (MT-Bench-X
post-edits put back "None" for "Ninguno" and rename "cadena2"/"str2"), whitespace and the
language tag of a fence. What is left, and compared, is the sequence of operators and
brackets: the shape of the code, whatever its names. Written for this project.
"""

from __future__ import annotations

import re

#: Fenced blocks (to their end, or the end of the text when unclosed; the info string after the
#: fence is dropped) and inline backticks.
_FENCED = re.compile(r"(?:```|~~~)[\w+#.-]*(.*?)(?:```|~~~|$)", re.DOTALL)
_INLINE = re.compile(r"`([^`\n]+)`")
#: A line of prose that holds code: a keyword that opens code, an operator no prose uses, a
#: line ending in ";", "{" or "}", or arithmetic between numbers or one-letter names ("2+3",
#: "x * 4"; a hyphen is left out there, "2-3 days" is a range).
_CODE_LINE = re.compile(
    r"\b(?:def|return|lambda|elif|printf|console\.log|#include|SELECT|WHERE)\b"
    r"|==|!=|<=|>=|=>|->|&&|\|\||\+=|-=|\*\*|::"
    r"|[;{}]\s*$"
    r"|(?<![\w.])(?:\d+|[A-Za-z])\s*[+*/×÷^=<>%]\s*(?:\d+|[A-Za-z])(?![\w])",
    re.MULTILINE,
)
_COMMENT = re.compile(r"(?<![\w:])#(?!include).*$|//.*$|/\*.*?\*/", re.MULTILINE | re.DOTALL)
_STRING = re.compile(r"\"[^\"\n]*\"|'[^'\n]*'")
#: Operators, and the brackets that open a call, list, set or dict; closing brackets are left
#: out: a machine translation that lost one ("N*a))" / "N*a)))") says the same.
_OPERATOR = re.compile(r"[-+*/%=<>!&|^~×÷]+|[(\[{]")
#: Names of languages that are written with operators ("C++", "C#", "F#"), and hyphens inside
#: words ("n-te", "Python-Funktion"): prose on a line that holds code.
_NOT_OPERATOR = re.compile(r"\b[CF](?:\+\+|#)|(?<=[^\W\d_])-(?=[^\W\d_]{2})")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'"})


#: A sentence's end on a prose line ("x = 4." / "x = 4!"): punctuation, not an operator.
_SENTENCE_END = re.compile(r"[.!?。！？]+(?=\s|$)")


def code_parts(text: str) -> list[str]:
    """The code of a prompt: fenced blocks, inline code, then prose lines that hold code (less
    the punctuation that ends their sentences)."""
    parts = [m.group(1) for m in _FENCED.finditer(text)]
    rest = _FENCED.sub("\n", text)
    parts += [m.group(1) for m in _INLINE.finditer(rest)]
    rest = _INLINE.sub(" ", rest)
    parts += [_SENTENCE_END.sub(" ", line) for line in rest.splitlines() if _CODE_LINE.search(line)]
    return parts


def operators(text: str) -> tuple[str, ...]:
    """The operators and brackets of the prompt's code, in order (comments and strings dropped)."""
    out: list[str] = []
    for part in code_parts(text.translate(_QUOTES)):
        part = _NOT_OPERATOR.sub(" ", _STRING.sub('""', _COMMENT.sub("", part)))
        out += _OPERATOR.findall(part.replace('""', ""))
    return tuple(out)
