"""One classifier trained on a sequence of datasets in turn, evaluated on all of them: catastrophic forgetting.

`config.stage_datasets` lists the datasets in training order, `stage_epochs` how long each trains and
`stage_label_offsets` what is added to its labels (MNIST 0-9, then Fashion-MNIST 10-19 in one 20-way
head); a third dataset is one more entry in each (`num_train_steps > 0` instead splits that many
steps evenly over the stages). Every
eval scores every stage's test split (`eval/DATASET/accuracy`, `eval/DATASET/loss`), and at the end a
plot shows them across the whole run.
"""

import functools

import ml_collections
import numpy as np

from deeplearn.classification import task as classification
from deeplearn.core import input_pipeline, optimizers, plots
from deeplearn.core.errors import UserError
from deeplearn.core.history import History
from deeplearn.core.input_pipeline import Batch
from deeplearn.core.task import Task, eval_split, loader_kwargs, shuffled_batches
from deeplearn.data import datasets


def load_stage(config: ml_collections.ConfigDict, dataset: str, label_offset: int, split: datasets.Split) -> Batch:
  """A stage's split with its labels moved to the stage's range of the shared head."""
  arrays = datasets.load_split(dataset, split, **loader_kwargs(config))
  return {'image': arrays['image'], 'label': arrays['label'] + label_offset}


def plot_accuracy_and_loss(history: History, names: list[str], boundaries: list[int],
                           epoch_steps: int) -> dict[str, np.ndarray]:
  """Each test split's accuracy and loss per epoch, with a line where each new stage began."""
  fig, axes = plots.figure(6, 4, columns=2)
  for ax, metric in zip(axes, ('accuracy', 'loss')):
    for i, name in enumerate(names):
      points = history.get(f'eval/{name}/{metric}', [])
      ax.plot([step / epoch_steps for step, _ in points], [v for _, v in points], 'o-', markersize=3,
              color=f'C{i}', label=f'{name} test')
    for boundary in boundaries:
      ax.axvline(boundary / epoch_steps, color='grey', linestyle=':')
    ax.set(xlabel='epoch', ylabel=metric, title=f'Test {metric} while training on each dataset in turn')
    ax.legend()
  return {'forgetting': plots.to_array(fig)}


def get_task(config: ml_collections.ConfigDict, workdir: str) -> Task:
  del workdir  # Nothing is learned from the data before training.
  names = list(config.stage_datasets)
  if not names or not len(names) == len(config.stage_epochs) == len(config.stage_label_offsets):
    raise UserError(f'config.stage_datasets ({len(names)}), stage_epochs ({len(config.stage_epochs)}) and '
                    f'stage_label_offsets ({len(config.stage_label_offsets)}) need one entry per stage, at least one.')
  stage_batches, stage_steps, eval_splits = [], [], {}
  for name, epochs, offset in zip(names, config.stage_epochs, config.stage_label_offsets):
    batches = shuffled_batches(config, functools.partial(load_stage, config, name, offset))
    stage_batches.append(batches)
    stage_steps.append(config.num_train_steps // len(names) if config.num_train_steps > 0
                       else epochs * batches.steps_per_epoch)
    eval_splits[f'eval/{name}'] = eval_split(load_stage(config, name, offset, config.eval_split), config)
  staged = input_pipeline.StagedBatches(stage_batches, stage_steps)
  total_steps = int(sum(stage_steps))
  return Task(
      init_state=classification.state_initializer(
          classification.create_model(config), optimizers.create_optimizer(config.optimizer, total_steps),
          stage_batches[0](0)['image'].shape[1:]),
      train_step=functools.partial(
          classification.train_step, max_shift=config.augment_max_shift, flip=config.augment_flip,
          label_smoothing=config.label_smoothing),
      eval_step=classification.eval_step,
      train_batches=staged,
      eval_splits=eval_splits,
      num_train_steps=total_steps,
      plot_history=functools.partial(plot_accuracy_and_loss, names=names,
                                     boundaries=[int(s) for s in staged.starts[1:-1]],
                                     epoch_steps=staged.steps_per_epoch),
  )


trained_model = classification.trained_model
