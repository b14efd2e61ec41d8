#!/usr/bin/env bash
# Set up archtransfer on a fresh machine: a venv with torch, mmcv (compiled ops), mmengine, mmdet,
# mmpretrain, timm and the project itself (editable).
#
#   bash scripts/setup.sh            # creates ./.venv (override with ARCHTRANSFER_VENV)
#
# mmcv has no wheel for torch 2.14 on PyPI, so it is built from source once (~10 min on 2 cores) and
# the wheel is cached outside the clone (ARCHTRANSFER_CACHE, default ~/.cache/archtransfer), keyed by
# the Python and torch versions; later setups, in this clone or a fresh one, install that wheel.
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
fingerprint=$(cat "$ROOT/scripts/setup.sh" "$ROOT/requirements.txt" "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)
stamp=$VENV/.archtransfer-setup
if [[ -f $stamp && $(cat "$stamp") == "$fingerprint:$ROOT" ]] \
  && "$VENV/bin/python" -c "import mmcv.ops, mmdet, mmpretrain, timm, supernet" 2>/dev/null; then
  log "already set up: $VENV (delete $stamp to force a reinstall)"
  exit 0
fi

if [[ ! -x $VENV/bin/python ]]; then
  log "creating venv at $VENV"
  "$PYTHON" -m venv "$VENV"
fi
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check "$@"; }

log "installing torch $TORCH_VERSION and torchvision $TORCHVISION_VERSION"
# setuptools<81 keeps pkg_resources, which mmcv 2.1.0's setup.py imports (torch 2.14 needs >=77.0.3).
pip install -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" "setuptools>=77.0.3,<81" wheel ninja

py_tag=$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info.major}{sys.version_info.minor}")')
wheel_dir=$CACHE/wheels/torch$TORCH_VERSION-$py_tag
mmcv_wheel=$(ls "$wheel_dir"/mmcv-$MMCV_VERSION-*.whl 2>/dev/null | head -n1 || true)
if [[ -z $mmcv_wheel ]]; then
  log "building mmcv $MMCV_VERSION with ops from source (once per machine, ~10 min on 2 cores)"
  mkdir -p "$wheel_dir" "$CACHE/bin"
  # torch 2.14's headers need C++20, but mmcv 2.1.0's setup.py asks for -std=c++17.
  cat > "$CACHE/bin/g++-cxx20" <<'WRAP'
#!/usr/bin/env bash
args=()
for a in "$@"; do [[ $a == -std=c++17 || $a == -std=c++14 ]] && a=-std=c++20; args+=("$a"); done
exec g++ "${args[@]}"
WRAP
  chmod +x "$CACHE/bin/g++-cxx20"
  build_tmp=$(mktemp -d)
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} CXX="$CACHE/bin/g++-cxx20" \
    pip wheel --no-deps --no-build-isolation --no-binary mmcv "mmcv==$MMCV_VERSION" -w "$build_tmp"
  mv "$build_tmp"/mmcv-*.whl "$wheel_dir"/
  rm -rf "$build_tmp"
  mmcv_wheel=$(ls "$wheel_dir"/mmcv-$MMCV_VERSION-*.whl | head -n1)
else
  log "reusing cached mmcv wheel $mmcv_wheel"
fi
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
