import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
import pytest

from deeplearn import models
from deeplearn.core.errors import UserError
from deeplearn.models import cnn, layers
from deeplearn.models.layers import Conv, ConvTranspose


@pytest.mark.parametrize('formulation', ['matmul', 'native'])
@pytest.mark.parametrize('size', [13, 28])
@pytest.mark.parametrize('kernel', [3, 5])
@pytest.mark.parametrize('strides,padding', [((1, 1), 'SAME'), ((2, 2), 'SAME'), ((2, 2), 'VALID')])
def test_conv_equals_flax_conv_either_way(formulation, size, kernel, strides, padding):
  x = jax.random.normal(jax.random.key(0), (2, size, size, 3))
  ours = Conv(5, (kernel, kernel), strides, padding, formulation=formulation)
  params = ours.init(jax.random.key(1), x)
  reference = nn.Conv(5, (kernel, kernel), strides, padding).apply(params, x)
  np.testing.assert_allclose(ours.apply(params, x), reference, atol=1e-5)


@pytest.mark.parametrize('formulation', ['matmul', 'native', 'subpixel'])
@pytest.mark.parametrize('size', [7, 6])
@pytest.mark.parametrize('kernel,stride', [(5, 1), (5, 2), (3, 2), (4, 2), (3, 3)])
def test_conv_transpose_equals_flax_conv_transpose_and_its_gradients_either_way(formulation, size, kernel, stride):
  x = jax.random.normal(jax.random.key(0), (2, size, size, 3))
  ours = ConvTranspose(4, (kernel, kernel), (stride, stride), formulation=formulation)
  reference = nn.ConvTranspose(4, (kernel, kernel), (stride, stride), padding='SAME', use_bias=False)
  params = ours.init(jax.random.key(1), x)
  np.testing.assert_allclose(ours.apply(params, x), reference.apply(params, x), atol=1e-5)
  loss = lambda module: lambda p, x: jnp.sum(jnp.sin(module.apply(p, x)))
  for a, b in zip(jax.grad(loss(ours), argnums=(0, 1))(params, x), jax.grad(loss(reference), argnums=(0, 1))(params, x)):
    jax.tree.map(lambda u, v: np.testing.assert_allclose(u, v, atol=1e-4), a, b)


@pytest.mark.parametrize('model', [cnn.OriginalCNN(num_outputs=10, dropout_rate=0.25),
                                   cnn.StrongCNN(num_outputs=20, widths=(4, 8, 8))])
def test_output_shapes(model):
  x = jnp.zeros((3, 28, 28, 1))
  variables = model.init(jax.random.key(0), x)
  logits, _ = model.apply(variables, x, train=True, rngs={'dropout': jax.random.key(1)},
                          mutable=['batch_stats'])
  assert logits.shape == (3, model.num_outputs)
  assert model.apply(variables, x).shape == (3, model.num_outputs)


def test_original_cnn_takes_the_kernel_initializer_everywhere_and_an_output_relu(monkeypatch):
  monkeypatch.setitem(cnn.KERNEL_INITIALIZERS, 'ones', lambda: jax.nn.initializers.ones)
  model = cnn.OriginalCNN(1, kernel_size=5, stride=4, kernel_init='ones')
  params = model.init(jax.random.key(0), jnp.zeros((1, 40, 40, 3)))['params']
  kernels = [leaf for path, leaf in jax.tree_util.tree_leaves_with_path(params) if 'kernel' in str(path[-1])]
  assert len(kernels) == 5 and all(bool(jnp.all(kernel == 1)) for kernel in kernels)
  params['Dense_2']['kernel'] = -params['Dense_2']['kernel']  # Every output is now negative.
  images = jnp.ones((2, 40, 40, 3))
  assert bool(jnp.all(model.apply({'params': params}, images) < 0))
  assert bool(jnp.all(model.clone(relu_output=True).apply({'params': params}, images) == 0))


@pytest.mark.parametrize('name,fields,shape', [
    ('strong_cnn', dict(widths=(4, 8)), (2, 28, 28, 1)), ('resnet', dict(widths=(4, 8)), (2, 16, 16, 3)),
    ('original_cnn', dict(), (2, 28, 28, 1)), ('dcgan_discriminator', dict(features=(4, 8)), (2, 28, 28, 1)),
    ('dcgan_generator', dict(features=(8, 4, 4)), (2, 100))])
