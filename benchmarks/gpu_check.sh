#!/usr/bin/env bash
# One prepared GPU check (one NVIDIA GPU, no internet): install the plugin's non-torch dependencies from the
# wheels carried in .wheels/ (made here by benchmarks/prepare_gpu_wheels.sh), then run benchmarks/_gpu_check.py:
# ResNet-50 B=128 224 px bf16 channels_last step time of Base / Mixup / CMDA p=0.5, the mix op vs its
# memory-traffic floor, and our GPU GMM fit (100k×128) vs scikit-learn on the CPUs. Budget: < 8 minutes.
# Results: $OUT/gpu_check.{json,md}, $OUT/nvidia-smi.txt, $OUT/pip.txt, $OUT/check.log.
#
#   OUT=/tmp/out bash benchmarks/gpu_check.sh
# Meant for the throwaway GPU machine: it pip-installs into $PYTHON's environment (this tree still wins via
# PYTHONPATH). STEPS=N changes the timed steps per variant (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
WHEELS=${WHEELS:-.wheels}
exec > >(tee -a "$OUT/check.log") 2>&1
start=$(date +%s)
echo "== $(date -u) on $(hostname)"

{ nvidia-smi || true; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit \
    --format=csv || true; } > "$OUT/nvidia-smi.txt" 2>&1
head -20 "$OUT/nvidia-smi.txt"
"$PY" -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__,
  "cuda", torch.version.cuda, "available", torch.cuda.is_available())'

# Install only what is missing: unpinned names, so an already installed package satisfies them.
if [ -d "$WHEELS" ]; then
  pkgs=$(grep -vE '^\s*(#|$)|^(torch|torchvision|transformers)\b' requirements/runtime.txt | sed -E 's/[=<>].*//; s/^opencv-python$/opencv-python-headless/')
  missing=()
  for p in $pkgs; do "$PY" -m pip show -q "$p" >/dev/null 2>&1 || missing+=("$p"); done
  # opencv: either flavour will do
  if "$PY" -c 'import cv2' 2>/dev/null; then
    missing=("${missing[@]/opencv-python-headless}")
  fi
  for p in ${missing[@]:-}; do ls "$WHEELS" | grep -qi "^${p//-/_}-" || echo "WARNING: $p is missing and not in $WHEELS"; done
  if [ -n "$(echo "${missing[@]:-}" | tr -d ' ')" ]; then
    echo "installing from $WHEELS: ${missing[*]}"
    timeout 240 "$PY" -m pip install --no-index --find-links "$WHEELS" --disable-pip-version-check \
      ${missing[*]} || { echo "resolver failed; installing every carried wheel with --no-deps";
      timeout 240 "$PY" -m pip install --no-index --no-deps --disable-pip-version-check "$WHEELS"/*.whl; }
  fi
  plugin=$(ls "$WHEELS"/cmda_mm-*.whl 2>/dev/null | head -1 || true)
  if [ -n "$plugin" ]; then timeout 60 "$PY" -m pip install --no-index --no-deps --force-reinstall "$plugin"; fi
else
  echo "no $WHEELS folder: using the installed packages"
fi
"$PY" -m pip freeze > "$OUT/pip.txt" 2>&1 || true
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"   # this tree's plugin wins over an installed copy
"$PY" -c 'import cmda_mm, mmpretrain, sklearn; print("imports ok", mmpretrain.__version__)'

left=$(( 470 - ($(date +%s) - start) ))
echo "== benchmark (${left}s left of the 8-minute budget)"
timeout --signal=INT --kill-after=20 "$left" "$PY" benchmarks/_gpu_check.py --out "$OUT" --steps "${STEPS:-20}" \
  || echo "benchmark exited with $? (partial results are in $OUT/gpu_check.json)"
echo "== done in $(( $(date +%s) - start ))s"
