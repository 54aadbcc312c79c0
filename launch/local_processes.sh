#!/usr/bin/env bash
# Runs one config as N processes on this machine, joined by JAX's distributed runtime over loopback
# (on CPU the processes' devices talk through gloo). The way to try multi-process training without a pod,
# and what tests/test_multiprocess.py runs.
#
# Needs: the project installed (`pip install -e .`), and the dataset already prepared in data_dir (or
# `--config.manual_dir`: process 0 prepares it while the others wait).
# Each process gets the devices JAX finds: on a CPU machine one each (more with
# XLA_FLAGS=--xla_force_host_platform_device_count=K); on a GPU machine give each its own GPUs with
# CUDA_VISIBLE_DEVICES, or run a single process, which uses them all.
#
# Example (2 processes; logs in LOG_DIR, default the current folder, as process_0.log, process_1.log):
#   launch/local_processes.sh 2 --config=configs/mnist.py --workdir=runs/mnist_2p --config.data_dir=data/tfds
# Rerunning the same command resumes from the last checkpoint, on any number of processes. If one
# process fails, the others are stopped and the script exits with its status.
set -euo pipefail

if [[ $# -lt 2 || ! $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 NUM_PROCESSES --config=CONFIG --workdir=DIR [--config.FIELD=VALUE ...]" >&2
  exit 2
fi
num_processes=$1
shift
python=${PYTHON:-python3}
log_dir=${LOG_DIR:-.}
port=${PORT:-$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
mkdir -p "$log_dir"

pids=()
stop_all() { kill "${pids[@]}" 2>/dev/null || true; }
trap stop_all EXIT INT TERM
for ((i = 0; i < num_processes; i++)); do
  "$python" -m deeplearn.main "$@" --coordinator_address="127.0.0.1:$port" \
      --num_processes="$num_processes" --process_id="$i" > "$log_dir/process_$i.log" 2>&1 &
  pids+=($!)
done
echo "started ${num_processes} processes (coordinator 127.0.0.1:$port); logs in $log_dir/process_*.log" >&2

for ((left = num_processes; left > 0; left--)); do
  status=0
  wait -n || status=$?
  if ((status != 0)); then
    echo "a process exited with status $status; stopping the others (see $log_dir/process_*.log)" >&2
    exit "$status"
  fi
done
trap - EXIT
