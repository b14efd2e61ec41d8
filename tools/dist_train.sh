#!/usr/bin/env bash
# Train on GPUS processes of this machine with torchrun:
#   bash tools/dist_train.sh CONFIG GPUS [train_supernet.py options...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as in mmdetection's dist_train.sh.
# TRAIN_SCRIPT picks the tool (default tools/train_supernet.py). PYTHON picks the interpreter
# (default: the project's venv, ARCHTRANSFER_VENV or ./.venv, where it exists; else python on PATH).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: bash tools/dist_train.sh CONFIG GPUS [options...]" >&2
  exit 2
fi
CONFIG=$1
GPUS=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
VENV=${ARCHTRANSFER_VENV:-$(cd "$HERE/.." && pwd)/.venv}
[[ -n ${PYTHON:-} ]] || { PYTHON=python; [[ -x $VENV/bin/python ]] && PYTHON=$VENV/bin/python; }
exec "$PYTHON" -m torch.distributed.run \
  --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
  --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
  --nproc_per_node="$GPUS" \
  "${TRAIN_SCRIPT:-$HERE/train_supernet.py}" "$CONFIG" --launcher pytorch "$@"
