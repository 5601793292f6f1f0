"""The top-losses gallery's tiles: the images a model got most wrong, worst
first, each with its heatmap when the model has one, from images in memory,
image files or rows of an HDF5 file."""

import os
from dataclasses import dataclass, replace

import numpy as np

from ..datasets import UnreadableImage, read_image
from ..preprocessing import RESIZERS
from .gallery import Tile, save_gallery
from .toplosses import top_losses

THUMBNAIL = 128  # pixels: the gallery's and the report's pictures, not full photos


@dataclass
class EvaluatedImages:
    """What an evaluation predicted, image by image: the material of the
    top-losses gallery and of the report."""
    labels: np.ndarray            # (N,) true classes
    probs: np.ndarray             # (N, classes) predicted probabilities
    class_names: list
    split: str = "test"           # which split they are ("test", or "val" without test images)
    images: object = None         # uint8, as the model saw them (array or lazy rows), or None
    paths: list = None            # their files, or None


def top_loss_tiles(evaluated, n=16, explainer=None, resize="simple", batch_size=32):
    """Tiles of the `n` EvaluatedImages with the highest loss, worst first.

    Without images (a features file holds no pixels) a tile is grey unless
    its file can be read; a file's thumbnail replaces the small model-sized
    copy (cut to the same frame with `resize`, so the heatmap still fits
    it). With an `explainer` (explainers.ImageExplainer), each tile carries
    the heatmap of its predicted class."""
    images, labels, probs = evaluated.images, evaluated.labels, evaluated.probs
    order, losses = top_losses(probs, labels, n)
    maps = [None] * len(order)
    if explainer is not None and len(order):
        maps = np.concatenate([explainer.heatmaps(images[order[i:i + batch_size]])[0]
                               for i in range(0, len(order), batch_size)])
    resizer = RESIZERS[resize](THUMBNAIL, THUMBNAIL)
    tiles = []
    for i, loss, heatmap in zip(order, losses, maps):
        picture = images[i] if images is not None else np.full((THUMBNAIL, THUMBNAIL, 3), 200, np.uint8)
        name = f"#{i}"
        if evaluated.paths is not None:
            name = os.path.basename(evaluated.paths[i])
            try:
                picture = resizer.preprocess(read_image(evaluated.paths[i]))
            except (UnreadableImage, OSError):
                pass  # moved or deleted since: the model-sized copy still shows it
        predicted = int(np.argmax(probs[i]))
        tiles.append(Tile(picture, name, evaluated.class_names[int(labels[i])],
                          evaluated.class_names[predicted], float(probs[i][predicted]), float(loss), heatmap))
    return tiles


def hdf5_top_loss_tiles(db_path, evaluated, top_n, explainer, data_key="images"):
    """top_loss_tiles for EvaluatedImages stored in an HDF5 file: only the
    rows shown are read (in file order, as h5py requires), never the whole
    set. Each tile is named by its file (the file's `paths`), or by its row
    in files of older builds."""
    import h5py

    from ..io.hdf5file import read_paths

    order, _ = top_losses(evaluated.probs, evaluated.labels, top_n)
    rows = np.sort(order)
    with h5py.File(db_path, "r") as db:
        images = db[data_key][rows] if len(rows) else np.empty((0,))
        files = read_paths(db, rows) if len(rows) else []
    shown = replace(evaluated, labels=np.asarray(evaluated.labels)[rows],
                    probs=np.asarray(evaluated.probs)[rows], images=images, paths=None)
    tiles = top_loss_tiles(shown, top_n, explainer)
    names = {f"#{i}": files[i] if files else f"row {rows[i]}" for i in range(len(rows))}
    for tile in tiles:
        tile.name = names[tile.name]
    return tiles


def write_top_losses(path, tiles, title):
    """The gallery PNG, or nothing for no tiles (--top-losses 0)."""
    if tiles:
        save_gallery(path, tiles, title)
        return path
    return None
