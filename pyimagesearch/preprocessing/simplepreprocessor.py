import cv2


class SimplePreprocessor:
    """Resize to a fixed width and height, ignoring the aspect ratio."""

    def __init__(self, width, height, inter=cv2.INTER_AREA):
        self.width = width
        self.height = height
        # INTER_AREA averages the source pixels under each target pixel, so
        # shrinking a photo 10x does not alias the way INTER_LINEAR does.
        self.inter = inter

    def preprocess(self, image):
        return cv2.resize(image, (self.width, self.height), interpolation=self.inter)
