"""IMDB: the tokenizer, the masked BiLSTM, bucketed batches, the offline build, and the config end to end."""

import functools
import io
import os
import subprocess
import sys
import tarfile

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from deeplearn.core import checkpoints, input_pipeline, runs, train, train_state
from deeplearn.core.errors import UserError
from deeplearn.data import datasets, imdb_movie_reviews
from deeplearn.imdb import predict as imdb_predict, task as imdb, tokenizer
from deeplearn.models.rnn import BiLSTM as FusedBiLSTM, TextClassifier
from tests.conftest import load_config, tiny_config

IMDB_CONFIG = os.path.join(os.path.dirname(__file__), '..', 'configs', 'imdb_rnn.py')
ROOT = os.path.join(os.path.dirname(__file__), '..')
WORDS = {1: 'great wonderful loved superb fun', 0: 'awful boring hated dull waste'}


def _reviews(split: str, label: int) -> list[str]:
  rng = np.random.default_rng(hash((split, label)) % 2**32)
  words = WORDS[label].split() + 'the movie film was and it a of plot actor'.split()
  return [' '.join(rng.choice(words, rng.integers(3, 60))) + '.<br /><br />Très bien?' for _ in range(12)]


def _movie(split: str, review_id: int) -> str:
  """Ten movies per split, each with positive and negative reviews; none in both splits."""
  return f'tt{1 if split == "train" else 2}00000{review_id % 10}'


def write_acl_imdb(folder: str, as_tarball: bool, with_urls: bool = True) -> None:
  """The aclImdb tree (train and test, pos and neg, their movies' URLs, no unsup) as a folder or a tarball."""
  files = {f'aclImdb/{split}/{"pos" if label else "neg"}/{i}_{8 if label else 2}.txt': text
           for split in ('train', 'test') for label in (0, 1) for i, text in enumerate(_reviews(split, label))}
  if with_urls:
    files.update({f'aclImdb/{split}/urls_{label}.txt': ''.join(
        f'http://www.imdb.com/title/{_movie(split, i)}/usercomments\n' for i in range(12))
        for split in ('train', 'test') for label in ('neg', 'pos')})
  os.makedirs(folder)
  if as_tarball:
    with tarfile.open(os.path.join(folder, 'aclImdb_train_test.tar.gz'), 'w:gz') as tar:
      for name, text in files.items():
        info = tarfile.TarInfo(name)
        info.size = len(text.encode())
        tar.addfile(info, io.BytesIO(text.encode()))
    return
  for name, text in files.items():
    os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
    with open(os.path.join(folder, name), 'w') as f:
      f.write(text)


@pytest.fixture(scope='module')
def imdb_data_dir(tmp_path_factory):
  raw = str(tmp_path_factory.mktemp('raw') / 'imdb')
  write_acl_imdb(raw, as_tarball=True)
  data_dir = str(tmp_path_factory.mktemp('tfds'))
  datasets.prepared_builder('imdb_movie_reviews', data_dir=data_dir, manual_dir=raw)
  return data_dir


def test_tokenizer_round_trips_any_text():
  subwords = tokenizer.learn(_reviews('train', 0) + _reviews('train', 1), vocab_size=300)
  for text in ['Completely unseen wörds: naïve café, 日本語 and 🎬!!', ' leading and  double  spaces',
               'tabs\tand\nnewlines', '<br />', '']:
    assert subwords.decode(subwords.encode(text).ids) == text
    assert tokenizer.PAD_ID not in subwords.encode(text).ids


class FlaxBiLSTM(nn.Module):
  """The plain formulation: flax's `Bidirectional` of two `RNN(OptimizedLSTMCell)` scans, padding masked by `seq_lengths`."""
  features: int

  @nn.compact
  def __call__(self, x, lengths):
    cell = lambda: nn.OptimizedLSTMCell(self.features)
    rnn = nn.Bidirectional(nn.RNN(cell()), nn.RNN(cell()), return_carry=True)
    ((_, forward_h), (_, backward_h)), outputs = rnn(x, seq_lengths=lengths)
    real = jnp.arange(x.shape[1])[None, :, None] < lengths[:, None, None]
    return jnp.where(real, outputs, 0.0), jnp.concatenate([forward_h, backward_h], axis=-1)


