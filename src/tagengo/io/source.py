"""Input sources: files (JSONL, JSON arrays, Parquet; JSON compressed with gzip, bzip2, xz or
zstd) or a tagengo dataset folder.

A source is cut into deterministic *chunks* (a run of lines of one file, or a Parquet row
group range). Chunks are the unit of parallel work and of resume: chunk ``(f, k)`` always
holds the same rows for the same input, so a resumed run can skip finished chunks.

Reading bytes happens in the main process; decoding JSON and converting to records
(``parse_chunk``) happens in workers, so both cores share the expensive part.

What the source finds wrong with its files as a whole is in ``Source.warnings``: shards of a
``-of-`` set that are missing (io/shards.py) and files that are damaged (io/damage.py; what
could be read of them is kept, the damage is one quarantine entry).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tagengo.errors import BadRow, InputError
from tagengo.io.damage import COMPRESSIONS, damage_reason, empty_reason, open_bytes, read_errors
from tagengo.io.formats import CONVERTERS, DATASET_NAMES, _kind, sniff_format
from tagengo.io.parquet import iter_parquet_batches, parquet_rows, read_parquet_schema
from tagengo.io.shards import missing_shards
from tagengo.io.text import cut_off_reason, strip_bom
from tagengo.records import Quarantined, Record

if TYPE_CHECKING:  # imported by the Parquet reader: `tagengo generate` calls before it needs pyarrow
    import pyarrow as pa

FORMATS = tuple(CONVERTERS)
#: Longest input line accepted, in bytes. Longer lines are quarantined without being parsed.
MAX_LINE_BYTES = 4 * 1024 * 1024
_JSONL_SUFFIXES = tuple(f"{kind}{z}" for kind in (".jsonl", ".json", ".ndjson") for z in ("", *COMPRESSIONS))


@dataclass
class Chunk:
    """A unit of work: rows of one file. ``lines`` for JSON files, ``table`` for Parquet."""

    key: str  # "fff-kkkkk": file index and chunk index, stable across runs
    file: str
    first_line: int  # 1-based line (or row) number of the first item
    lines: list[bytes] | None = None
    table: pa.Table | None = None
    # Damage found while reading bytes (a truncated gzip): quarantined as it is (io/damage.py).
    problems: list[Quarantined] = field(default_factory=list)
    #: Lines (rows) of the input file this chunk holds, where a source makes several rows of
    #: one (translate: one per target language); None where each row is one line.
    input_lines: int | None = None

    def __len__(self) -> int:
        return len(self.lines) if self.lines is not None else (self.table.num_rows if self.table else 0)


@dataclass
class Source:
    """Where rows come from: resolved files plus their format."""

    path: Path
    files: list[Path]
    format: str
    source_name: str | None = None  # value for Record.source; default from format/file name
    #: What is wrong with the files as a whole (missing shards, damaged files), one sentence
    #: each naming the file; damage is added as the chunks are read.
    warnings: list[str] = field(default_factory=list)
    #: Called once, just before the first chunk is handed out (not on each read of the source).
    #: A process pool pulls its chunks from a feeding thread only once its workers are forked,
    #: so what this starts in a thread (curate's end-of-run imports) cannot be caught mid-import
    #: by a fork.
    on_first_chunk: Callable[[], object] | None = field(default=None, repr=False, compare=False)

    @property
    def is_dataset(self) -> bool:
        return self.format == "tagengo"

    def name_for(self, file: Path) -> str:
        if self.source_name:
            return self.source_name
        return DATASET_NAMES.get(self.format, file.name.split(".")[0])

    def fingerprint(self) -> str:
        """Content hash of every input file (names relative to the input, sizes, bytes)."""
        h = hashlib.blake2b(digest_size=16)
        h.update(self.format.encode())
        for f in self.files:
            h.update(f.name.encode())
            h.update(str(f.stat().st_size).encode())
            with f.open("rb") as fh:
                while block := fh.read(1 << 22):
                    h.update(block)
        return h.hexdigest()

    def iter_chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        for fi, f in enumerate(self.files):
            chunks = (
                _parquet_chunks(fi, f, chunk_rows)
                if f.suffix == ".parquet"
                else _jsonl_chunks(fi, f, chunk_rows)
            )
            for chunk in self.noting_damage(chunks):
                if self.on_first_chunk is not None:
                    hook, self.on_first_chunk = self.on_first_chunk, None
                    hook()
                yield chunk

    def noting_damage(self, chunks: Iterator[Chunk]) -> Iterator[Chunk]:
        """``chunks``, with the damage they report to their files added to ``warnings`` (a
        subclass that reads its files its own way passes its chunks through here too)."""
        for chunk in chunks:
            for problem in chunk.problems:  # only damage to the file comes with the bytes
                warning = f"{problem.file}: {problem.reason}"
                if warning not in self.warnings:  # a source may be read twice (resume, route)
                    self.warnings.append(warning)
            yield chunk


def _damaged(fi: int, k: int, path: Path, first: int, reason: str) -> Chunk:
    """The chunk that ends a damaged file: no rows, the damage as one quarantine entry at the
    line (or row) where reading stopped."""
    return Chunk(f"{fi:03d}-{k:05d}", str(path), first, [], problems=[Quarantined(str(path), first, reason)])


def _jsonl_chunks(fi: int, path: Path, chunk_rows: int) -> Iterator[Chunk]:
    if _is_json_array(path):
        yield from _json_array_chunks(fi, path, chunk_rows)
        return
    if (reason := empty_reason(path)) is not None:
        yield _damaged(fi, 0, path, 1, reason)
        return
    lines: list[bytes] = []
    first = 1
    k = 0
    lineno = 0
    fh = open_bytes(path)
    try:
        try:
            for raw in fh:
                lineno += 1
                # A byte-order mark opens the file, not the first row (io/text.py).
                lines.append(strip_bom(raw) if lineno == 1 else raw)
                if len(lines) >= chunk_rows:
                    yield Chunk(f"{fi:03d}-{k:05d}", str(path), first, lines)
                    k += 1
                    first = lineno + 1
                    lines = []
        except read_errors() as exc:
            # A truncated or corrupt archive: keep what was read, quarantine the rest as one entry.
            problem = Quarantined(str(path), lineno + 1, damage_reason(path, exc, lineno, "line"))
            yield Chunk(f"{fi:03d}-{k:05d}", str(path), first, lines, problems=[problem])
            return
    finally:
        fh.close()
    if lines or k == 0:
        yield Chunk(f"{fi:03d}-{k:05d}", str(path), first, lines)


def _is_json_array(path: Path) -> bool:
    """A .json file holding one array of rows (how ShareGPT dumps are usually shared)."""
    if not path.name.endswith(tuple(f".json{z}" for z in ("", *COMPRESSIONS))):
        return False
    try:
        with open_bytes(path) as fh:
            head = strip_bom(fh.read(4096)).lstrip()
    except read_errors():
        return False  # damaged: the line reader keeps what it can and names the damage
    return head.startswith(b"[")


def _json_array_chunks(fi: int, path: Path, chunk_rows: int) -> Iterator[Chunk]:
    # A JSON array has no line structure to resume on; it is loaded whole. Items are
    # re-encoded as one "line" each so the same parser (and error reporting) applies;
    # the "line" number is the item's index + 1.
    try:
        with open_bytes(path) as fh:
            data = fh.read()
    except read_errors() as exc:  # an array cut short has no item to keep
        yield _damaged(fi, 0, path, 1, damage_reason(path, exc, 0, "item"))
        return
    try:
        items = json.loads(strip_bom(data))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: not a valid JSON array ({exc}). Fix the file or convert it to JSONL."
        ) from exc
    for k, start in enumerate(range(0, max(len(items), 1), chunk_rows)):
        part = items[start : start + chunk_rows]
        yield Chunk(f"{fi:03d}-{k:05d}", str(path), start + 1, [_item_line(x) for x in part])


def _item_line(item: object) -> bytes:
    """One array item as a JSON line. ``json.loads`` lets an unpaired surrogate escape
    (``"\\ud83d"``) through as a lone surrogate, which UTF-8 cannot hold: such an item is written
    back escaped, so the line parser quarantines it with its reason like any JSONL line."""
    try:
        return json.dumps(item, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(item).encode()


def _parquet_chunks(fi: int, path: Path, chunk_rows: int) -> Iterator[Chunk]:
    if (reason := empty_reason(path)) is not None:
        yield _damaged(fi, 0, path, 1, reason)
        return
    import pyarrow as pa

    first = 1
    k = 0
    try:
        for batch in iter_parquet_batches(path, chunk_rows):
            yield Chunk(f"{fi:03d}-{k:05d}", str(path), first, table=pa.Table.from_batches([batch]))
            first += batch.num_rows
            k += 1
    except InputError as exc:  # io/parquet.py's error for a damaged file, pyarrow's below it
        cause = exc.__cause__ or exc
        yield _damaged(fi, k, path, first, damage_reason(path, cause, first - 1, "row", parquet_rows(path)))


def _decode(raw: bytes) -> object:
    import orjson

    return orjson.loads(raw)


def parse_chunk(chunk: Chunk, fmt: str, source_name: str) -> tuple[list[Record], list[Quarantined]]:
    """Decode and convert one chunk. Every item becomes a Record or a Quarantined entry."""
    from tagengo.io.language_labels import assign_language

    convert = CONVERTERS[fmt]
    records: list[Record] = []
    bad: list[Quarantined] = list(chunk.problems)
    if chunk.table is not None:
        items: Iterator[tuple[int, object, bytes | None]] = (
            (chunk.first_line + i, row, None) for i, row in enumerate(chunk.table.to_pylist())
        )
    else:
        items = _decoded_lines(chunk, bad)
    for lineno, obj, raw in items:
        try:
            if not isinstance(obj, dict):
                raise BadRow(f"row should be a JSON object, got {_kind(obj)}")
            rec = convert(obj, source_name)
            assign_language(rec)
            records.append(rec)
        except BadRow as exc:
            bad.append(Quarantined(chunk.file, lineno, exc.reason, exc.field, _raw_text(raw, obj)))
        except (RecursionError, TypeError, ValueError) as exc:
            bad.append(Quarantined(chunk.file, lineno, f"unreadable row: {exc}", None, _raw_text(raw, obj)))
    return records, bad


def _decoded_lines(chunk: Chunk, bad: list[Quarantined]) -> Iterator[tuple[int, object, bytes]]:
    import orjson

    assert chunk.lines is not None
    loads = orjson.loads
    for i, raw in enumerate(chunk.lines):
        lineno = chunk.first_line + i
        if len(raw) > MAX_LINE_BYTES:
            bad.append(
                Quarantined(chunk.file, lineno, f"line is {len(raw):,} bytes (limit {MAX_LINE_BYTES:,})")
            )
            continue
        # ``not raw.strip()``, without copying every line: bytes.isspace is False at the first
        # byte that is no ASCII whitespace, the set strip() removes.
        if not raw or raw.isspace():
            bad.append(Quarantined(chunk.file, lineno, "blank line"))
            continue
        try:
            obj = loads(raw)
        except Exception as exc:  # orjson.JSONDecodeError, also for invalid UTF-8 and lone surrogates
            msg = str(exc)
            if "utf-8" in msg.lower():
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as bad_bytes:  # orjson's own message names no byte
                    byte = raw[bad_bytes.start]
                    msg = f"byte 0x{byte:02x} at column {bad_bytes.start + 1} (Latin-1 or another encoding?)"
                reason = "invalid UTF-8"
            elif "surrogate" in msg.lower():  # a \\ud800 escape with no pair: not a Unicode character
                reason = "invalid JSON string (an unpaired UTF-16 surrogate escape)"
            else:
                # "invalid JSON" stays first: reasons are grouped by what comes before the colon.
                cut = cut_off_reason(raw)
                reason = f"invalid JSON: {cut}" if cut else "invalid JSON"
            bad.append(Quarantined(chunk.file, lineno, f"{reason}: {msg}", None, _raw_text(raw, None)))
            continue
        yield lineno, obj, raw


def _raw_text(raw: bytes | None, obj: object) -> str | None:
    if raw is not None:
        return raw[:8192].decode("utf-8", errors="replace").rstrip("\n")
    if obj is None:
        return None
    try:
        return json.dumps(obj, ensure_ascii=False, default=str)[:8192]
    except (TypeError, ValueError):
        return repr(obj)[:8192]


def _dataset_files(path: Path) -> list[Path]:
    files = sorted((path / "data").glob("*.parquet"))
    if not files:
        raise InputError(f"{path}: a tagengo dataset folder but data/ holds no .parquet files.")
    return files


def _data_files(folder: Path) -> list[Path]:
    """The data files of a folder and its subfolders, in path order: a downloaded snapshot lays
    its files out as ``data/train-00000-of-00006.parquet`` (LMSYS-Chat-1M, WildChat). Hidden
    folders (``.git``, ``.cache``, a download tool's ``.huggingface``) are skipped."""
    return sorted(
        f
        for f in folder.rglob("*")
        if f.name.endswith((*_JSONL_SUFFIXES, ".parquet"))
        and f.is_file()
        and not any(part.startswith(".") for part in f.relative_to(folder).parts)
    )


def is_dataset_folder(path: Path) -> bool:
    return path.is_dir() and (path / "manifest.json").exists() and (path / "data").is_dir()


def open_source(
    path: str | os.PathLike[str], fmt: str | None = None, source_name: str | None = None
) -> Source:
    """Resolve an input path (a file, a folder of files, or a tagengo dataset folder)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder. Check the --input path.")
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"unknown format '{fmt}'. Choose one of: {', '.join(FORMATS)}.")
    if is_dataset_folder(p):
        return Source(p, _dataset_files(p), fmt or "tagengo", source_name)
    warnings: list[str] = []
    if p.is_dir():
        files = _data_files(p)
        if not files:
            raise InputError(f"{p}: folder holds no {_KINDS} files (subfolders included).")
        warnings = missing_shards(files)
    else:
        if not p.name.endswith((*_JSONL_SUFFIXES, ".parquet")):
            raise InputError(f"{p}: unsupported file type. Use {_KINDS}.")
        files = [p]
    for f in files:
        _refuse_utf16(f)
    return Source(p, files, fmt or _one_format(p, files), source_name, warnings)


#: The files a source reads, as messages name them.
_KINDS = ".jsonl, .json, .ndjson or .parquet (JSON compressed .gz, .bz2, .xz or .zst)"


#: Byte-order marks of the encodings that are not UTF-8 (UTF-32 first: its LE mark starts
#: with UTF-16 LE's).
_OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def _refuse_utf16(path: Path) -> None:
    """An InputError for a text file in UTF-16 or UTF-32 (PowerShell's ``>`` and some Windows
    editors write UTF-16): read as UTF-8, every line would be quarantined as "invalid UTF-8"."""
    if path.name.endswith(".parquet"):
        return
    try:
        with open_bytes(path) as fh:
            head = fh.read(4)
    except read_errors():
        return  # unreadable: the reader quarantines it with the reason
    for bom, name in _OTHER_BOMS:
        if head.startswith(bom):
            raise InputError(
                f"{path}: the file is {name} (it starts with the byte-order mark {bom.hex(' ').upper()}, as "
                f"PowerShell's > and some Windows editors write); save it as UTF-8, e.g. "
                f"`iconv -f {name} -t UTF-8 {path.name} > {path.stem}.utf8{path.suffix}`"
            )


def _one_format(folder: Path, files: list[Path]) -> str:
    """The format of every file in ``files``, detected per file: one format is applied to all,
    so a folder that mixes formats would quarantine every row of the other files."""
    found: dict[str, list[str]] = {}
    for f in files:
        fmt = _detect(f)
        if fmt is not None:
            found.setdefault(fmt, []).append(f.name)
    if len(found) > 1:
        listing = "; ".join(
            f"{fmt}: {', '.join(names[:3])}{' …' if len(names) > 3 else ''}" for fmt, names in found.items()
        )
        raise InputError(
            f"{folder}: the files are in different formats ({listing}). Put each format in its own "
            "folder and run once per folder, or pass --format to read them all as one."
        )
    # Nothing readable in any file's first rows: read as the generic messages format (below).
    return next(iter(found), None) or detect_format(files[0])


def detect_format(path: Path) -> str:
    """Look at the first readable rows and name the format, or explain why it cannot (rows that
    are JSON objects of no known shape). A file with no readable row at first is read as
    ``messages``: its lines end in the quarantine either way."""
    return _detect(path) or "messages"


def _detect(path: Path) -> str | None:
    """:func:`detect_format`, with None for a file that has no readable row at first."""
    if path.suffix == ".parquet":
        try:
            names = set(read_parquet_schema(path).names)
        except InputError:
            return None  # damaged: the reader quarantines it with the reason (io/damage.py)
        fmt = sniff_format(dict.fromkeys(names))
        if fmt is None:
            raise InputError(f"{path}: cannot tell the format from columns {sorted(names)}; pass --format.")
        return fmt
    chunk = next(_jsonl_chunks(0, path, 200), None)
    any_object = False
    for raw in (chunk.lines or []) if chunk else []:
        try:
            obj = _decode(raw)
        except Exception:
            continue
        any_object = any_object or isinstance(obj, dict)
        if isinstance(obj, dict) and (fmt := sniff_format(obj)):
            return fmt
    if not any_object:
        # Nothing readable in the first rows (broken JSON, blank lines, an empty file): every such
        # line is quarantined whatever the format, so read it as the generic messages format and
        # let the stage finish with its reasons rather than stop on a guess nobody can make.
        return None
    raise InputError(
        f"{path}: cannot tell the format from its first rows; pass --format (one of {', '.join(FORMATS)})."
    )
