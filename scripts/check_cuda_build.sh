#!/usr/bin/env bash
# Prove mmcv's CUDA build on a machine without a GPU (not in CI: it compiles for a long time).
# PyPI's nvcc of torch's CUDA version (ARCHTRANSFER_NVCC=pypi, whatever toolkit is installed: the
# check must not depend on the machine) compiles mmcv's
# CPU and CUDA ops for one architecture through scripts/build_mmcv.sh, exactly as setup.sh does
# on a GPU machine; then the wheel's ops must report torch's CUDA version and hold code for it.
#
#   bash scripts/check_cuda_build.sh [ARCH]     # default 9.0 (H100); e.g. 8.0 for A100
#
# The wheel lands in ~/.cache/archtransfer/cuda-check/ (ARCHTRANSFER_CACHE moves it); docs/
# install.md gives the measured time.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
arch=${1:-9.0}
cache=${ARCHTRANSFER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/archtransfer}/cuda-check
start=$(date +%s)
wheel=$(ARCHTRANSFER_CUDA=1 ARCHTRANSFER_NVCC=pypi TORCH_CUDA_ARCH_LIST=$arch bash "$ROOT/scripts/build_mmcv.sh" \
  "$PYTHON" "$cache" | tail -n1)
built=$(( $(date +%s) - start ))
target=$(mktemp -d)
trap 'rm -rf "$target"' EXIT
"$PYTHON" -m pip install -q --disable-pip-version-check --no-deps --target "$target" "$wheel"
PYTHONPATH=$target "$PYTHON" - "$arch" "$target" <<'PY'
import glob, sys
import torch
import mmcv.ops
from mmcv.ops import get_compiler_version, get_compiling_cuda_version
arch, target = sys.argv[1:]
assert mmcv.ops.__file__.startswith(target), f'checked the wrong mmcv: {mmcv.ops.__file__}'
compiled = get_compiling_cuda_version()
assert compiled == torch.version.cuda, f'ops compiled with CUDA {compiled}, torch has {torch.version.cuda}'
ext = glob.glob(f'{target}/mmcv/_ext*.so')[0]
sm = 'sm_' + arch.replace('.', '')
blob = open(ext, 'rb').read()
assert f'-arch {sm}'.encode() in blob, f'no {sm} code in {ext}'
print(f'[check_cuda_build] ok: mmcv {mmcv.__version__} ops compiled with CUDA {compiled} '
      f'({get_compiler_version()}), {sm} code in {ext.rsplit("/", 1)[1]} '
      f'({len(blob) / 2**20:.0f} MiB), torch {torch.__version__}')
PY
echo "[check_cuda_build] $wheel, built in ${built} s"
