"""Matplotlib figures rendered to arrays, for `workdir/images` and TensorBoard."""

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def figure(width: float = 6.0, height: float = 4.0, columns: int = 1) -> tuple[Figure, list[Axes]]:
  """A figure (outside pyplot's global state, drawn by Agg) and its `columns` axes side by side."""
  fig = Figure(figsize=(width * columns, height), dpi=100)
  FigureCanvasAgg(fig)
  return fig, [fig.add_subplot(1, columns, i + 1) for i in range(columns)]


def to_array(fig: Figure) -> np.ndarray:
  """The figure as an `(H, W, 3)` uint8 image."""
  fig.tight_layout()
  fig.canvas.draw()
  return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
