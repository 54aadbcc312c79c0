import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

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


@pytest.mark.parametrize('model', [cnn.OriginalCNN(num_classes=10, dropout_rate=0.25),
                                   cnn.StrongCNN(num_classes=20, widths=(4, 8, 8))])
def test_output_shapes(model):
  x = jnp.zeros((3, 28, 28, 1))
  variables = model.init(jax.random.key(0), x)
  logits, _ = model.apply(variables, x, train=True, rngs={'dropout': jax.random.key(1)},
                          mutable=['batch_stats'])
  assert logits.shape == (3, model.num_classes)
  assert model.apply(variables, x).shape == (3, model.num_classes)
