"""The DCGAN on MNIST: its task, its generative metrics (FID) and its tools (`sample`, `fid_floor`)."""
