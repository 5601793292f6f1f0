import cv2
import numpy as np


class CropPreprocessor:
    """The 10-crop oversampling of test images: the four corner crops and the
    center crop of width x height, then (`horiz=True`) the horizontal mirror
    of each. Returns an array (10, height, width, channels) in the order
    top-left, top-right, bottom-right, bottom-left, center, then the mirrors
    in the same order (5 crops without `horiz`). Average a model's
    predictions over the crops for one prediction per image.

    `inter` is the book's interpolation for resizing the crops; it is kept
    so the book's calls work, but unused: every crop here is cut at exactly
    width x height (the book's center crop could come out a pixel larger
    and was resized back), so nothing is resampled."""

    def __init__(self, width, height, horiz=True, inter=cv2.INTER_AREA):
        self.width = width
        self.height = height
        self.horiz = horiz
        self.inter = inter

    def coordinates(self, image_width, image_height):
        """(x0, y0, x1, y1) of the five crops in an image of the given size."""
        w, h, cw, ch = image_width, image_height, self.width, self.height
        if w < cw or h < ch:
            raise ValueError(f"image is {w}x{h}, smaller than the {cw}x{ch} crop")
        dx, dy = (w - cw) // 2, (h - ch) // 2
        return [(0, 0, cw, ch), (w - cw, 0, w, ch), (w - cw, h - ch, w, h), (0, h - ch, cw, h),
                (dx, dy, dx + cw, dy + ch)]

    def preprocess(self, image):
        h, w = image.shape[:2]
        crops = [image[y0:y1, x0:x1] for x0, y0, x1, y1 in self.coordinates(w, h)]
        if self.horiz:
            crops += [crop[:, ::-1] for crop in crops]
        return np.stack(crops)
