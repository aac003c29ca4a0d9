"""Does a llama-cpp-python build run a GGUF on this CPU, with and without extra buffer types?

    python scripts/llama_cpu_check.py MODEL.gguf        # with any venv that has llama_cpp

Each setting runs in its own child process, so a crash is reported, not suffered. This is how
the table in docs/llm.md ("A llama.cpp build that runs on any CPU") was made: once with the
portable wheel from scripts/setup.sh and once with a wheel built with CMAKE_ARGS=-DGGML_NATIVE=ON.
Standalone on purpose (no tagengo import): it must run in a bare venv holding only the wheel.
"""

from __future__ import annotations

import signal
import subprocess
import sys

CHILD = r"""
import sys, time
import llama_cpp
from llama_cpp import llama_cpp as lowlevel
extra = sys.argv[2] == "1"
default_params = lowlevel.llama_model_default_params
def params():
    p = default_params()
    p.use_extra_bufts = extra  # Llama() has no argument for it in 0.3.36
    return p
lowlevel.llama_model_default_params = params
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=512, verbose=False)
t = time.perf_counter()
out = llm.create_chat_completion(messages=[{"role": "user", "content": "Why is the sky blue?"}],
                                 max_tokens=32, temperature=0)
print(f"{out['usage']['completion_tokens']} tokens in {time.perf_counter() - t:.1f} s")
"""


def main() -> int:
    model = sys.argv[1]
    info = subprocess.run(
        [
            sys.executable,
            "-c",
            "import llama_cpp; print(llama_cpp.__version__, llama_cpp.llama_print_system_info().decode())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"llama-cpp-python {info}")
    for extra in ("1", "0"):
        proc = subprocess.run([sys.executable, "-c", CHILD, model, extra], capture_output=True, text=True)
        if proc.returncode < 0:
            result = f"crashed: {signal.Signals(-proc.returncode).name}"
        elif proc.returncode:
            result = f"failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"
        else:
            result = "runs: " + proc.stdout.strip().splitlines()[-1]
        print(f"use_extra_bufts={'on ' if extra == '1' else 'off'}  {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
