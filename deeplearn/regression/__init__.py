"""The regression warm-up: an MLP fits a noisy curve."""
