#!/bin/sh
# The one real training run (resumable: re-run this script after an interruption).
cd "$(dirname "$0")"
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2
exec nice -n 19 /usr/bin/python3 train.py --run runs/main --minutes 70 --n-embd 128 --n-layer 6 --n-head 4 \
    --n-head-kv 2 --n-ff 384 --lr 2e-3 --batch-tokens 2048 --seed 1234 >> runs/main/train.out 2>&1
