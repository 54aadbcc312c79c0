"""deeplearn: four deep-learning projects as one functional JAX/Flax codebase."""

from deeplearn.core import console

console.import_tensorflow_quietly()
console.quiet_backend_probe()
console.quiet_library_info()

from deeplearn.core import storage  # pylint: disable=wrong-import-position  # Imports TensorFlow, quietly now.

storage.configure()
