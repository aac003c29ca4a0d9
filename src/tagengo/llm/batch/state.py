"""What was submitted, kept next to the request cache so that no batch is paid for twice.

One small JSON file per submitted batch file in ``<cache dir>/<cache name>.batches/`` (for the
default cache, ``.tagengo-cache/llm.batches/``), written atomically at every step of its life:

=============  =================================================================================
``prepared``   its requests are being written to the input JSONL (a crash here: nothing was sent;
               the next run forgets it and submits those requests afresh)
``uploaded``   the input file is at the provider (``input_file_id``); a crash before the batch id
               was recorded is mended by looking the batch up by its input file
``written``    (``--batch-dir``) the input JSONL is written for vLLM's run-batch
provider's     ``validating``, ``in_progress``, ``finalizing``, ``cancelling``: a run polls it;
               ``completed``, ``expired``, ``cancelled``, ``failed``: a run collects what it holds
``collected``  its answers are in the request cache; the file stays as a record (ids, counts),
               without its keys
=============  =================================================================================

``keys`` are the request cache keys of the requests, in the order of the input file's lines (each
line's ``custom_id`` is its key), so that a provider's error naming line 17 names a request.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PREPARED = "prepared"
UPLOADED = "uploaded"
WRITTEN = "written"
COLLECTED = "collected"
#: Provider statuses after which a batch changes no more.
FINAL = frozenset({"completed", "expired", "cancelled", "failed"})


@dataclass
class Submission:
    """One batch file and the batch made from it."""

    local_id: str
    model_id: str
    #: The API root (``https://api.openai.com/v1``, ``{endpoint}/openai``) or, for ``--batch-dir``,
    #: ``dir:<folder>``: batches are only polled by a run that would send them to the same place.
    where: str
    keys: list[str]
    round: int = 0
    status: str = PREPARED
    input_file_id: str | None = None
    batch_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    request_counts: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    submitted: float | None = None
    finished: float | None = None
    input_bytes: int = 0

    @property
    def name(self) -> str:
        """What messages call it: the provider's batch id, else the local id."""
        return self.batch_id or self.local_id


class BatchState:
    """The folder of submission files."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @classmethod
    def next_to(cls, cache_path: Path) -> BatchState:
        cache_path = Path(cache_path)
        return cls(cache_path.parent / f"{cache_path.stem}.batches")

    def new(self, model_id: str, where: str, keys: list[str], round_: int) -> Submission:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        salt = hashlib.sha256(f"{keys[0] if keys else ''}{time.time_ns()}{os.getpid()}".encode()).hexdigest()
        return Submission(f"{stamp}-{salt[:10]}", model_id, where, list(keys), round_)

    def path(self, sub: Submission) -> Path:
        return self.folder / f"{sub.local_id}.json"

    def input_path(self, sub: Submission) -> Path:
        """Where its input JSONL is written before the upload (removed once uploaded)."""
        return self.folder / f"{sub.local_id}.input.jsonl"

    def save(self, sub: Submission) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(sub)
        tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(sub), separators=(",", ":")))
        os.replace(tmp, target)

    def forget(self, sub: Submission) -> None:
        """Drop a submission that never reached the provider."""
        self.path(sub).unlink(missing_ok=True)
        self.input_path(sub).unlink(missing_ok=True)

    def collected(self, sub: Submission) -> None:
        """Mark it collected: its answers are in the cache; the keys are dropped (the file stays
        small and names the batch, its files and counts)."""
        sub.status = COLLECTED
        sub.finished = time.time()
        n = len(sub.keys)
        sub.keys = []
        sub.request_counts = {"total": n, **sub.request_counts}
        self.save(sub)

    def open(self, model_id: str, where: str) -> list[Submission]:
        """Submissions of ``model_id`` to ``where`` not collected yet, oldest first."""
        if not self.folder.is_dir():
            return []
        out = []
        for p in sorted(self.folder.glob("*.json")):
            with contextlib.suppress(OSError, ValueError, TypeError):
                d = json.loads(p.read_text())
                sub = Submission(**d)
                if sub.status != COLLECTED and sub.model_id == model_id and sub.where == where:
                    out.append(sub)
        return sorted(out, key=lambda s: s.created)
