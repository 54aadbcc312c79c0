"""Shared fixtures: tiny MNIST-layout IDX files, prepared into a TFDS data dir once per session."""

import contextlib
import gzip
import os
import shutil
import struct
import subprocess
import tempfile
from typing import Any

import jax
import numpy as np
import pytest
from tensorflow_datasets.image_classification import mnist as tfds_mnist

from deeplearn.classification import defaults as classification_defaults
from deeplearn.core import checkpoints, config as defaults, train
from deeplearn.data import datasets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_TRAIN, NUM_TEST = 64, 20
IDX_FILES = {
    'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
}


def write_idx_files(folder: str, seed: int, num_train: int = NUM_TRAIN, num_test: int = NUM_TEST) -> None:
  """The four gzipped IDX files of MNIST's layout, with random images whose label is learnable."""
  rng = np.random.default_rng(seed)
  os.makedirs(folder, exist_ok=True)
  for split, count in (('train', num_train), ('test', num_test)):
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.integers(0, 60, (count, 28, 28)).astype(np.uint8)
    images[np.arange(count), labels * 2 + 4, 4:24] = 255  # A bright row that encodes the label.
    images_file, labels_file = IDX_FILES[split]
    with gzip.open(os.path.join(folder, images_file), 'wb') as f:
      f.write(struct.pack('>IIII', 2051, count, 28, 28) + images.tobytes())
    with gzip.open(os.path.join(folder, labels_file), 'wb') as f:
      f.write(struct.pack('>II', 2049, count) + labels.tobytes())


# Tests compile far more than they compute: without LLVM's optimisations XLA:CPU compiles 3-6x faster (a tiny DCGAN
# step: 9.0 against 3.6 s on a 2-core CPU); what a program computes does not change.
TEST_XLA_FLAGS = '--xla_backend_optimization_level=0'


def xla_flags(*flags: str) -> str:
  """`XLA_FLAGS` for a process a test starts: the tests' own flags and `flags`."""
  return ' '.join((TEST_XLA_FLAGS, *flags))


def pytest_configure(config):
  """One JAX compilation cache, every program in it, and the tests' XLA flags, for the session's workers and the
  processes they start: runs recompile little, and quickly."""
  if not hasattr(config, 'workerinput'):  # The controller: its workers inherit its environment.
    if 'JAX_COMPILATION_CACHE_DIR' not in os.environ:
      config.jax_cache_dir = os.environ['JAX_COMPILATION_CACHE_DIR'] = tempfile.mkdtemp(
          prefix='deeplearn-tests-jax-cache-')
    os.environ['JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS'] = '0'
    os.environ['XLA_FLAGS'] = xla_flags(os.environ.get('XLA_FLAGS', ''))
  jax.config.update('jax_compilation_cache_dir', os.environ['JAX_COMPILATION_CACHE_DIR'])
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)


def pytest_unconfigure(config):
  if hasattr(config, 'jax_cache_dir'):  # Made by this session's controller: removed after the workers end.
    shutil.rmtree(config.jax_cache_dir, ignore_errors=True)


@pytest.fixture(scope='session')
def tiny_counts():
  """TFDS's MNIST builder reads a fixed number of examples; shrink it to the fixtures', as TFDS's own tests do."""
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(tfds_mnist, '_TRAIN_EXAMPLES', NUM_TRAIN)
    patch.setattr(tfds_mnist, '_TEST_EXAMPLES', NUM_TEST)
    yield


@pytest.fixture(scope='session')
def raw_dirs(tmp_path_factory, tiny_counts):
  root = tmp_path_factory.mktemp('raw')
  dirs = {name: str(root / name) for name in ('mnist', 'fashion_mnist')}
  for seed, folder in enumerate(dirs.values()):
    write_idx_files(folder, seed)
  return dirs


@pytest.fixture(scope='session')
def data_dir(tmp_path_factory, raw_dirs):
  """A TFDS data dir with tiny `mnist` and `fashion_mnist` built offline from the IDX fixtures."""
  path = str(tmp_path_factory.mktemp('tfds'))
  for name, manual_dir in raw_dirs.items():
    datasets.prepared_builder(name, data_dir=path, manual_dir=manual_dir)
  return path


load_config = defaults.from_file


def tiny_config(config, data_dir: str = "", **overrides):
  """`config` shrunk to run a few steps on the fixtures in seconds; `overrides` may name nested fields
  ('model.widths')."""
  config.data_dir = data_dir
  config.batch_size = 16
  config.eval_batch_size = 8
  config.num_train_steps = 6
  config.log_every_steps = 2
  config.eval_every_steps = 3
  config.checkpoint_every_steps = 3
  config.batches_per_transfer = 4
  if 'optimizer' in config:
    config.optimizer.warmup_steps = 2
  if config.get('model_name') == 'strong_cnn':
    config.model.widths = (4, 8)
  config.update_from_flattened_dict(overrides)
  return config


def override_flags(overrides: dict[str, Any]) -> list[str]:
  """`overrides` of config fields as a user types them: `--config.FIELD=VALUE`."""
  return [f'--config.{k}={v}' for k, v in overrides.items()]


def train_as_the_command_would(config_file: str, overrides: dict[str, Any], workdir) -> dict[str, float]:
  """The run `deeplearn.main --config=config_file` with `override_flags(overrides)` trains, in this process (on its
  devices, not `config.cpu_devices`); its summary."""
  config = load_config(os.path.join(ROOT, config_file))
  config.update_from_flattened_dict(overrides)
  return train.train_and_evaluate(config, str(workdir))


def signalled_run(args: list[str], cwd: str, *signums: int, env: dict[str, str] | None = None) -> tuple[int, str]:
  """Runs `args` in `cwd`, sends `signums` once training has logged its fifth step; its exit status and stderr."""
  process = subprocess.Popen(args, cwd=cwd, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
  lines = []
  for line in process.stderr:
    lines.append(line)
    if '[5] train/' in line:
      for signum in signums:
        process.send_signal(signum)
      break
  rest = process.communicate(timeout=120)[1]
  return process.returncode, ''.join(lines) + rest


class Killed(Exception):
  """Raised where a real run would have been killed."""


@contextlib.contextmanager
def killed_after_checkpoint(stop_step: int):
  """Inside it, a run dies right after it writes the checkpoint of `stop_step`, as a killed process would."""
  original = checkpoints.save

  def save_then_die(manager, step, items):
    original(manager, step, items)
    if step == stop_step:
      raise Killed
  with pytest.MonkeyPatch.context() as patch, pytest.raises(Killed):
    patch.setattr(checkpoints, 'save', save_then_die)
    yield


@pytest.fixture
def make_config(data_dir):
  return lambda **overrides: tiny_config(classification_defaults.classification_config(), data_dir, **overrides)


@pytest.fixture(scope='module')
def classifier_workdir(data_dir, tmp_path_factory):
  """A finished (tiny) classification run, as `fid_classifier_workdir` names one."""
  path = str(tmp_path_factory.mktemp('classifier'))
  config = tiny_config(classification_defaults.classification_config(), data_dir, model_name='original_cnn',
                       model=classification_defaults.original_cnn())
  train.train_and_evaluate(config, path)
  return path