def test_a_checkpoint_of_one_conv_formulation_restores_into_the_others(name, fields, shape, tmp_path):
  """A model trained on a CPU (matmul, sub-pixel) predicts the same on a TPU (native), and the other way round."""
  extra = {} if name.startswith('dcgan') else {'num_outputs': 3}
  matmul, *others = (models.create(name, ml_collections.ConfigDict(fields), conv=conv, **extra)
                     for conv in ('matmul', 'native', 'subpixel'))
  x = jax.random.uniform(jax.random.key(0), shape)
  variables = matmul.init(jax.random.key(1), x)
  with ocp.StandardCheckpointer() as checkpointer:
    checkpointer.save(tmp_path / 'saved', variables)
  for other in others:
    assert jax.tree.structure(variables) == jax.tree.structure(other.init(jax.random.key(1), x))
    with ocp.StandardCheckpointer() as checkpointer:
      restored = checkpointer.restore(tmp_path / 'saved', jax.tree.map(ocp.utils.to_shape_dtype_struct, variables))
    np.testing.assert_allclose(other.apply(restored, x), matmul.apply(variables, x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('layer, in_shape, expected', [
    (ConvTranspose(128, (5, 5), (1, 1)), (7, 7, 256), 'subpixel'),  # The DCGAN generator's.
    (ConvTranspose(64, (5, 5), (2, 2)), (7, 7, 128), 'subpixel'),
    (Conv(64, (5, 5), (2, 2)), (28, 28, 1), 'native'),  # The DCGAN discriminator's.
    (Conv(128, (5, 5), (2, 2)), (14, 14, 64), 'native'),
    (Conv(8, (5, 5), (4, 4), 'VALID'), (200, 200, 3), 'native'),  # The age notebook's first.
    (Conv(16, (3, 3)), (28, 28, 1), 'matmul'),  # The strong CNN's first: an image's few channels.
    (Conv(16, (3, 3)), (28, 28, 16), 'native'),  # Its second, on a large output.
    (Conv(64, (3, 3)), (7, 7, 64), 'matmul'),  # Its last, on a small output.
    (Conv(64, (1, 1), (2, 2)), (32, 32, 32), 'matmul'),  # The residual network's projection.
])
def test_auto_on_cpu_picks_the_formulation_measured_fastest_and_the_layer_computes_it(layer, in_shape, expected):
  assert layers.formulation('auto', type(layer), in_shape, layer.kernel_size, layer.strides) == expected
  x = jnp.zeros((1, *in_shape))
  jaxpr = str(jax.make_jaxpr(layer.apply)(layer.init(jax.random.key(0), x), x))
  assert ('conv_general_dilated' in jaxpr) == (expected != 'matmul')
  assert 'lhs_dilation=(2, 2)' not in jaxpr  # No transposed convolution multiplies a dilated input's zeros.


def test_auto_is_native_on_accelerators(monkeypatch):
  monkeypatch.setattr(jax, 'default_backend', lambda: 'tpu')
  for layer in (ConvTranspose(64, (5, 5), (2, 2)), Conv(16, (3, 3))):
    assert layers.formulation('auto', type(layer), (28, 28, 1), layer.kernel_size, layer.strides) == 'native'


def test_an_unknown_conv_formulation_is_a_clear_error():
  with pytest.raises(UserError, match="config.conv='winograd' is not one of"):
    models.create('strong_cnn', ml_collections.ConfigDict(), conv='winograd')


def test_unknown_kernel_initializer_is_a_clear_error():
  with pytest.raises(UserError, match="config.model.kernel_init='he' is unknown"):
    cnn.kernel_initializer('he')


def _dot_operand_dtypes(jaxpr) -> set:
  """The dtypes of every matmul's operands in a jaxpr, nested jaxprs (scans, jits, ...) included."""
  dtypes = set()
  for eqn in jaxpr.eqns:
    if eqn.primitive.name in ('dot_general', 'conv_general_dilated'):
      dtypes |= {v.aval.dtype for v in eqn.invars}
    for param in eqn.params.values():
      for sub in param if isinstance(param, (list, tuple)) else [param]:
        if isinstance(sub, jax.extend.core.ClosedJaxpr):
          dtypes |= _dot_operand_dtypes(sub.jaxpr)
        elif isinstance(sub, jax.extend.core.Jaxpr):
          dtypes |= _dot_operand_dtypes(sub)
  return dtypes


@pytest.mark.parametrize('name,fields,inputs', [
    ('original_cnn', dict(), (np.zeros((2, 28, 28, 1)),)),
    ('strong_cnn', dict(widths=(4, 8)), (np.zeros((2, 28, 28, 1)),)),
    ('resnet', dict(widths=(4, 8)), (np.zeros((2, 16, 16, 3)),)),
    ('mobilenet_v2', dict(alpha=0.35), (np.zeros((2, 32, 32, 3)),)),
    ('mlp', dict(hidden=(4, 4)), (np.zeros((2, 1)),)),
    ('text_classifier', dict(embedding_features=8, lstm_features=(8,), dense_features=8),
     (np.ones((2, 6), np.int32), np.array([6, 3]))),
    ('dcgan_generator', dict(features=(8, 4, 4)), (np.zeros((2, 100)),)),
    ('dcgan_discriminator', dict(features=(4, 8)), (np.zeros((2, 28, 28, 1)),)),
])
def test_every_model_computes_in_bfloat16_with_float32_parameters_and_outputs(name, fields, inputs):
  extra = {'num_outputs': 3} if name in ('original_cnn', 'strong_cnn', 'resnet', 'mobilenet_v2') else {}
  extra |= {'vocab_size': 20} if name == 'text_classifier' else {}
  model = models.create(name, ml_collections.ConfigDict(fields), 'bfloat16', **extra)
  variables = jax.eval_shape(model.init, jax.random.key(0), *inputs)  # Traced, not run: dtypes are what counts.
  assert {x.dtype for x in jax.tree.leaves(variables)} == {jnp.dtype(jnp.float32)}
  jaxpr = jax.make_jaxpr(lambda v: model.apply(v, *inputs))(variables).jaxpr
  assert _dot_operand_dtypes(jaxpr) == {jnp.dtype(jnp.bfloat16)}
  assert jax.eval_shape(model.apply, variables, *inputs).dtype == jnp.float32
