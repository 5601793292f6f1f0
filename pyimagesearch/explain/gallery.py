"""The top-losses grid: one tile per image, with its file name, true label,
prediction and probability, and the heatmap of the predicted class beside
the image when the model has one (fastai's plot_top_losses)."""

import math
import os
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from ..utils.atomic import atomic_path
from .heatmap import side_by_side


@dataclass
class Tile:
    image: np.ndarray          # uint8 BGR, as the model saw it (or a larger copy)
    name: str                  # the image's file name
    true: str
    predicted: str
    probability: float         # of the predicted class
    loss: float
    heatmap: np.ndarray = None  # 0..1 on the explained layer's grid, or None

    @property
    def picture(self):
        """The tile's picture: the image, and its heatmap overlay beside it."""
        return side_by_side(self.image, self.heatmap)

    @property
    def caption(self):
        name = self.name if len(self.name) <= 28 else "..." + self.name[-25:]
        return (f"{name}\ntrue: {self.true}\npredicted: {self.predicted} "
                f"{self.probability * 100:.1f}%  (loss {self.loss:.2f})")


def save_gallery(path, tiles, title=None, columns=4):
    """Draw `tiles` in a grid and write it as a PNG, atomically."""
    columns = max(1, min(columns, len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    pictures = [tile.picture for tile in tiles]
    aspect = max(p.shape[1] / p.shape[0] for p in pictures)
    fig = Figure(figsize=(columns * 1.9 * aspect, rows * 2.6 + 0.5))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, tile, picture in zip(axes.flat, tiles, pictures):
        ax.imshow(picture[..., ::-1])
        ax.set_title(tile.caption, fontsize=7, color="firebrick" if tile.true != tile.predicted else "black",
                     loc="left")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    return os.fspath(path)
