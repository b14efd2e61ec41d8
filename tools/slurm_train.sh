#!/usr/bin/env bash
# Train on GPUS processes of a Slurm cluster, one task per GPU, as mmdetection's slurm_train.sh:
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [tool options...]
# GPUS (default 8) tasks in all, GPUS_PER_NODE (default 8) per node, CPUS_PER_TASK (default 5)
# cores each; SRUN_ARGS is passed to srun as it is (e.g. "--quotatype=auto --time=48:00:00").
# TRAIN_SCRIPT picks the tool (default tools/train_supernet.py; tools/train.py,
# tools/greedy_search.py). PYTHON picks the interpreter every task runs (default: the project's
# venv, ARCHTRANSFER_VENV or ./.venv, where it exists; else python on the nodes' PATH).
# WORK_DIR, the data, the checkpoints and the venv must be on a filesystem every node reads
# (docs/install.md, "Slurm and several nodes").
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [options...]" >&2
  exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
shift 4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
VENV=${ARCHTRANSFER_VENV:-$ROOT/.venv}
[[ -n ${PYTHON:-} ]] || { PYTHON=python; [[ -x $VENV/bin/python ]] && PYTHON=$VENV/bin/python; }
# SRUN_ARGS unquoted on purpose: it holds several srun options
# shellcheck disable=SC2086
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
exec srun -p "$PARTITION" \
  --job-name="$JOB_NAME" \
  --gres=gpu:"$GPUS_PER_NODE" \
  --ntasks="$GPUS" \
  --ntasks-per-node="$GPUS_PER_NODE" \
  --cpus-per-task="$CPUS_PER_TASK" \
  --kill-on-bad-exit=1 \
  ${SRUN_ARGS:-} \
  "$PYTHON" -u "${TRAIN_SCRIPT:-$HERE/train_supernet.py}" "$CONFIG" --work-dir="$WORK_DIR" \
  --launcher slurm "$@"
