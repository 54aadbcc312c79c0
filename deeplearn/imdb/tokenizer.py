"""A byte-level BPE subword tokenizer (Hugging Face `tokenizers`), learned from training text, kept as JSON.

Byte-level pieces cover every string, so any text (unseen words, punctuation, non-ASCII) encodes and
decodes back to itself. Id 0 is padding.
"""

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from deeplearn.core import storage

PAD = '<pad>'
PAD_ID = 0
FILE_NAME = 'tokenizer.json'


def learn(texts: Iterable[str], vocab_size: int) -> Tokenizer:
  """A tokenizer of about `vocab_size` pieces (padding included) learned from `texts`."""
  tokenizer = Tokenizer(models.BPE())
  tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
  tokenizer.decoder = decoders.ByteLevel()
  trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD], show_progress=False,
                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
  tokenizer.train_from_iterator(texts, trainer)
  assert tokenizer.token_to_id(PAD) == PAD_ID
  return tokenizer


def save(tokenizer: Tokenizer, workdir: str) -> None:
  folder = storage.path(workdir)
  folder.mkdir(parents=True, exist_ok=True)
  (folder / FILE_NAME).write_text(tokenizer.to_str())


def load(workdir: str) -> Tokenizer | None:
  """The tokenizer saved in `workdir`, or None when there is none yet."""
  path = storage.path(workdir) / FILE_NAME
  return Tokenizer.from_str(path.read_text()) if path.exists() else None
