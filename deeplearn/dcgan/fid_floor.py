"""The scores of real digits, the floor a generator's scores are read against.

  python -m deeplearn.dcgan.fid_floor --classifier_workdir=runs/mnist [--num_images=10000]

Scores `--num_images` MNIST training images as if generated, against as many test images, with the same
classifier and statistics as the DCGAN's `eval/fid`, `eval/inception_score`, `eval/class_entropy`.
"""

import jax
from absl import app, flags

from deeplearn.core import input_pipeline, runs
from deeplearn.data import augment, datasets
from deeplearn.dcgan import metrics as generative_metrics

_CLASSIFIER_WORKDIR = flags.DEFINE_string('classifier_workdir', None, 'Workdir of a finished classification run.')
_NUM_IMAGES = flags.DEFINE_integer('num_images', 10_000, 'Images on each side.')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 1000, 'Images per batch.')


def real_scores(classifier_workdir: str, num: int, batch_size: int) -> dict[str, float]:
  """FID, Inception Score and class entropy of `num` training images against `num` test images."""
  classifier = runs.load(classifier_workdir, task='classification')
  config = classifier.config
  load = lambda split: datasets.load_split(config.dataset, split, data_dir=config.data_dir,
                                           manual_dir=config.manual_dir)['image'][:num]
  split = {'real': load(config.eval_split), 'fake': load(config.train_split)}

  @jax.jit
  def score(batch):
    return generative_metrics.score_batch(classifier.model.apply, classifier.variables,
                                          augment.to_float(batch['real']), {'fake': augment.to_float(batch['fake'])},
                                          batch['mask'])['fake']

  total = None
  for batch in input_pipeline.padded_batches(split, batch_size):
    total = score(batch) if total is None else total.merge(score(batch))
  return total.compute()


def main(argv: list[str]) -> None:
  del argv
  scores = real_scores(_CLASSIFIER_WORKDIR.value, _NUM_IMAGES.value, _BATCH_SIZE.value)
  print(' '.join(f'{name}={value:.4f}' for name, value in scores.items()))


if __name__ == '__main__':
  flags.mark_flags_as_required(['classifier_workdir'])
  app.run(main)
