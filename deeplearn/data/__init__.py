"""Datasets through TFDS, prepared online or offline from the publishers' files."""
