import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from deeplearn.models import cnn
from deeplearn.models.layers import Im2ColConv


@pytest.mark.parametrize('size', [13, 28])
@pytest.mark.parametrize('strides,padding', [((1, 1), 'SAME'), ((2, 2), 'SAME'), ((2, 2), 'VALID')])
def test_im2col_conv_equals_flax_conv(size, strides, padding):
  x = jax.random.normal(jax.random.key(0), (2, size, size, 3))
  ours = Im2ColConv(5, (3, 3), strides, padding)
  params = ours.init(jax.random.key(1), x)
  reference = nn.Conv(5, (3, 3), strides, padding).apply(params, x)
  np.testing.assert_allclose(ours.apply(params, x), reference, atol=1e-5)


@pytest.mark.parametrize('model', [cnn.OriginalCNN(num_classes=10, dropout_rate=0.25),
                                   cnn.StrongCNN(num_classes=20, widths=(4, 8, 8))])
def test_output_shapes(model):
  x = jnp.zeros((3, 28, 28, 1))
  variables = model.init(jax.random.key(0), x)
  logits, _ = model.apply(variables, x, train=True, rngs={'dropout': jax.random.key(1)},
                          mutable=['batch_stats'])
  assert logits.shape == (3, model.num_classes)
  assert model.apply(variables, x).shape == (3, model.num_classes)
