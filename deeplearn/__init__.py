"""deeplearn: four deep-learning projects as one functional JAX/Flax codebase."""