@pytest.mark.parametrize('recompute_steps', [False, True])
def test_fused_bilstm_is_the_plain_formulation_in_values_and_gradients(recompute_steps):
  x = jax.random.normal(jax.random.key(1), (4, 11, 6))
  lengths = jnp.array([11, 5, 1, 8])
  variables = FlaxBiLSTM(7).init(jax.random.key(0), x, lengths)
  fused = functools.partial(FusedBiLSTM, recompute_steps=recompute_steps)
  assert jax.tree.structure(variables) == jax.tree.structure(fused(7).init(jax.random.key(0), x, lengths))

  def loss(module, variables, x):
    outputs, final = module.apply(variables, x, lengths)
    return jnp.sum(jnp.sin(outputs)) + jnp.sum(final ** 2)  # Every output and final feature weighs in.
  for module in (FlaxBiLSTM(7), fused(7)):
    np.testing.assert_allclose(loss(module, variables, x), loss(FlaxBiLSTM(7), variables, x), rtol=1e-6)
  expected = jax.grad(functools.partial(loss, FlaxBiLSTM(7)), argnums=(0, 1))(variables, x)
  fused_grads = jax.grad(functools.partial(loss, fused(7)), argnums=(0, 1))(variables, x)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), fused_grads, expected)
  for a, b in zip(fused(7).apply(variables, x, lengths), FlaxBiLSTM(7).apply(variables, x, lengths)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_recomputed_steps_keep_a_quarter_of_the_activations_for_the_backward_pass():
  x = jax.random.normal(jax.random.key(1), (4, 11, 6))
  lengths = jnp.array([11, 5, 1, 8])
  variables = FusedBiLSTM(7).init(jax.random.key(0), x, lengths)

  def kept_for_backward(recompute_steps: bool) -> int:
    _, backward = jax.vjp(lambda v: FusedBiLSTM(7, recompute_steps=recompute_steps).apply(v, x, lengths), variables)
    return sum(leaf.size for leaf in jax.tree.leaves(backward))
  assert kept_for_backward(True) < kept_for_backward(False) / 3


@pytest.mark.parametrize('lstm_features,pooling', [((8,), 'final'), ((8, 4), 'final'), ((8,), 'final_and_max')],
                         ids=['one_layer', 'two_layers', 'max_pooled'])
def test_padding_never_changes_a_review_logit(lstm_features, pooling):
  model = TextClassifier(50, 8, lstm_features, 8, pooling=pooling)
  rng = np.random.default_rng(0)
  lengths = np.array([20, 7, 13, 1], np.int32)
  tokens = input_pipeline.padded_to([rng.integers(1, 50, n) for n in lengths], 20)
  variables = model.init(jax.random.key(0), tokens, lengths)
  logits = model.apply(variables, tokens, lengths)
  for extra in (1, 37):
    padded = np.pad(tokens, ((0, 0), (0, extra)))
    np.testing.assert_allclose(model.apply(variables, padded, lengths), logits, rtol=1e-5, atol=1e-6)
  alone = model.apply(variables, tokens[1:2, :7], lengths[1:2])
  np.testing.assert_allclose(alone, logits[1:2], rtol=1e-5, atol=1e-6)


def test_bucketed_batches_pad_little_cover_each_bucket_and_repeat_per_seed():
  rng = np.random.default_rng(0)
  sequences = [rng.integers(1, 50, rng.integers(1, 300)) for _ in range(200)]
  labels = rng.integers(0, 2, 200)
  batches = input_pipeline.BucketedBatches(sequences, labels, 8, (64, 128, 256), 32, seed=3)
  assert batches.steps_per_epoch == sum(len(b) // 8 for b in batches.buckets)
  for step in range(batches.steps_per_epoch):
    batch = batches(step)
    longest = batch['length'].max()
    assert batch['tokens'].shape == (8, -(-longest // 32) * 32)
    assert np.searchsorted([64, 128, 256], batch['length']).min() == np.searchsorted([64, 128, 256], longest)
  again = input_pipeline.BucketedBatches(sequences, labels, 8, (64, 128, 256), 32, seed=3)
  np.testing.assert_array_equal(again(5)['tokens'], batches(5)['tokens'])


def test_unmasked_padding_changes_the_logit_as_in_the_notebook():
  tokens, lengths = np.array([[5, 6, 7, 0, 0, 0, 0, 0]]), np.array([3])
  masked = TextClassifier(50, 8, (8,), 8)
  variables = masked.init(jax.random.key(0), tokens, lengths)
  unmasked = masked.clone(mask_padding=False)
  # Unmasked, the model reads all 8 positions: as if the review were 8 tokens long.
  np.testing.assert_allclose(unmasked.apply(variables, tokens, lengths), masked.apply(variables, tokens, np.array([8])),
                             rtol=1e-6)
  assert not np.allclose(unmasked.apply(variables, tokens, lengths), masked.apply(variables, tokens, lengths))


def test_token_dropout_drops_whole_tokens_in_training_only():
  tokens, lengths = np.arange(1, 401).reshape(2, 200) % 50, np.array([200, 200])
  model = TextClassifier(50, 8, (4,), 4, token_dropout_rate=0.25)
  variables = model.init(jax.random.key(0), tokens, lengths)
  embedded = lambda **kwargs: model.apply(variables, tokens, lengths, capture_intermediates=True, **kwargs)[1][
      'intermediates']['token_dropout']['__call__'][0]
  table = variables['params']['Embed_0']['embedding']
  np.testing.assert_array_equal(embedded(), table[tokens])
  dropped = embedded(train=True, rngs={'dropout': jax.random.key(1)})
  zero = np.all(dropped == 0, axis=-1)
  np.testing.assert_allclose(np.asarray(dropped)[~zero], table[tokens][~zero] / 0.75, rtol=1e-6)
  assert 0.15 < zero.mean() < 0.35  # Of 400 tokens, each dropped with probability 0.25.


@pytest.mark.parametrize('as_tarball', [True, False], ids=['tarball', 'folder'])
def test_offline_build_from_the_acl_imdb_tree(as_tarball, tmp_path):
  write_acl_imdb(str(tmp_path / 'raw'), as_tarball)
  builder = datasets.prepared_builder('imdb_reviews', data_dir=str(tmp_path / 'tfds'), manual_dir=str(tmp_path / 'raw'))
  assert {k: v.num_examples for k, v in builder.info.splits.items()} == {'train': 24, 'test': 24}
  test = datasets.load_split('imdb_reviews', 'test', data_dir=str(tmp_path / 'tfds'), manual_dir='')
  assert sorted(t.decode() for t in test['text']) == sorted(_reviews('test', 0) + _reviews('test', 1))


def test_validation_holds_every_review_of_its_movies_and_no_other(imdb_data_dir):
  load = functools.partial(datasets.load_split, 'imdb_movie_reviews', data_dir=imdb_data_dir, manual_dir='')
  train, validation, rest, test = (load(split) for split in ('train', 'validation', 'train_minus_validation', 'test'))
  # One of the ten training movies with all its reviews, the same on every build; the published splits as they are.
  (held_out,) = imdb_movie_reviews.validation_movies({_movie('train', i) for i in range(10)})
  reviews_per_label = [_movie('train', i) for i in range(12)].count(held_out)
  assert validation['movie'].tolist() == [held_out.encode()] * 2 * reviews_per_label
  assert not set(validation['movie']) & set(rest['movie'])
  assert sorted(validation['text'].tolist() + rest['text'].tolist()) == sorted(train['text'].tolist())
  assert sorted(t.decode() for t in test['text']) == sorted(_reviews('test', 0) + _reviews('test', 1))
  # Each review keeps its own movie: review i of either label is of movie i % 10.
  for text, movie in zip(train['text'], train['movie']):
    label = 1 if text.decode() in _reviews('train', 1) else 0
    assert movie.decode() == _movie('train', _reviews('train', label).index(text.decode()))


def test_the_online_download_is_checked_against_tfds_registered_checksum():
  url = imdb_movie_reviews.imdb_reviews._DOWNLOAD_URL  # pylint: disable=protected-access
  assert imdb_movie_reviews.Builder.url_infos[url] == imdb_movie_reviews.imdb_reviews.Builder.url_infos[url]


def test_an_archive_without_the_movie_urls_is_one_clear_error(tmp_path):
  write_acl_imdb(str(tmp_path / 'raw'), as_tarball=True, with_urls=False)
  with pytest.raises(UserError, match=r'lacks .*urls_.*name each review.s movie'):
    datasets.prepared_builder('imdb_movie_reviews', data_dir=str(tmp_path / 'tfds'), manual_dir=str(tmp_path / 'raw'))


def test_train_step_lowers_the_loss_on_a_fixed_batch():
  model = TextClassifier(50, 8, (8,), 8)
  rng = np.random.default_rng(0)
  batch = input_pipeline.text_batch([rng.integers(1, 50, n) for n in rng.integers(1, 30, 16)],
                                    rng.integers(0, 2, 16).astype(np.int32), 8)
  state = imdb.init_state(jax.random.key(0), model=model, tx=optax.adam(1e-2))
  step = jax.jit(lambda s: imdb.train_step(s, batch, jax.random.key(1)))
  losses = []
  for _ in range(20):
    state, metrics = step(state)
    losses.append(float(metrics.compute()['loss']))
  assert losses[-1] < 0.8 * losses[0]


def test_the_weight_average_is_its_definition_step_by_step():
  model = TextClassifier(50, 8, (8,), 8)
  batch = input_pipeline.text_batch([np.arange(1, 9), np.arange(3, 20)], np.array([0, 1], np.int32), 8)
  state = imdb.init_state(jax.random.key(0), model=model, tx=optax.sgd(0.5), keep_average=True)
  expected = state.params
  step = jax.jit(functools.partial(imdb.train_step,
                                   average_decay=functools.partial(train_state.ema_decay, decay=0.2)))
  for t in (1, 2, 3):
    state, _ = step(state, batch, jax.random.key(t))
    decay = {1: 2 / 11, 2: 0.2, 3: 0.2}[t]  # (1 + t) / (10 + t) while below ema_decay.
    expected = jax.tree.map(lambda e, p: decay * e + (1 - decay) * p, expected, state.params)
  jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-6, atol=1e-7), state.ema_params, expected)
  kernel = lambda params: params['Dense_0']['kernel']
  assert not np.allclose(kernel(state.ema_params), kernel(state.params))
  plain = imdb.init_state(jax.random.key(0), model=model, tx=optax.sgd(0.5))
  assert plain.ema_params is None  # No average: nothing in the state's tree, as before averages existed.
  assert len(jax.tree.leaves(state)) - len(jax.tree.leaves(plain)) == len(jax.tree.leaves(state.params))


def test_the_uniform_average_is_the_mean_of_the_parameters_from_its_start_step():
  model = TextClassifier(50, 8, (8,), 8)
  batch = input_pipeline.text_batch([np.arange(1, 9), np.arange(3, 20)], np.array([0, 1], np.int32), 8)
  config = load_config(IMDB_CONFIG)
  config.swa_start = 0.4
  decay = imdb.average_decay(config, num_steps=5)  # The mean of the parameters after steps 2 to 5.
  state = imdb.init_state(jax.random.key(0), model=model, tx=optax.sgd(0.5), keep_average=True)
  step = jax.jit(functools.partial(imdb.train_step, average_decay=decay))
  kept = []
  for t in range(1, 6):
    state, _ = step(state, batch, jax.random.key(t))
    kept.append(state.params)
    if t == 1:  # Before its start the average is the parameters.
      jax.tree.map(np.testing.assert_array_equal, state.ema_params, state.params)
  mean = jax.tree.map(lambda *p: np.mean(p, axis=0), *kept[1:])
  jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-7), state.ema_params, mean)
  assert not np.allclose(state.ema_params['Dense_0']['kernel'], state.params['Dense_0']['kernel'])


