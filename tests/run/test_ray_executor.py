"""`--executor ray`: the same steps through Ray Data give byte-identical dataset folders.

The bundled sample is cut into many small chunks so that several actors each get some, with
the global steps made to bite (a per-language cap of 30 and near-duplicate removal with the
bundled embedder): they run in the driver over the chunks in key order, so their decisions
cannot depend on which actor finished first."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tagengo.cli import main
from tagengo.curate.stage import curate, preset_config

pytestmark = pytest.mark.slow  # starts a local Ray instance


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for sub in ("data", "rejected", "quarantine")
        for p in sorted((folder / sub).glob("*.parquet"))
    }


def _embeddings(manifest: dict) -> dict:
    return next(s for s in manifest["steps"] if s["name"] == "dedup")["summary"]["embeddings"]


@pytest.mark.embedder
def test_curate_through_ray_is_byte_identical_to_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each run has its own embedding cache (through the environment, so the configs and hence
    the fingerprints stay equal), so the Ray run really embeds, in its actors."""
    cfg = preset_config("default", cap={"max_per_language": 30}, dedup={"enabled": True})
    monkeypatch.setenv("TAGENGO_CACHE_DIR", str(tmp_path / "cache-local"))
    local = curate(None, tmp_path / "local", cfg, progress=False, workers=2, chunk_rows=64).manifest
    monkeypatch.setenv("TAGENGO_CACHE_DIR", str(tmp_path / "cache-ray"))
    ray = curate(
        None, tmp_path / "ray", cfg, progress=False, workers=3, chunk_rows=64, executor="ray"
    ).manifest
    assert ray["executor"] == "ray" and local["executor"] == "local"
    steps = {s["name"]: s for s in ray["steps"]}
    assert steps["per_language_cap"]["removed"] > 0 and steps["dedup"]["removed"] > 0
    # The prompts were embedded by the actors (none was cached), and merged into the driver's cache.
    emb = _embeddings(ray)
    assert emb["embedded"] > 0 and emb["cached"] == 0
    assert emb["embedded_by"] == "ray (3 actors)" and emb["processes"] >= 1
    assert "embedded_by" not in _embeddings(local)
    assert (tmp_path / "cache-ray" / "embeddings.sqlite").exists()
    assert ray["counts"] == local["counts"]
    assert [(s["name"], s["in"], s["out"]) for s in ray["steps"]] == [
        (s["name"], s["in"], s["out"]) for s in local["steps"]
    ]
    got, want = _digests(tmp_path / "ray"), _digests(tmp_path / "local")
    assert got == want and any(k.startswith("data/") for k in got)
    assert ray["fingerprint"] == local["fingerprint"]  # the executor does not change what is computed


@pytest.mark.embedder
def test_dedup_command_through_ray_is_byte_identical_and_fills_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tagengo dedup --executor ray` over a curated folder: same folder as locally; the vectors
    the actors made land in the cache, so a local re-run with that cache embeds nothing."""
    monkeypatch.setenv("TAGENGO_CACHE_DIR", str(tmp_path / "cache-curate"))
    curated = tmp_path / "curated"
    assert main(["curate", "--out", str(curated), "--no-dedup", "--no-progress", "--workers", "1"]) == 0
    runs = {}
    for executor in ("local", "ray"):
        cache = tmp_path / f"cache-{executor}"
        out = tmp_path / f"dedup-{executor}"
        args = ["dedup", "--input", str(curated), "--out", str(out), "--no-progress", "--workers", "2"]
        assert main([*args, "--executor", executor, "--cache-dir", str(cache)]) == 0
        runs[executor] = json.loads((out / "manifest.json").read_text())
    assert _digests(tmp_path / "dedup-ray") == _digests(tmp_path / "dedup-local")
    assert runs["ray"]["counts"] == runs["local"]["counts"] and runs["ray"]["counts"]["rejected"] > 0
    emb = _embeddings(runs["ray"])
    assert emb["embedded"] > 0 and emb["embedded_by"].startswith("ray")
    again = tmp_path / "again"
    rerun = ["dedup", "--input", str(curated), "--out", str(again), "--no-progress"]
    assert main([*rerun, "--cache-dir", str(tmp_path / "cache-ray")]) == 0
    emb = _embeddings(json.loads((again / "manifest.json").read_text()))
    assert emb["embedded"] == 0 and emb["cached"] > 0
    assert _digests(again) == _digests(tmp_path / "dedup-local")


def test_cli_executor_options(tmp_path: Path) -> None:
    out = tmp_path / "c"
    rc = main(["curate", "--out", str(out), "--executor", "ray", "--workers", "2", "--no-dedup"])
    assert rc == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["executor"] == "ray" and m["counts"]["kept"] > 0


def test_unreachable_cluster_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import ray

    ray.shutdown()  # a running local instance would be reused whatever the address
    rc = main(
        [
            "curate",
            "--out",
            str(tmp_path / "c"),
            "--executor",
            "ray",
            "--ray-address",
            "127.0.0.1:1",
            "--no-dedup",
        ]
    )
    assert rc == 2
    assert "--ray-address 127.0.0.1:1" in capsys.readouterr().err


@pytest.mark.llm
def test_generate_through_ray_gives_the_same_answers(tmp_path: Path) -> None:
    """The generate step's client is not shipped: the actor builds its own from the config (the
    bundled model, greedy, a separate cache so it really generates) and answers the same."""
    import pyarrow.parquet as pq

    from tagengo.generate.config import GenerateConfig
    from tagengo.generate.stage import generate

    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        "\n".join(
            json.dumps({"id": f"r{i}", "language": "en", "messages": [{"role": "user", "content": t}]})
            for i, t in enumerate(["Name a fruit.", "What is two plus two?", "Say hello in French."])
        )
        + "\n"
    )

    def rows(executor: str) -> list[dict]:
        cfg = GenerateConfig(
            backend="llamacpp",
            cache_path=str(tmp_path / f"{executor}.sqlite"),
            max_tokens=12,
            require_stop=False,
        )
        out = tmp_path / executor
        generate(prompts, out, cfg, progress=False, executor=executor, chunk_rows=1, workers=2)
        got = pq.read_table(out / "data").to_pylist()
        for r in got:  # timing and cache provenance differ by nature; the answer must not
            meta = json.loads(r["meta"])
            meta["generation"].pop("latency_s")
            meta["generation"].pop("cached")
            r["meta"] = meta
        return got

    local = rows("local")
    assert len(local) == 3 and all(r["messages"][-1]["role"] == "assistant" for r in local)
    assert rows("ray") == local
