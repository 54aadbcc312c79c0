"""How good generated images are, judged by a trained classifier: Frechet distance, Inception Score, class entropy.

The statistics behind all three are sums over examples, so they accumulate batch by batch as a
`clu.metrics.Metric`, exactly over a split however it is batched and sharded.
"""

from collections.abc import Callable, Mapping
from typing import Any

import flax
import jax
import jax.numpy as jnp
import numpy as np
from clu import metrics


def frechet_distance(mean1: np.ndarray, cov1: np.ndarray, mean2: np.ndarray, cov2: np.ndarray) -> float:
  """`|m1 - m2|^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2))` between two Gaussians, in float64.

  `tr (C1 C2)^(1/2)` is the sum of the square roots of the eigenvalues of the symmetric
  `C1^(1/2) C2 C1^(1/2)`, which avoids the complex matrix square root of a non-symmetric product.
  """
  mean1, cov1, mean2, cov2 = (np.asarray(a, np.float64) for a in (mean1, cov1, mean2, cov2))
  values, vectors = np.linalg.eigh(cov1)
  sqrt_cov1 = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
  product_eigenvalues = np.linalg.eigvalsh(sqrt_cov1 @ cov2 @ sqrt_cov1)
  trace_sqrt = np.sum(np.sqrt(np.clip(product_eigenvalues, 0, None)))
  diff = mean1 - mean2
  return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * trace_sqrt)


def _moments(count: np.ndarray, total: np.ndarray, outer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Mean and (population) covariance from a count, a sum and a sum of outer products."""
  count = float(count)
  mean = np.asarray(total, np.float64) / count
  return mean, np.asarray(outer, np.float64) / count - np.outer(mean, mean)


@flax.struct.dataclass
class GenerativeStatistics(metrics.Metric):
  """Sums over the unmasked examples of real features, generated features and generated class probabilities."""
  count: jax.Array
  real_sum: jax.Array
  real_outer: jax.Array
  fake_sum: jax.Array
  fake_outer: jax.Array
  probs_sum: jax.Array
  neg_entropy_sum: jax.Array  # sum over examples of sum_y p(y|x) log p(y|x)
  class_counts: jax.Array  # how often each class is the classifier's top guess

  @classmethod
  def from_model_output(cls, real_features: jax.Array, fake_features: jax.Array, fake_logits: jax.Array,
                        mask: jax.Array, **_: Any) -> 'GenerativeStatistics':
    weights = mask.astype(jnp.float32)
    weighted_sum = lambda x: jnp.einsum('n,n...->...', weights, x)
    outer = lambda f: jnp.einsum('n,ni,nj->ij', weights, f, f)
    probs = jax.nn.softmax(fake_logits)
    log_probs = jax.nn.log_softmax(fake_logits)
    top = jax.nn.one_hot(jnp.argmax(fake_logits, -1), fake_logits.shape[-1])
    return cls(count=jnp.sum(weights), real_sum=weighted_sum(real_features), real_outer=outer(real_features),
               fake_sum=weighted_sum(fake_features), fake_outer=outer(fake_features),
               probs_sum=weighted_sum(probs), neg_entropy_sum=weighted_sum(jnp.sum(probs * log_probs, -1)),
               class_counts=weighted_sum(top))

  def merge(self, other: 'GenerativeStatistics') -> 'GenerativeStatistics':
    return jax.tree.map(jnp.add, self, other)

  def compute(self) -> dict[str, float]:
    real_mean, real_cov = _moments(self.count, self.real_sum, self.real_outer)
    fake_mean, fake_cov = _moments(self.count, self.fake_sum, self.fake_outer)
    marginal = np.asarray(self.probs_sum, np.float64) / float(self.count)
    marginal_neg_entropy = np.sum(marginal * np.log(np.clip(marginal, 1e-30, None)))
    class_freq = np.asarray(self.class_counts, np.float64) / float(self.count)
    return {
        'fid': frechet_distance(real_mean, real_cov, fake_mean, fake_cov),
        'inception_score': float(np.exp(float(self.neg_entropy_sum) / float(self.count) - marginal_neg_entropy)),
        'class_entropy': float(-np.sum(class_freq * np.log(np.clip(class_freq, 1e-30, None)))),
    }


@flax.struct.dataclass
class GenerativeMetrics(metrics.Collection):
  """`fid`, `inception_score` and `class_entropy` (nats; log 10 when all ten digits are equally common)."""
  statistics: GenerativeStatistics

  def compute(self) -> dict[str, float]:
    return self.statistics.compute()


def score_batch(classifier_apply: Callable, classifier_variables: Any, real: jax.Array,
                fakes: Mapping[str, jax.Array], mask: jax.Array) -> dict[str, GenerativeMetrics]:
  """The statistics of a batch of real images and of each named batch of generated ones (all in [0, 1]).

  The real images pass through the classifier once, whatever the number of generated batches. The
  classifier sows its penultimate activations as `intermediates/features`, as the models in
  `deeplearn/models/cnn.py` do.
  """
  def features_and_logits(images):
    logits, sown = classifier_apply(classifier_variables, images, train=False, mutable=['intermediates'])
    return sown['intermediates']['features'][0], logits
  real_features, _ = features_and_logits(real)
  scores = {}
  for name, fake in fakes.items():
    fake_features, fake_logits = features_and_logits(fake)
    scores[name] = GenerativeMetrics.single_from_model_output(
        real_features=real_features, fake_features=fake_features, fake_logits=fake_logits, mask=mask)
  return scores
