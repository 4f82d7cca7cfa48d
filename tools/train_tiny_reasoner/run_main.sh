#!/bin/sh
# The one real training run (resumable: re-run this script after an interruption).
# One torch thread at nice 5: the run keeps one core busy and leaves the other to builds (their nice 19 and
# benchmarks at nice 0 still win against it).
cd "$(dirname "$0")"
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1
exec nice -n 5 /usr/bin/python3 train.py --run runs/main --minutes 75 --threads 1 --n-embd 128 --n-layer 6 \
    --n-head 4 --n-head-kv 2 --n-ff 384 --lr 2e-3 --batch-tokens 2048 --seed 1234 >> runs/main/train.out 2>&1
