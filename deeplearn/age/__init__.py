"""Age regression on UTKFace portraits and its tool (`score_checkpoints`)."""
