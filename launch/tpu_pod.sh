#!/usr/bin/env bash
# Runs one config on every worker of a Cloud TPU VM pod slice at once; JAX finds the pod's processes
# itself (--distributed). The run starts detached on each worker (nohup), so a dropped SSH connection
# does not end it; each worker logs to its own file on the worker's disk (everything it prints) and, through
# the run itself, to WORKDIR/logs/process_N.log in the bucket (its log lines, rewritten every minute).
#
# Needs: the gcloud CLI, logged in, with a TPU VM slice (e.g. v4-32, v5litepod-16) named $TPU_NAME in
# $ZONE; a bucket that every worker reads and writes, for the workdir and the TFDS data_dir (prepare the
# data there once, e.g. with launch/prepare_data.sh on any machine, or let process 0 download it);
# $REPO, the project's git URL.
#
# Example:
#   export TPU_NAME=my-v4-32 ZONE=us-central2-b REPO=https://github.com/OWNER/deeplearn.git
#   launch/tpu_pod.sh setup                       # once: clone and install on every worker
#   launch/tpu_pod.sh --config=configs/mnist.py --workdir=gs://BUCKET/runs/mnist \
#       --config.data_dir=gs://BUCKET/tfds --config.compute_dtype=bfloat16
#   launch/tpu_pod.sh status                      # each worker: running or not, and its log's last lines
#   launch/tpu_pod.sh stop                        # SIGTERM: every worker checkpoints the same step and exits
# Rerunning the same training command resumes from the last checkpoint in the workdir.
set -euo pipefail
: "${TPU_NAME:?set TPU_NAME to the TPU VM slice}" "${ZONE:?set ZONE to its zone}"
LOG=deeplearn_run.log  # On each worker, in its home folder.
PID=deeplearn_run.pid

on_all_workers() {
  gcloud compute tpus tpu-vm ssh "$TPU_NAME" --zone="$ZONE" --worker=all --command="$1"
}

case "${1:-}" in
  setup)
    : "${REPO:?set REPO to the git URL of the project}"
    on_all_workers "set -e; [ -d deeplearn ] || git clone $(printf %q "$REPO") deeplearn; cd deeplearn && git pull --ff-only \
      && pip install -U 'jax[tpu]' && pip install -e ."
    ;;
  status)
    on_all_workers "if [ -f $PID ] && ps -o stat= -p \$(cat $PID) | grep -q '^[^Z]'; then echo \"\$(hostname): running\"; \
      else echo \"\$(hostname): not running\"; fi; tail -n 3 $LOG 2>/dev/null || true"
    ;;
  stop)
    on_all_workers "[ -f $PID ] && kill -TERM \$(cat $PID) && echo \"\$(hostname): asked to stop\" || true"
    ;;
  --*)
    on_all_workers "cd deeplearn && nohup python3 -m deeplearn.main --distributed $(printf '%q ' "$@") \
      > ~/$LOG 2>&1 < /dev/null & echo \$! > ~/$PID; echo \"\$(hostname): started, log in ~/$LOG\""
    ;;
  *)
    echo "usage: $0 setup | status | stop | --config=CONFIG --workdir=gs://... [--config.FIELD=VALUE ...]" >&2
    exit 2
    ;;
esac
