"""deeplearn: four deep-learning projects as one functional JAX/Flax codebase."""

from deeplearn import console

console.import_tensorflow_quietly()
