"""Heatmaps drawn over their images (OpenCV, uint8 BGR like every image here)."""

import cv2
import numpy as np


def upsample(heatmap, height, width):
    """A map on a layer's grid (h, w) stretched to the image's (height, width)."""
    return cv2.resize(np.asarray(heatmap, np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def peak(heatmap, height, width):
    """(row, column) of the upsampled map's maximum: where the model looked most."""
    return np.unravel_index(int(np.argmax(upsample(heatmap, height, width))), (height, width))


def overlay(image, heatmap, alpha=0.45):
    """The map (0..1) in the JET colours (red: most), blended over `image`."""
    height, width = image.shape[:2]
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    colours = cv2.applyColorMap(np.uint8(255 * np.clip(upsample(heatmap, height, width), 0, 1)),
                                cv2.COLORMAP_JET)
    return cv2.addWeighted(colours, alpha, image, 1 - alpha, 0)


def side_by_side(image, heatmap=None, height=128):
    """`image` scaled to `height` rows, followed by its heatmap overlay if any."""
    scale = height / image.shape[0]
    width = max(1, round(image.shape[1] * scale))
    image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if heatmap is None:
        return image
    gap = np.full((height, 4, 3), 255, np.uint8)
    return np.hstack([image, gap, overlay(image, heatmap)])


def model_frame(image, resize, width, height):
    """The part of a full-size `image` the model saw at width x height: all
    of it for the "simple" resize (stretched), the centre crop for "aspect"."""
    if resize != "aspect":
        return image
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    crop_w, crop_h = min(w, round(width / scale)), min(h, round(height / scale))
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    return image[top:top + crop_h, left:left + crop_w]
