"""IMDB sentiment: a subword tokenizer and a bidirectional LSTM."""
