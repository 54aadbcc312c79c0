"""Errors that mean the user has something to fix; `main` prints them as one clear line."""


class UserError(Exception):
  """Bad input (config, data, checkpoint): the message says what is wrong and how to fix it."""


class NonFiniteLossError(UserError):
  """Training produced a NaN or infinite loss."""
