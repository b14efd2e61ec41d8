#!/usr/bin/env bash
# Build mmcv's wheel with its compiled ops (CPU, or CPU and CUDA) for one Python and its torch.
#
#   bash scripts/build_mmcv.sh PYTHON CACHE_DIR    # prints the wheel's path on its last line
#   bash scripts/build_mmcv.sh --tag PYTHON        # prints which ops a build would have
#
# The wheel goes to CACHE_DIR/TAG/, TAG being `cpu` or `cuda<version>-sm<architectures>` (e.g.
# cuda13.0-sm80_90ptx), and is reused from there: a CPU-only wheel is never taken for a GPU
# machine, nor a wheel for other architectures. The wheel records the tag and the architectures
# in its dist-info (archtransfer_build.json: scripts/setup.sh and scripts/gpu_smoke.py read it).
# scripts/setup.sh calls it with a cache per Python and torch version;
# scripts/check_cuda_build.sh proves the CUDA build on a machine without a GPU. Settings:
#   ARCHTRANSFER_CUDA     auto (default): CUDA ops when `nvidia-smi -L` lists a GPU or torch sees
#                         one; 1: always (login nodes, docker builds: no GPU at build time);
#                         0: CPU ops only
#   TORCH_CUDA_ARCH_LIST  GPU architectures to compile for. Default, as torch's own extension
#                         build: the visible GPUs' compute capabilities (`nvidia-smi
#                         --query-gpu=compute_cap`, else torch), the highest with +PTX; without
#                         a visible GPU DEFAULT_ARCHS below (torch 2.14's own wheel list: T4,
#                         A100, A10/RTX 30xx, H100/H200, B200, RTX 50xx; PTX for newer cards)
#   MAX_JOBS              parallel compile jobs (default: the number of cores)
#   ARCHTRANSFER_NVCC     auto (default): the toolkit below; pypi: PyPI's nvcc even where one is
#                         installed (scripts/check_cuda_build.sh, for a result any machine gives)
#   MMCV_SDIST            a local mmcv source archive (default: pip fetches mmcv==MMCV_VERSION)
#   CUDA_HOME             the CUDA toolkit; else the one of `nvcc` on PATH, else /usr/local/cuda;
#                         if none matches torch's CUDA major version (or ARCHTRANSFER_NVCC=pypi),
#                         PyPI's nvidia-cuda-nvcc of torch's CUDA version is installed into
#                         CACHE_DIR/cuda-<version> and used
set -euo pipefail

usage="usage: bash scripts/build_mmcv.sh PYTHON CACHE_DIR | --tag PYTHON"
[[ $# -eq 2 ]] || { echo "$usage" >&2; exit 2; }
tag_only=0
if [[ $1 == --tag ]]; then tag_only=1; PYTHON=$2; else PYTHON=$1; CACHE=$2; fi
MMCV_VERSION=${MMCV_VERSION:-2.1.0}
log() { printf '[build_mmcv] %s\n' "$*" >&2; }

torch_cuda=$("$PYTHON" -c 'import torch; print(torch.version.cuda or "")')
cuda_mode=${ARCHTRANSFER_CUDA:-auto}
case $cuda_mode in
  auto)
    # nvidia-smi's whole output first: `| grep -q` under pipefail can fail on a SIGPIPE
    if [[ $(command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null) == *GPU* ]] \
      || "$PYTHON" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
      with_cuda=1
    else
      with_cuda=0
    fi ;;
  0|1) with_cuda=$cuda_mode ;;
  *) echo "ARCHTRANSFER_CUDA=$cuda_mode: allowed auto, 0, 1" >&2; exit 2 ;;
esac
if [[ $with_cuda == 1 && -z $torch_cuda ]]; then
  echo "ARCHTRANSFER_CUDA=1, but $PYTHON's torch is a CPU-only build: install a CUDA build" >&2
  exit 2
