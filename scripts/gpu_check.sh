#!/usr/bin/env bash
# The GPU check in one command, no download: install (if needed), then `rsd-ray check-gpu`.
# On a GPU node: bash scripts/gpu_check.sh --output gpu_check.json   (under 8 minutes on one large GPU)
# On a laptop:   bash scripts/gpu_check.sh --tiny                    (the same script, one thin layer, CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/rsd-ray ] || bash scripts/install.sh
exec .venv/bin/rsd-ray check-gpu "$@"
