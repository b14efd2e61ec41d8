#!/usr/bin/env bash
# GPU smoke test (scripts/gpu_smoke.py says what it checks): one CUDA GPU (a two-process stage
# where two or more are present), synthetic data, <= 5 min, a JSON of what it measured. Needs
# only the venv of scripts/setup.sh and this tree; --dry-run runs it on CPU (gloo).
#   bash scripts/gpu_smoke.sh [--out gpu_smoke.json] [--only CHECK...] [--dry-run]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
exec "$PYTHON" "$ROOT/scripts/gpu_smoke.py" "$@"