fi
DEFAULT_ARCHS="7.5;8.0;8.6;9.0;10.0;12.0+PTX"
# The visible GPUs' capabilities, sorted, the highest with +PTX (torch's own default when
# TORCH_CUDA_ARCH_LIST is unset); fails when no GPU is visible.
visible_archs() {
  local caps=
  if command -v nvidia-smi >/dev/null; then
    caps=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null \
      | tr -d ' \r' | grep -E '^[0-9]+\.[0-9]+$') || caps=
  fi
  if [[ -z $caps ]]; then
    caps=$("$PYTHON" -c 'import torch
for i in range(torch.cuda.device_count()): print("%d.%d" % torch.cuda.get_device_capability(i))' \
      2>/dev/null) || caps=
  fi
  [[ -n $caps ]] || return 1
  printf '%s\n' "$caps" | sort -u -t. -k1,1n -k2,2n | paste -sd';' | sed 's/$/+PTX/'
}
if [[ $with_cuda == 1 ]]; then
  if [[ -n ${TORCH_CUDA_ARCH_LIST:-} ]]; then
    arch_source=TORCH_CUDA_ARCH_LIST
  elif TORCH_CUDA_ARCH_LIST=$(visible_archs); then
    arch_source="the visible GPUs"
  else
    TORCH_CUDA_ARCH_LIST=$DEFAULT_ARCHS arch_source="the default list (no GPU visible)"
  fi
  export TORCH_CUDA_ARCH_LIST
  archs=${TORCH_CUDA_ARCH_LIST//./}; archs=${archs//+PTX/ptx}; archs=${archs//[; ]/_}
  tag=cuda$torch_cuda-sm$archs
else
  tag=cpu
fi
[[ $tag_only == 1 ]] && { echo "$tag"; exit 0; }

# What the ops were built for, in the wheel's dist-info (RECORD rewritten to list it); a wheel
# cached before the record existed gets it on reuse (its folder's tag is the same list).
record_build() {  # WHEEL
  local archs=; [[ $with_cuda == 1 ]] && archs=$TORCH_CUDA_ARCH_LIST
  "$PYTHON" - "$1" "$tag" "$archs" "$torch_cuda" <<'PY'
import base64, hashlib, json, os, sys, zipfile
wheel, tag, archs, cuda = sys.argv[1:]
info = json.dumps(dict(tag=tag, cuda=cuda if archs else None,
                       arch_list=[a for a in archs.split(';') if a]), indent=1).encode()
digest = base64.urlsafe_b64encode(hashlib.sha256(info).digest()).rstrip(b'=').decode()
with zipfile.ZipFile(wheel) as src:
    record = next(n for n in src.namelist() if n.endswith('.dist-info/RECORD'))
    name = record.rsplit('/', 1)[0] + '/archtransfer_build.json'
    if name in src.namelist() and src.read(name) == info:
        sys.exit()
    with zipfile.ZipFile(wheel + '.tmp', 'w', zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == record:  # the new file, then RECORD listing it, last as pip has it
                dst.writestr(name, info)
                lines = [l for l in data.decode().splitlines()
                         if l and not l.startswith(name + ',')]
                data = '\n'.join(lines + [f'{name},sha256={digest},{len(info)}', '']).encode()
            if item.filename != name:
                dst.writestr(item, data)
os.replace(wheel + '.tmp', wheel)
PY
}

OUT=$(mkdir -p "$CACHE/$tag" && cd "$CACHE/$tag" && pwd)
cached=$(ls "$OUT"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)
if [[ -n $cached ]]; then
  log "reusing $cached"
  record_build "$cached"
  echo "$cached"
  exit 0
fi

# The venv's own tools (ninja: pip installs it there) come first, as in an activated venv.
venv_bin=$(dirname "$PYTHON")
if [[ $PYTHON == */* && -x $venv_bin/ninja ]]; then export PATH=$venv_bin:$PATH; fi

# torch 2.13+ headers need C++20, but mmcv 2.1.0's setup.py passes -std=c++17 to both g++ and
# nvcc: the wrappers raise it (nvcc: through PYTORCH_NVCC, which torch's ninja build honours).
mkdir -p "$OUT/bin"
write_cxx20_wrapper() {  # NAME REAL_COMPILER_VARIABLE
  printf '%s\n' '#!/usr/bin/env bash' 'args=()' \
    'for a in "$@"; do [[ $a == -std=c++17 || $a == -std=c++14 ]] && a=-std=c++20; args+=("$a"); done' \
    "exec \"\${$2}\" \"\${args[@]}\"" > "$OUT/bin/$1"
  chmod +x "$OUT/bin/$1"
}
write_cxx20_wrapper g++-cxx20 REAL_CXX
write_cxx20_wrapper nvcc-cxx20 REAL_NVCC
export REAL_CXX=${CXX:-g++} CXX=$OUT/bin/g++-cxx20
export MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)}

if [[ $with_cuda == 1 ]]; then
  cuda_major=${torch_cuda%%.*}
  nvcc_release() { "$1" --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\),.*/\1/p'; }
  # The first toolkit that has headers: CUDA_HOME, the one of `nvcc` on PATH (which may be a
  # wrapper script: then its folder's parent has no include/), /usr/local/cuda.
  home= release=
  if [[ ${ARCHTRANSFER_NVCC:-auto} != pypi ]]; then
    nvcc_path=$(command -v nvcc || true)
    for candidate in ${CUDA_HOME:-} ${nvcc_path:+$(dirname "$(dirname "$(readlink -f "$nvcc_path")")")} \
        /usr/local/cuda; do
      if [[ -f $candidate/include/cuda_runtime.h && -x $candidate/bin/nvcc ]]; then
        home=$candidate; release=$(nvcc_release "$home/bin/nvcc"); break
      fi
    done
  fi
  if [[ ${release%%.*} != "$cuda_major" ]]; then
    # No toolkit of torch's CUDA major version: PyPI's compiler and runtime of its exact version.
    prefix=$CACHE/cuda-$torch_cuda
    home=$prefix/nvidia/cu$cuda_major
    if [[ ! -x $home/bin/nvcc ]]; then
      why="no CUDA $cuda_major toolkit (found: ${release:-none})"
      [[ ${ARCHTRANSFER_NVCC:-auto} == pypi ]] && why=ARCHTRANSFER_NVCC=pypi
      log "$why: PyPI's nvcc $torch_cuda into $prefix"
      # every part pinned: nvcc's own requirements are not, and a newer nvvm writes PTX that
      # this ptxas refuses ("Unsupported .version")
      "$PYTHON" -m pip install -q --disable-pip-version-check --target "$prefix" \
        "nvidia-cuda-nvcc==$torch_cuda.*" "nvidia-nvvm==$torch_cuda.*" \
        "nvidia-cuda-crt==$torch_cuda.*" "nvidia-cuda-runtime==$torch_cuda.*" \
        "nvidia-cuda-cccl==$torch_cuda.*"
    fi
    if [[ ! -x $home/bin/nvcc ]]; then  # CUDA 12's PyPI packages have one folder per part
      echo "PyPI's nvcc $torch_cuda has no toolkit folder $home (laid out so from CUDA 13 on):" \
        "install a CUDA $cuda_major toolkit and set CUDA_HOME" >&2
      exit 2
    fi
    # torch's own wheels bring the library headers ATen includes (cuBLAS, cuSPARSE, ...).
    site=$("$PYTHON" -c 'import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))')
    export CPATH=$site/nvidia/cu$cuda_major/include${CPATH:+:$CPATH}
    # the linker wants libcudart.so; the runtime package has only libcudart.so.N
    lib=$(ls "$home"/lib/libcudart.so.* | head -n1)
    [[ -e $home/lib/libcudart.so ]] || ln -s "$(basename "$lib")" "$home/lib/libcudart.so"
    release=$(nvcc_release "$home/bin/nvcc")
  fi
  export CUDA_HOME=$home FORCE_CUDA=1 REAL_NVCC=$home/bin/nvcc PYTORCH_NVCC=$OUT/bin/nvcc-cxx20
  # Without ninja torch's BuildExtension calls $CUDA_HOME/bin/nvcc itself and ignores
  # PYTORCH_NVCC: mmcv's -std=c++17 reaches nvcc and every .cu file fails on ATen's C++20 check.
  if ! command -v ninja >/dev/null; then
    echo "no ninja on PATH (nor beside $PYTHON): the CUDA build needs it; pip install ninja" >&2
    exit 2
  fi
  log "mmcv $MMCV_VERSION with CUDA ops: nvcc $release at $CUDA_HOME (torch's CUDA" \
    "$torch_cuda), architectures $TORCH_CUDA_ARCH_LIST (from $arch_source), $MAX_JOBS jobs"
else
  # mmcv's setup.py compiles CUDA ops whenever torch sees a GPU, whatever FORCE_CUDA says: the
  # build is not shown the GPUs.
  export FORCE_CUDA=0 CUDA_VISIBLE_DEVICES=
  log "mmcv $MMCV_VERSION with CPU ops only, $MAX_JOBS jobs (ARCHTRANSFER_CUDA=1 adds CUDA ops)"
fi

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
# --no-cache-dir: pip's own wheel cache would hand back an earlier build of the same version,
# whatever ops it was compiled with.
"$PYTHON" -m pip wheel --disable-pip-version-check --no-cache-dir --no-deps --no-build-isolation \
  --no-binary mmcv -w "$build" "${MMCV_SDIST:-mmcv==$MMCV_VERSION}" >&2
wheel=$(ls "$build"/mmcv-*.whl)
record_build "$wheel"
mv "$wheel" "$OUT/"
echo "$OUT/$(basename "$wheel")"
