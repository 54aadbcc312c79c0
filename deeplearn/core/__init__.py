"""The generic machinery every project shares: the training loop, checkpoints, data parallelism, configs."""
