#!/usr/bin/env bash
# Runs one config on every worker of a Cloud TPU VM pod slice at once, as
# `gcloud compute tpus tpu-vm ssh --worker=all` does; JAX finds the pod's processes itself (--distributed).
#
# Needs: the gcloud CLI, logged in, with a TPU VM slice (e.g. v4-32, v5litepod-16) named $TPU_NAME in
# $ZONE; a bucket that every worker reads and writes, for the workdir (checkpoints are written by all
# workers together) and the TFDS data_dir (prepare the data there once, e.g. with launch/prepare_data.sh
# on any machine, or let process 0 download it); $REPO, the project's git URL.
#
# Example:
#   export TPU_NAME=my-v4-32 ZONE=us-central2-b REPO=https://github.com/OWNER/deeplearn.git
#   launch/tpu_pod.sh setup                       # once: clone and install on every worker
#   launch/tpu_pod.sh --config=configs/mnist.py --workdir=gs://BUCKET/runs/mnist \
#       --config.data_dir=gs://BUCKET/tfds --config.compute_dtype=bfloat16
# Rerunning the same command resumes from the last checkpoint in the workdir.
set -euo pipefail
: "${TPU_NAME:?set TPU_NAME to the TPU VM slice}" "${ZONE:?set ZONE to its zone}"

on_all_workers() {
  gcloud compute tpus tpu-vm ssh "$TPU_NAME" --zone="$ZONE" --worker=all --command="$1"
}

if [[ ${1:-} == setup ]]; then
  : "${REPO:?set REPO to the git URL of the project}"
  on_all_workers "set -e; [ -d deeplearn ] || git clone $(printf %q "$REPO") deeplearn; cd deeplearn && git pull --ff-only \
    && pip install -U 'jax[tpu]' && pip install -e ."
  exit
fi
if [[ $# -eq 0 ]]; then
  echo "usage: $0 setup | --config=CONFIG --workdir=gs://... [--config.FIELD=VALUE ...]" >&2
  exit 2
fi
on_all_workers "cd deeplearn && python3 -m deeplearn.main --distributed $(printf '%q ' "$@")"
