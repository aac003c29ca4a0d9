#!/usr/bin/env bash
# Create .venv and install tagengo with every extra the demo and the tests use. Idempotent:
# when pyproject.toml and this script have not changed since the last successful install, it
# does nothing.
#
# llama-cpp-python ships only as source and is compiled here. Two rules keep that build safe
# on whatever x86-64 CPU it meets (see docs/llm.md, "A build that runs on any CPU"):
#   - one exact, tested version (pinned in pyproject.toml);
#   - a portable build: GGML_NATIVE=OFF (not tuned to the build machine's CPU), no AVX-512
#     and no AMX kernels. The wheel is kept in a cache folder named after the version and the
#     build flags, so a wheel built with other flags (pip's own cache does not tell them apart)
#     is never picked up by mistake, and the second install takes seconds.
# TAGENGO_LLAMA_CMAKE_ARGS replaces the build flags (e.g. "-DGGML_NATIVE=ON" for a build tuned
# to this machine, or "-DGGML_AVX2=OFF -DGGML_FMA=OFF" for a CPU without AVX2).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
EXTRAS=${TAGENGO_EXTRAS:-dedup,llm,train,st,ray,dev}
LLAMA_VERSION=$(sed -n 's/.*"llama-cpp-python\[server\]==\([0-9.]*\)".*/\1/p' pyproject.toml)
LLAMA_CMAKE_ARGS=${TAGENGO_LLAMA_CMAKE_ARGS:-"-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"}

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.tagengo-installed
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)-$EXTRAS-$(printf %s "$LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-8)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
say "installing tagengo[$EXTRAS] into .venv (first time: several minutes)"
.venv/bin/python -m pip install --quiet --upgrade pip

wheels=""
if [[ ",$EXTRAS," == *",llm,"* ]]; then
  flags_id=$(printf %s "$LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-12)
  wheels="${XDG_CACHE_HOME:-$HOME/.cache}/tagengo/wheels/llama-cpp-python-$LLAMA_VERSION-$flags_id"
  if ! ls "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    say "compiling llama-cpp-python $LLAMA_VERSION from source with portable flags:"
    say "  $LLAMA_CMAKE_ARGS"
    say "  this takes about 10 minutes on 2 cores, once per machine; the wheel is kept in $wheels"
    tmp=$(mktemp -d)
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
      .venv/bin/python -m pip wheel --no-deps --no-cache-dir --no-binary llama-cpp-python \
      "llama-cpp-python==$LLAMA_VERSION" -w "$tmp"
    mkdir -p "$wheels"
    mv "$tmp"/llama_cpp_python-*.whl "$wheels"/
    printf '%s\n' "$LLAMA_CMAKE_ARGS" > "$wheels/CMAKE_ARGS"
    rm -rf "$tmp"
  else
    say "using the llama-cpp-python $LLAMA_VERSION wheel built earlier in $wheels"
  fi
fi

say "installing packages (pip shows each download)"
set +e
.venv/bin/python -m pip install --progress-bar on ${wheels:+--find-links "$wheels"} -e ".[$EXTRAS]" \
  | grep --line-buffered -vE '^(Requirement already satisfied|  (Using cached|Obtaining|Checking|Preparing))'
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 0 ] || { say "pip install failed (exit $rc): see its output above"; exit "$rc"; }
if [[ ",$EXTRAS," == *",train,"* ]]; then
  # Axolotl's config schema validates `tagengo train --print-axolotl` in the tests. Its full
  # dependency set needs CUDA builds (xformers, flash-attn, bitsandbytes); the schema itself
  # needs only pydantic, torch, transformers and accelerate, which the train extra brings.
  say "installing axolotl 0.19.0 without dependencies (for its config schema)"
  .venv/bin/python -m pip install --quiet --no-deps "axolotl==0.19.0"
fi
echo "$want" > "$stamp"
say "done"
