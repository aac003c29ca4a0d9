"""The Ray executor: the runner's streaming phase through Ray Data, on one machine or a cluster.

``run_stage(..., executor="ray")`` runs its streaming phase on a :class:`RayExecutor` instead
of the :class:`tagengo.run.executors.LocalExecutor`: the chunks it would give its local process
pool go to :func:`map_chunks`. Everything else in the run is the same code:

* **Streaming steps** (filters, LID, token length, generation) run inside Ray Data actors:
  ``Dataset.map_batches`` with a callable class, one chunk per batch. The actor's constructor
  is the per-worker set-up: it unpickles the steps and calls each ``setup()`` once, so the LID
  model, tokenizer or LLM client is built once per actor, never per row. The steps are the very
  objects the local runner uses; they do not know which executor runs them.
* **Chunks** are the local runner's chunks (the same keys, the same rows), and each result is
  written by the driver under its key exactly as the local runner writes it, so resume works
  across executors and the order results arrive in does not matter.
* **Global steps** (the per-language cap, near-duplicate decisions) run in the driver after
  every chunk is back, over the survivors in chunk-key order, then row order: the same input
  in the same order as the local runner gives them, hence the same decisions. They are exact
  because they are not split: a cap or a duplicate pair spans chunks, so no per-chunk rule
  could decide it.
* **A global step's per-row work** goes out through :class:`RayBatchMap`, which the runner
  sets on every global step: the dedup step sends the prompts missing from its embedding
  cache to actors that each build one embedder, gets the vectors back (with their positions)
  and merges them into the cache and into its matrix in input order; the search and the
  decisions then run in the driver over all of them (docs/ray.md).

Ray is the optional extra ``ray`` (``pip install 'tagengo[ray]'``). ``address``: None starts
(or joins) a Ray instance on this machine; ``"auto"`` or ``"ray://host:10001"`` joins a cluster,
whose workers need tagengo installed at the same version.
"""

from __future__ import annotations

import copy
import itertools
import os
import pickle
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tagengo.errors import ConfigError
from tagengo.io.source import Chunk
from tagengo.run.executors import ChunkJob, ChunkResult, Executor, in_process, init_worker, work_chunk
from tagengo.run.steps import Step

EXECUTORS = ("local", "ray")


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:  # the extra is not installed
        raise ConfigError(
            "--executor ray needs Ray Data: pip install 'tagengo[ray]' (or use --executor local)"
        ) from exc
    return ray


def shippable(steps: list[Step]) -> bytes:
    """The steps pickled for the actors, without what only their own process can hold.

    A step lists such attributes (a live LLM client, a loaded model) in ``runtime_attrs``;
    they are set to None in the copy shipped, and the actor's ``setup()`` builds them again
    from the step's config."""
    out = []
    for step in steps:
        attrs = getattr(step, "runtime_attrs", ())
        if attrs:
            step = copy.copy(step)
            for a in attrs:
                setattr(step, a, None)
        out.append(step)
    return pickle.dumps(out)


class ChunkWorker:
    """A Ray Data actor: sets the steps up once, then runs them over one chunk per call."""

    def __init__(self, stage: str, steps_blob: bytes, fmt: str, source_names: dict[str, str]) -> None:
        steps = pickle.loads(steps_blob)
        for step in steps:
            step.setup()
        init_worker(ChunkJob(stage, steps, fmt, source_names))
        self._work = work_chunk

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        results = [self._work(pickle.loads(blob)) for blob in batch["chunk"]]
        return {"key": [r.key for r in results], "result": [pickle.dumps(r) for r in results]}


def _check_reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """Fail in seconds, in one sentence, when a HOST:PORT address does not accept connections
    (Ray itself retries for minutes, then exits the process)."""
    import socket

    if not address or address in ("auto", "local"):
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--ray-address {address}: expected auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ConfigError(
            f"--ray-address {address}: nothing accepts connections there ({exc.strerror or exc}); "
            "start the cluster (ray start --head) or fix the address"
        ) from exc


def _connect(address: str | None) -> Any:
    """Start or join Ray (once per process) with Ray Data's bars and banners off; return ``ray``."""
    ray = _import_ray()
    if not ray.is_initialized():
        _check_reachable(address)
        # No usage report to Ray's servers from a run of ours unless the user asks for it (and no
        # attempt to reach the internet from a machine that has none).
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=False,
                logging_level="ERROR",
                ignore_reinit_error=True,
            )
        except (ConnectionError, SystemExit) as exc:  # Ray exits the process when the GCS stays silent
            raise ConfigError(f"--ray-address {address}: no Ray cluster answers there ({exc})") from exc
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    return ray


def _cpus_per_actor(ray: Any, size: int) -> float:
    # A fixed pool waits for every actor: ask each for a share of the CPUs, not a whole one, when
    # there are more actors than CPUs (2 workers on a 1-CPU container must still start).
    cpus = float(ray.cluster_resources().get("CPU", 1.0))
    return min(1.0, cpus / size)


