"""Metric collections of several named parts (variants, samplers), merged and computed as one."""

from typing import Any

import flax


@flax.struct.dataclass
class NamedMetrics:
  """A clu metric collection per name; computes them all, each metric named `NAME/METRIC` ('' adds no prefix)."""
  parts: dict[str, Any]

  def merge(self, other: 'NamedMetrics') -> 'NamedMetrics':
    return NamedMetrics({name: m.merge(other.parts[name]) for name, m in self.parts.items()})

  def compute(self) -> dict[str, Any]:
    return {f'{name}/{k}' if name else k: v for name, m in self.parts.items() for k, v in m.compute().items()}
