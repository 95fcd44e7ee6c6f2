#!/usr/bin/env bash
# Sourced by the launch scripts (dist_train.sh, dist_test.sh, slurm_train.sh, slurm_test.sh): sets PYTHON to
# an interpreter that has torch. Order: $PYTHON if set; `python` on PATH if it imports torch (an activated
# environment, e.g. `source $(make -s venv)/bin/activate`); the environment `make` builds for this checkout.
if [ -z "${PYTHON:-}" ]; then
    if command -v python >/dev/null 2>&1 && python -c 'import torch' >/dev/null 2>&1; then
        PYTHON=python
    else
        _cmda_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
        _cmda_venv="$(make -s -C "$_cmda_repo" venv 2>/dev/null)"
        if [ -n "$_cmda_venv" ] && [ -x "$_cmda_venv/bin/python" ]; then
            PYTHON="$_cmda_venv/bin/python"
            echo "[cmda-mm] \`python\` has no torch; using the project environment $PYTHON" >&2
        else
            echo "[cmda-mm] no Python with torch found: run \`make env\` (or \`make demo\`) first, activate an" \
                 "environment with torch + mmpretrain, or set PYTHON=/path/to/python" >&2
            exit 1
        fi
    fi
fi
