"""Flax (linen) models by name: `config.model_name` picks one, `config.model` holds its own fields."""

import dataclasses
from typing import Any

import flax.linen as nn
import jax.numpy as jnp
import ml_collections

from deeplearn.core.errors import UserError
from deeplearn.models import cnn, dcgan, layers, mlp, mobilenet_v2, resnet, rnn

COMPUTE_DTYPES = ('float32', 'bfloat16')
MODELS: dict[str, type[nn.Module]] = {
    'original_cnn': cnn.OriginalCNN,
    'strong_cnn': cnn.StrongCNN,
    'resnet': resnet.ResNet,
    'mobilenet_v2': mobilenet_v2.MobileNetV2,
    'mlp': mlp.MLP,
    'text_classifier': rnn.TextClassifier,
    'dcgan_generator': dcgan.Generator,
    'dcgan_discriminator': dcgan.Discriminator,
}


def _as_tuples(value: Any) -> Any:
  """Lists (as a config read from JSON holds them) as tuples: module fields stay hashable."""
  return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def create(name: str, fields: ml_collections.ConfigDict, dtype: str = 'float32', conv: str = 'auto',
           **task_fields: Any) -> nn.Module:
  """The model `name` with its own `fields` and what the task decides (`num_outputs`, `vocab_size`, ...).

  `dtype` is what it computes in (its parameters stay float32); `conv` how its convolutions compute
  (`layers.FORMULATIONS`), for models that have them.
  """
  if name not in MODELS:
    raise UserError(f'config.model_name={name!r} is unknown; use one of {sorted(MODELS)}.')
  cls = MODELS[name]
  accepted = {f.name for f in dataclasses.fields(cls)} - {'parent', 'name'}
  kwargs = {k: _as_tuples(v) for k, v in fields.items()} | task_fields
  unknown = sorted(set(kwargs) - accepted)
  if unknown:
    raise UserError(f'config.model has {", ".join(unknown)}, which model {name!r} does not take; its fields are '
                    f'{", ".join(sorted(accepted - set(task_fields) - {"dtype", "conv"}))}.')
  if conv not in layers.FORMULATIONS:
    raise UserError(f'config.conv={conv!r} is not one of {layers.FORMULATIONS}.')
  if 'conv' in accepted:
    kwargs['conv'] = conv
  if dtype not in COMPUTE_DTYPES:
    raise UserError(f'config.compute_dtype={dtype!r} is not one of {COMPUTE_DTYPES}.')
  if dtype != 'float32':
    if 'dtype' not in accepted:
      raise UserError(f'config.compute_dtype={dtype!r} is not supported by model {name!r}; use float32.')
    kwargs['dtype'] = jnp.dtype(dtype)
  return cls(**kwargs)
