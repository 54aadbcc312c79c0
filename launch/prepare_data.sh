#!/usr/bin/env bash
# Builds the TFDS datasets offline from raw files in their publishers' layouts.
#
# Needs: the project installed (pip install -e .) and a folder of raw files laid out as
# ../shared/data is (mnist/ and fashion_mnist/ with their four IDX .gz files each).
# Example:
#   launch/prepare_data.sh ../shared/data data/tfds
# Then train with --config.data_dir=data/tfds (no --config.manual_dir needed any more).
set -euo pipefail
raw=${1:?usage: $0 RAW_DATA_FOLDER TFDS_DATA_DIR}
data_dir=${2:?usage: $0 RAW_DATA_FOLDER TFDS_DATA_DIR}
for name in mnist fashion_mnist; do
  python3 -c "from deeplearn.data import datasets; import sys; \
datasets.prepared_builder(sys.argv[1], data_dir=sys.argv[2], manual_dir=sys.argv[3])" \
    "$name" "$data_dir" "$raw/$name"
  echo "prepared $name in $data_dir"
done
