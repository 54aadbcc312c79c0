"""Age regression on UTKFace with a small residual network at 64x64: test MAE <= 5.5 years on a 2-core CPU in < 2 h."""

from deeplearn.age import defaults as age_defaults


def get_config():
  config = age_defaults.age_config()
  config.cpu_devices = 2  # On a CPU, one device per core of two: 2.2x the steps/s of one (docs/results.md).
  return config