# swa_start 0.05 starts the mean at step 0 of 3 steps and of 6: the resumed run averages as the unbroken one.
@pytest.mark.parametrize('average', [{'ema_decay': 0.5}, {'swa_start': 0.05}])
def test_a_run_with_a_weight_average_evaluates_predicts_and_resumes_it(average, imdb_data_dir, tmp_path):
  config = lambda steps: tiny_config(
      load_config(IMDB_CONFIG), imdb_data_dir, batch_size=4, eval_batch_size=8, vocab_size=300,
      bucket_boundaries=(20, 40), batches_per_transfer=1, max_length=64, num_train_steps=steps, test_split='',
      **average, **{'model.embedding_features': 8, 'model.lstm_features': (8,), 'model.dense_features': 8})
  unbroken, resumed = str(tmp_path / 'unbroken'), str(tmp_path / 'resumed')
  summary = train.train_and_evaluate(config(6), unbroken)
  train.train_and_evaluate(config(3), resumed)
  train.train_and_evaluate(config(6), resumed)
  state = checkpoints.restore_latest_as_saved(unbroken)[0]['state']
  jax.tree.map(np.testing.assert_array_equal, checkpoints.restore_latest_as_saved(resumed)[0]['state'], state)
  run = runs.load(unbroken)
  jax.tree.map(np.testing.assert_array_equal, run.variables['params'], state['ema_params'])
  assert not np.array_equal(state['ema_params']['Dense_0']['kernel'], state['params']['Dense_0']['kernel'])
  # Evaluation read the average: the predictor, which reads it, says of every review what evaluation said.
  validation = datasets.load_split(run.config.dataset, run.config.eval_split, data_dir=imdb_data_dir, manual_dir='')
  probabilities = imdb_predict.positive_probabilities(run, [t.decode() for t in validation['text']])
  logits = np.log(probabilities) - np.log1p(-probabilities)
  loss = optax.sigmoid_binary_cross_entropy(logits, validation['label'].astype(np.float32)).mean()
  assert summary['eval/loss'] == pytest.approx(float(loss), rel=1e-4)


