"""Flax (linen) models, chosen by name from a config."""