def map_chunks(
    chunks: Iterable[Chunk],
    *,
    stage: str,
    steps: list[Step],
    fmt: str,
    source_names: dict[str, str],
    actors: int,
    address: str | None = None,
) -> Iterator[Any]:
    """Run the streaming ``steps`` over ``chunks`` in ``actors`` Ray Data actors; yield each
    chunk's result (:class:`tagengo.run.executors.ChunkResult`) as it comes back, in no particular order.

    Raises :class:`ConfigError` when Ray is not installed or the cluster cannot be reached."""
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:  # nothing left to do (a resumed run): no need for Ray at all
        return

    def pickled() -> list[dict[str, bytes]]:
        return [{"chunk": pickle.dumps(c)} for c in itertools.chain([first], chunks)]

    if _import_ray().is_initialized():
        blobs = pickled()
        ray = _connect(address)
    else:
        # Ray's start-up (GCS, raylet, worker processes: seconds) mostly waits on other processes;
        # the driver reads and pickles the input meanwhile, in a thread.
        with ThreadPoolExecutor(1, thread_name_prefix="tagengo-read") as pool:
            reading = pool.submit(pickled)
            try:
                ray = _connect(address)
            finally:
                blobs = reading.result()
    size = max(1, min(actors, len(blobs)))
    ds = ray.data.from_items(blobs, override_num_blocks=len(blobs))
    out = ds.map_batches(
        ChunkWorker,
        fn_constructor_args=(stage, shippable(steps), fmt, source_names),
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=size),
        num_cpus=_cpus_per_actor(ray, size),
        zero_copy_batch=True,
    )
    for row in out.iter_rows():
        yield pickle.loads(row["result"])


class RayBatchMap:
    """What a global step may hand out under ``--executor ray``: a per-row map over an Arrow
    table, through ``actors`` Ray Data actors (``map_batches`` with a callable class).

    The runner sets one on every global step (``GlobalStep.batch_map``). The step keeps its
    decisions to itself: it sends rows out (prompts to embed, say), gets per-row results
    back and decides in the driver, so what it decides does not depend on where the rows
    were mapped. ``worker(*args)`` is built once per actor (load a model there) and called
    on NumPy batches of at most ``batch_size`` rows; its output must carry the input's row
    position in a column so that the caller can put results back in order."""

    def __init__(self, actors: int, address: str | None = None) -> None:
        self.actors = actors
        self.address = address

    def __repr__(self) -> str:
        return f"ray ({self.actors} actor{'s' if self.actors != 1 else ''})"

    def map_batches(
        self, worker: type, args: tuple[Any, ...], table: Any, batch_size: int
    ) -> Iterator[dict[str, Any]]:
        """Yield ``worker``'s output batches (dicts of NumPy arrays), in no particular order.

        ``table`` (a ``pyarrow.Table``) is cut into blocks of whole batches, about four per
        actor (capped at 16 batches a block), so that every actor gets work and a slow one
        holds back little."""
        n = table.num_rows
        if n == 0:
            return
        ray = _connect(self.address)
        batches = -(-n // batch_size)
        per_block = max(1, min(16, batches // (self.actors * 4)))
        rows = per_block * batch_size
        blocks = [table.slice(s, rows) for s in range(0, n, rows)]
        size = max(1, min(self.actors, len(blocks)))
        out = ray.data.from_arrow(blocks).map_batches(
            worker,
            fn_constructor_args=args,
            batch_size=batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=size),
            num_cpus=_cpus_per_actor(ray, size),
        )
        yield from out.iter_batches(batch_size=None, batch_format="numpy")


class RayExecutor(Executor):
    """The streaming steps in ``workers`` Ray Data actors, on the cluster at ``address`` (None:
    start or join one on this machine); global steps get a :class:`RayBatchMap`."""

    name = "ray"

    def __init__(self, workers: int, address: str | None = None) -> None:
        super().__init__(workers)
        self.address = address

    def map_chunks(self, chunks: Iterable[Chunk], job: ChunkJob) -> Iterator[ChunkResult]:
        if not job.steps:
            # Without streaming steps (dedup, mix) a chunk only passes through (an Arrow cast for
            # a dataset folder): shipping it to Ray actors and back would cost more than that.
            yield from in_process(chunks, job)
            return
        yield from map_chunks(
            chunks,
            stage=job.stage,
            steps=job.steps,
            fmt=job.fmt,
            source_names=job.source_names,
            actors=self.workers,
            address=self.address,
        )

    def batch_map(self) -> RayBatchMap:
        # Under Ray a global step may map its per-row work (the dedup step's embedding) through
        # the actors; its decisions stay in the driver, over all survivors in order.
        return RayBatchMap(self.workers, self.address)
