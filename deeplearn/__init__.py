"""deeplearn: four deep-learning projects as one functional JAX/Flax codebase."""

import os

import fsspec

from deeplearn.core import console, xla_cpu

console.quiet_tensorflow_import()
console.quiet_backend_probe()
console.quiet_library_info()
xla_cpu.use_convolutions()
# Buckets through gcsfs rather than TensorFlow's file system, never caching listings (TensorStore writes too):
# see `core/storage.py`.
os.environ.setdefault('EPATH_USE_TF', 'false')
fsspec.config.conf.setdefault('gcs', {}).setdefault('use_listings_cache', False)
