#!/usr/bin/env bash
# Data-parallel training with torchrun (MMEngine launcher `pytorch`), on GPUs
# (nccl) or, without CUDA, on CPU processes (gloo).
#
#   bash tools/dist_train.sh CONFIG NUM_PROCS [train.py args...]
#
# One machine, 4 GPUs:
#   bash tools/dist_train.sh configs/fgsb/fgsb_phantom_2subj.py 4
# Two machines, 8 GPUs each (run on each machine, NODE_RANK 0 and 1):
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 \
#       bash tools/dist_train.sh CONFIG 8 --work-dir work_dirs/run1
# Other torchrun options go in TORCHRUN_ARGS, e.g. TORCHRUN_ARGS="--max-restarts 3".
# Slurm: srun starts the processes and MMEngine's slurm launcher reads them:
#   srun -p PARTITION --ntasks=16 --ntasks-per-node=8 --gres=gpu:8 \
#       python -u tools/train.py CONFIG --launcher slurm
set -euo pipefail

if [ "$#" -lt 2 ]; then
    echo "usage: bash tools/dist_train.sh CONFIG NUM_PROCS [train.py args...]" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
shift 2
if ! [[ "$NPROC" =~ ^[1-9][0-9]*$ ]]; then
    echo "error: NUM_PROCS must be a positive integer, got '$NPROC'" >&2
    exit 2
fi
if [ ! -f "$CONFIG" ]; then
    echo "error: config file not found: $CONFIG" >&2
    exit 2
fi

NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PORT=${PORT:-29500}
TOOLS=$(cd "$(dirname "$0")" && pwd)

PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}" \
python -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$NPROC" \
    ${TORCHRUN_ARGS:-} \
    "$TOOLS/train.py" "$CONFIG" --launcher pytorch "$@"
