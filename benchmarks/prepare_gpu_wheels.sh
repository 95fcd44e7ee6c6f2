#!/usr/bin/env bash
# Fill .wheels/ (repository root) with wheels of the plugin's non-torch dependencies, for
# benchmarks/gpu_check.sh on a GPU machine without internet. torch / torchvision / nvidia-* / triton are
# left out: the GPU machine has its own CUDA build of torch.
#
#   bash benchmarks/prepare_gpu_wheels.sh            # wheels for this machine's Python / platform
#   PY_VERSION=3.10 bash benchmarks/prepare_gpu_wheels.sh   # for another target Python (manylinux x86_64)
#
# The folder travels with the working tree (e.g. the device tool's `carry: [".wheels"]`, 64 MiB at most).
# All of it is ~240 MiB (opencv 60-70, scipy 34, numpy 17, ...), so by default only the light, mostly
# pure-Python part is kept (~15 MiB: mmengine, mmcv-lite, mmpretrain and their small deps + the plugin);
# the GPU image must then have numpy, scipy, scikit-learn, pillow, matplotlib and cv2 (CUDA PyTorch
# containers usually do; gpu_check.sh lists what is missing first). HEAVY=1 keeps those wheels too
# (opencv headless flavour) for a transfer channel without the limit. gpu_check.sh installs only what is
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x "$PY" ] || PY=python3
OUT=${WHEELS:-.wheels}
SKIP=${SKIP:-}
mkdir -p "$OUT"

# runtime requirements minus torch/torchvision (+ the optional encoders are not needed for the check)
REQS=$(mktemp)
trap 'rm -f "$REQS"' EXIT
grep -vE '^\s*(#|$)|^(torch|torchvision)\b' requirements/runtime.txt | sed 's/opencv-python=/opencv-python-headless=/' > "$REQS"
for s in $SKIP; do sed -i "/^${s}[=<>]/d" "$REQS"; done
echo "requirements:"; cat "$REQS"

EXTRA=()
if [ -n "${PY_VERSION:-}" ]; then
  EXTRA=(--python-version "$PY_VERSION" --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64
         --platform manylinux_2_28_x86_64 --only-binary=:all:)
fi
# dependencies resolved by pip, then the torch stack removed again (a dependency may pull it in)
timeout 900 "$PY" -m pip download --disable-pip-version-check -d "$OUT" -r "$REQS" "${EXTRA[@]}"
# wheels for sdist-only packages (pip download may have fetched .tar.gz); the plugin itself as a wheel
for sdist in "$OUT"/*.tar.gz "$OUT"/*.zip; do
  [ -e "$sdist" ] || continue
  timeout 300 "$PY" -m pip wheel --no-deps -w "$OUT" "$sdist" && rm -f "$sdist"
done
timeout 300 "$PY" -m pip wheel --no-deps --no-build-isolation -w "$OUT" . || echo "plugin wheel failed; gpu_check.sh falls back to PYTHONPATH"
rm -f "$OUT"/torch-* "$OUT"/torchvision-* "$OUT"/nvidia_* "$OUT"/triton-* "$OUT"/cuda_* "$OUT"/opencv_python-*
# the text-encoder stack is not needed by the check (its configs use feature MLP teachers)
rm -f "$OUT"/transformers-* "$OUT"/tokenizers-* "$OUT"/hf_xet-* "$OUT"/safetensors-* "$OUT"/huggingface_hub-* \
  "$OUT"/regex-*
if [ "${HEAVY:-0}" != 1 ]; then
  rm -f "$OUT"/numpy-* "$OUT"/scipy-* "$OUT"/opencv_python_headless-* "$OUT"/scikit_learn-* "$OUT"/matplotlib-* \
    "$OUT"/pillow-* "$OUT"/fonttools-* "$OUT"/kiwisolver-* "$OUT"/contourpy-*
fi
size=$(du -sm "$OUT" | cut -f1)
echo "$OUT: $(ls "$OUT" | wc -l) files, ${size} MiB"
if [ "$size" -gt 60 ]; then
  echo "WARNING: over ~60 MiB; rerun with SKIP=\"<packages the GPU machine already has>\" (e.g. scipy matplotlib)" >&2
fi