@pytest.mark.parametrize('averages, message', [
    ({'ema_decay': 1.0}, r'config.ema_decay=1.0 must be in \[0, 1\): 0 keeps no average.'),
    ({'ema_decay': -0.1}, r'config.ema_decay=-0.1 must be in \[0, 1\): 0 keeps no average.'),
    ({'swa_start': 1.0}, r'config.swa_start=1.0 must be in \[0, 1\): 0 keeps no average.'),
    ({'ema_decay': 0.9, 'swa_start': 0.5},
     r'config.ema_decay and config.swa_start each ask for a weight average: set one of them to 0.'),
])
def test_a_bad_weight_average_is_one_clear_error_before_any_work(averages, message, tmp_path):
  config = load_config(IMDB_CONFIG)
  config.update(averages)
  with pytest.raises(UserError, match=message):
    imdb.get_task(config, str(tmp_path))
  assert not os.listdir(tmp_path)


def test_imdb_config_trains_resumes_with_its_tokenizer_and_predicts(imdb_data_dir, tmp_path):
  config = tiny_config(load_config(IMDB_CONFIG), imdb_data_dir, batch_size=4, eval_batch_size=8,
                       vocab_size=300, bucket_boundaries=(20, 40), batches_per_transfer=1, max_length=64,
                       **{'model.embedding_features': 8, 'model.lstm_features': (8,), 'model.dense_features': 8})
  workdir = str(tmp_path / 'run')
  summary = train.train_and_evaluate(config, workdir)
  assert set(summary) == {'eval/loss', 'eval/accuracy', 'test/loss', 'test/accuracy'}
  saved = open(os.path.join(workdir, tokenizer.FILE_NAME)).read()
  config.num_train_steps = 9
  config.test_split = ''  # A candidate recipe trains on without the test split.
  summary = train.train_and_evaluate(config, workdir)
  assert set(summary) == {'eval/loss', 'eval/accuracy'}
  assert checkpoints.create_manager(workdir, 3).all_steps()[-1] == 9
  assert open(os.path.join(workdir, tokenizer.FILE_NAME)).read() == saved
  # The predictor says of every test review what the run's evaluation said.
  test = datasets.load_split(config.dataset, config.eval_split, data_dir=imdb_data_dir, manual_dir='')
  probabilities = imdb_predict.positive_probabilities(runs.load(workdir), [t.decode() for t in test['text']])
  assert np.mean((probabilities > 0.5) == (test['label'] == 1)) == pytest.approx(summary['eval/accuracy'])

  result = subprocess.run(
      [sys.executable, '-m', 'deeplearn.predict', f'--workdir={workdir}', '--text=great fun, loved it',
       '--file=-'], input='awful and boring\n', capture_output=True, text=True, timeout=300, cwd=ROOT)
  assert result.returncode == 0, result.stderr[-2000:]
  lines = result.stdout.strip().splitlines()
  assert [line.split('\t')[1] for line in lines] == ['great fun, loved it', 'awful and boring']
  expected = imdb_predict.positive_probabilities(runs.load(workdir), ['great fun, loved it', 'awful and boring'])
  assert [float(line.split('\t')[0]) for line in lines] == pytest.approx(expected, abs=5e-4)
  with pytest.raises(UserError, match='review 2 is empty'):  # The command prints it as `error: ...` (test_age).
    imdb_predict.positive_probabilities(runs.load(workdir), ['fine', ' '])
