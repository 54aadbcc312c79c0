"""`python -m deeplearn.bench` on made-up data of each dataset's shapes, for a machine that lacks TensorFlow.

An accelerator image that cannot install TensorFlow and TFDS (no network, a wheel too large to carry)
can still time the project's own training steps: this stands in for both with inert stubs (no step,
model or optimiser uses them) and serves `datasets.load_split` from random arrays of the real shapes.
The figures are the step's and the loop's speed, never a model's quality.

  python3 launch/synthetic_bench.py --config=configs/mnist.py [--windows=3 ...]   # deeplearn.bench's flags
"""

import runpy
import sys
import types

import numpy as np

EXAMPLES = 10_000  # Per split: enough for several windows of steps.
WORDS = np.array('the a movie film was great awful plot actor boring loved dull fun and it of'.split())


class _InertType(type):
  """Every attribute of the class is the class: `tfds.core.GeneratorBasedBuilder` is a class one can subclass."""

  def __getattr__(cls, name: str) -> type:
    return cls


class Inert(metaclass=_InertType):
  """Takes any arguments; every attribute of an instance is the class, every call a new instance."""

  def __init__(self, *args, **kwargs):
    del args, kwargs

  def __getattr__(self, name: str) -> type:
    return Inert

  def __call__(self, *args, **kwargs) -> 'Inert':
    return Inert()

  def __getitem__(self, key) -> 'Inert':
    return Inert()


# The modules stubbed when their package is missing; `imdb_movie_reviews` extends TFDS's IMDB builder module.
_STUBS = {'tensorflow': (), 'tensorflow_datasets': ('datasets', 'datasets.imdb_reviews',
                                                    'datasets.imdb_reviews.imdb_reviews_dataset_builder')}


def install_stubs() -> None:
  """`tensorflow` and `tensorflow_datasets` (and the submodules imported from it) as inert modules where missing."""
  for name, submodules in _STUBS.items():
    try:
      __import__(name)
    except ImportError:
      for module_name in (name, *(f'{name}.{submodule}' for submodule in submodules)):
        module = types.ModuleType(module_name)
        module.__getattr__ = lambda attribute: Inert
        sys.modules[module_name] = module
        parent, _, child = module_name.rpartition('.')
        if parent:
          setattr(sys.modules[parent], child, module)
      sys.modules['tensorboard.compat.notf'] = types.ModuleType('notf')  # TensorBoard's own TF-free stand-ins.
  if isinstance(sys.modules['tensorflow'].is_tensor, _InertType):
    sys.modules['tensorflow'].is_tensor = lambda value: False  # Matplotlib asks it about every array it plots.


def synthetic_split(name: str, split, *, data_dir: str = '', manual_dir: str = '',
                    image_size: int = 0) -> dict[str, np.ndarray]:
  """Random arrays with the features and shapes `datasets.load_split` gives for `name`."""
  del split, data_dir, manual_dir
  rng = np.random.default_rng(0)
  if name in ('mnist', 'fashion_mnist'):
    return {'image': rng.integers(0, 256, (EXAMPLES, 28, 28, 1), np.uint8),
            'label': rng.integers(0, 10, EXAMPLES)}
  if name in ('imdb_reviews', 'imdb_movie_reviews'):
    texts = [' '.join(rng.choice(WORDS, rng.integers(50, 600))).encode() for _ in range(EXAMPLES)]
    return {'text': np.array(texts, dtype=object), 'label': rng.integers(0, 2, EXAMPLES)}
  if name == 'utk_face':
    size = image_size or 200
    return {'image': rng.integers(0, 256, (EXAMPLES, size, size, 3), np.uint8),
            'age': rng.integers(1, 100, EXAMPLES).astype(np.int32)}
  raise ValueError(f'no synthetic data for dataset {name!r}')


if __name__ == '__main__':
  install_stubs()
  from deeplearn.data import datasets  # pylint: disable=wrong-import-position
  datasets.load_split = synthetic_split
  runpy.run_module('deeplearn.bench', run_name='__main__', alter_sys=True)
