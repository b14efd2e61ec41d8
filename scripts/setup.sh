#!/usr/bin/env bash
# Set up archtransfer on a fresh machine: a venv with torch, mmcv (compiled ops), mmengine, mmdet,
# mmpretrain, timm and the project itself (editable).
#
#   bash scripts/setup.sh            # creates ./.venv (override with ARCHTRANSFER_VENV)
#
# mmcv has no wheel for torch 2.14 on PyPI, so it is built from source once (docs/install.md says
# how long) and the wheel is cached outside the clone (ARCHTRANSFER_CACHE, default
# ~/.cache/archtransfer), keyed by the Python and torch versions and the ops compiled (CPU, or CUDA
# version and architectures: on a machine with a GPU, or with ARCHTRANSFER_CUDA=1, CUDA ops too;
# scripts/build_mmcv.sh); later setups, in this clone or a fresh one, install that wheel.
# TORCH_INDEX_URL takes torch and torchvision from another index (pip's --index-url), e.g.
# https://download.pytorch.org/whl/cu126 where the driver is older than PyPI's CUDA 13.0 build
# needs (docs/install.md, "Which torch build").
# Idempotent: a second run that finds everything in place returns in a few seconds.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${ARCHTRANSFER_VENV:-$ROOT/.venv}
CACHE=${ARCHTRANSFER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/archtransfer}
PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0   # mmdet 3.3.0 requires mmcv>=2.0.0rc4,<2.2.0

log() { printf '[setup] %s\n' "$*"; }

# Demo data: Fashion-MNIST (MIT licence) from Debian's dataset-fashion-mnist package, 30 MB.
fashion=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
if [[ ! -f $fashion ]]; then
  sudo=; [[ $(id -u) -eq 0 ]] || sudo=sudo
  log "installing Debian's dataset-fashion-mnist (demo source data)"
  $sudo apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q dataset-fashion-mnist >/dev/null; } \
    || log "WARNING: could not install dataset-fashion-mnist; the demo and its tests need it"
fi

# Everything that decides the venv's contents; a change to any of them re-runs the install steps.
fingerprint=$({ cat "$ROOT/scripts/setup.sh" "$ROOT/scripts/build_mmcv.sh" \
  "$ROOT/requirements.txt" "$ROOT/pyproject.toml"; echo "torch index: ${TORCH_INDEX_URL:-}"; } \
  | sha256sum | cut -c1-16)
stamp=$VENV/.archtransfer-setup
# The installed mmcv must have the ops this machine needs: CUDA ops where build_mmcv.sh would build
# them (a CPU-only wheel reused on a GPU node fails at Faster-RCNN's first RoIAlign), for the
# architectures it would build for (the wheel records its tag).
ops_ok() {
  local want; want=$(bash "$ROOT/scripts/build_mmcv.sh" --tag "$VENV/bin/python" 2>/dev/null) || return 1
  [[ $want == cpu ]] || "$VENV/bin/python" - "$want" 2>/dev/null <<'PY'
import json, sys
from importlib.metadata import distribution
import mmcv.ops
built = json.loads(distribution('mmcv').read_text('archtransfer_build.json') or '{}')
sys.exit(mmcv.ops.get_compiling_cuda_version() == 'not available'
         or built.get('tag') != sys.argv[1])
PY
}
if [[ -f $stamp && $(cat "$stamp") == "$fingerprint:$ROOT" ]] \
  && "$VENV/bin/python" -c "import mmcv.ops, mmdet, mmpretrain, timm, supernet" 2>/dev/null \
  && ops_ok; then
  log "already set up: $VENV (delete $stamp to force a reinstall)"
  exit 0
fi

if [[ ! -x $VENV/bin/python ]]; then
  log "creating venv at $VENV"
  "$PYTHON" -m venv "$VENV"
fi
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check "$@"; }

log "installing torch $TORCH_VERSION and torchvision $TORCHVISION_VERSION" \
  "${TORCH_INDEX_URL:+from $TORCH_INDEX_URL}"
pip install -q ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "torch==$TORCH_VERSION" \
  "torchvision==$TORCHVISION_VERSION"
# setuptools<81 keeps pkg_resources, which mmcv 2.1.0's setup.py imports (torch 2.14 needs
# >=77.0.3); ninja: torch's CUDA extension build needs it on PATH (the venv's bin/ comes first there).
pip install -q "setuptools>=77.0.3,<81" wheel ninja

py_tag=$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info.major}{sys.version_info.minor}")')
# Cached per Python and torch version, and per ops (CPU, or CUDA version and architectures):
# scripts/build_mmcv.sh says which (ARCHTRANSFER_CUDA, TORCH_CUDA_ARCH_LIST, MAX_JOBS there).
ops=$(bash "$ROOT/scripts/build_mmcv.sh" --tag "$VENV/bin/python")
log "mmcv $MMCV_VERSION with $ops ops: from the cache, or built once per machine (minutes)"
mmcv_wheel=$(PATH="$VENV/bin:$PATH" MMCV_VERSION=$MMCV_VERSION bash "$ROOT/scripts/build_mmcv.sh" \
  "$VENV/bin/python" "$CACHE/wheels/torch$TORCH_VERSION-$py_tag" | tail -n1)
pip install -q --force-reinstall --no-deps "$mmcv_wheel"
pip install -q "$mmcv_wheel"

log "installing OpenMMLab, timm and test tools (requirements.txt)"
pip install -q -r "$ROOT/requirements.txt"
log "installing archtransfer (editable)"
pip install -q --no-deps --no-build-isolation -e "$ROOT"

"$VENV/bin/python" - <<'PY'
import mmcv, mmcv.ops, mmdet, mmengine, mmpretrain, timm, torch, supernet
print(f"[setup] ok: torch {torch.__version__}, mmcv {mmcv.__version__} (ops), mmengine {mmengine.__version__}, "
      f"mmdet {mmdet.__version__}, mmpretrain {mmpretrain.__version__}, timm {timm.__version__}")
PY
echo "$fingerprint:$ROOT" > "$stamp"
log "done. Activate with: source $VENV/bin/activate"
