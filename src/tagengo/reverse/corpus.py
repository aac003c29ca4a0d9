"""Read a monolingual corpus as fragments: the responses `tagengo reverse` writes instructions for.

Accepted, as one file or a folder of files:

* plain text (``.txt``, ``.md``): fragments are separated by blank lines; a fragment's id is
  ``<file stem>-L<line of its first line>``;
* JSONL (``.jsonl``, ``.jsonl.gz``, ``.json``) and Parquet: one fragment per row, in a
  ``text`` field (or ``prompt``), with optional ``id`` and ``language``.

Every fragment becomes a record with the text as its one message; unreadable rows and
fragments that are not UTF-8 are quarantined with file and line, as everywhere in tagengo.

The bundled corpus (``tagengo/data/corpus/<lang>.txt``: de, es, fr, it, ja) was written for
tagengo; ``bundled_corpus('de')`` is its path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tagengo.errors import InputError
from tagengo.io.source import Chunk, Source, _jsonl_chunks, _parquet_chunks, is_dataset_folder
from tagengo.io.text import split_lines
from tagengo.records import Quarantined

TEXT_SUFFIXES = (".txt", ".md", ".text")
ROW_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson", ".parquet")


def bundled_corpus(language: str | None = None) -> Path:
    """The bundled corpus folder, or its file for ``language``. Raises ``InputError`` for a
    language it does not have."""
    root = Path(str(resources.files("tagengo") / "data" / "corpus"))
    if language is None:
        return root
    path = root / f"{language}.txt"
    if not path.exists():
        have = ", ".join(sorted(p.stem for p in root.glob("*.txt")))
        raise InputError(f"the bundled corpus has no '{language}' text (it has {have}); give --input.")
    return path


def split_fragments(text: str) -> Iterator[tuple[int, str]]:
    """(1-based line of its first line, fragment) for every blank-line-separated block. Lines
    end at ``\n`` only, as editors and ``grep -n`` count them (U+2028 and the like stay inside
    their line, where ``str.splitlines`` would shift every line number after them)."""
    start = None
    buf: list[str] = []
    for n, line in enumerate(split_lines(text), start=1):
        if line.strip():
            if start is None:
                start = n
            buf.append(line.rstrip())
        elif buf:
            yield start, "\n".join(buf).strip()  # type: ignore[misc]
            start, buf = None, []
    if buf:
        yield start, "\n".join(buf).strip()  # type: ignore[misc]


def _text_chunks(fi: int, path: Path, chunk_rows: int) -> Iterator[Chunk]:
    raw = path.read_bytes()
    lines: list[bytes] = []
    problems: list[Quarantined] = []
    k = 0
    # Decode block by block so one bad byte quarantines one fragment, not the file.
    text = raw.decode("utf-8", errors="surrogateescape")
    for line, fragment in split_fragments(text):
        try:
            fragment.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(Quarantined(str(path), line, "invalid UTF-8 in fragment", "text", None))
            continue
        lines.append(
            json.dumps({"id": f"{path.stem}-L{line}", "text": fragment}, ensure_ascii=False).encode()
        )
        if len(lines) >= chunk_rows:
            yield Chunk(f"{fi:03d}-{k:05d}", str(path), 1, lines, problems=problems)
            k, lines, problems = k + 1, [], []
    if lines or problems or k == 0:
        yield Chunk(f"{fi:03d}-{k:05d}", str(path), 1, lines, problems=problems)


@dataclass
class CorpusSource(Source):
    """A source of fragments: text files split on blank lines, row files read as ``prompts``."""

    def iter_chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        for fi, f in enumerate(self.files):
            if f.name.endswith(TEXT_SUFFIXES):
                yield from _text_chunks(fi, f, chunk_rows)
            elif f.suffix == ".parquet":
                yield from self.noting_damage(_parquet_chunks(fi, f, chunk_rows))
            else:
                yield from self.noting_damage(_jsonl_chunks(fi, f, chunk_rows))


def open_corpus(path: str | os.PathLike[str]) -> Source:
    """A source over a corpus file or folder (see module doc). A tagengo dataset folder is
    read as it is (each row's first message is the fragment)."""
    from tagengo.io.source import open_source

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder. Check the --input path.")
    if is_dataset_folder(p):
        return open_source(p)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.name.endswith((*TEXT_SUFFIXES, *ROW_SUFFIXES)))
        if not files:
            raise InputError(f"{p}: folder holds no .txt, .md, .jsonl or .parquet files.")
    elif p.name.endswith((*TEXT_SUFFIXES, *ROW_SUFFIXES)):
        files = [p]
    else:
        raise InputError(
            f"{p}: unsupported corpus file. Use .txt/.md (blank-line fragments), .jsonl or .parquet."
        )
    return CorpusSource(p, files, "prompts", None)
