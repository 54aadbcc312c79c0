import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from deeplearn.core.errors import UserError
from deeplearn.models import cnn
from deeplearn.models.layers import Im2ColConv, SubPixelConvTranspose


@pytest.mark.parametrize('size', [13, 28])
@pytest.mark.parametrize('kernel', [3, 5])
@pytest.mark.parametrize('strides,padding', [((1, 1), 'SAME'), ((2, 2), 'SAME'), ((2, 2), 'VALID')])
def test_im2col_conv_equals_flax_conv(size, kernel, strides, padding):
  x = jax.random.normal(jax.random.key(0), (2, size, size, 3))
  ours = Im2ColConv(5, (kernel, kernel), strides, padding)
  params = ours.init(jax.random.key(1), x)
  reference = nn.Conv(5, (kernel, kernel), strides, padding).apply(params, x)
  np.testing.assert_allclose(ours.apply(params, x), reference, atol=1e-5)


@pytest.mark.parametrize('size', [7, 6])
@pytest.mark.parametrize('kernel,stride', [(5, 1), (5, 2), (3, 2), (4, 2), (3, 3)])
def test_sub_pixel_conv_transpose_equals_flax_conv_transpose_and_its_gradients(size, kernel, stride):
  x = jax.random.normal(jax.random.key(0), (2, size, size, 3))
  ours = SubPixelConvTranspose(4, (kernel, kernel), (stride, stride))
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


def test_unknown_kernel_initializer_is_a_clear_error():
  with pytest.raises(UserError, match="config.model.kernel_init='he' is unknown"):
    cnn.kernel_initializer('he')
