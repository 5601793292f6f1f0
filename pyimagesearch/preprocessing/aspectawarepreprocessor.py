import cv2


class AspectAwarePreprocessor:
    """Resize the shorter side to the target, then center-crop the longer one.

    Unlike SimplePreprocessor, objects keep their proportions; the price is
    that the edges of the longer side are cut off.
    """

    def __init__(self, width, height, inter=cv2.INTER_AREA):
        self.width = width
        self.height = height
        self.inter = inter

    def preprocess(self, image):
        h, w = image.shape[:2]
        scale = max(self.width / w, self.height / h)
        new_w = max(self.width, round(w * scale))
        new_h = max(self.height, round(h * scale))
        resized = cv2.resize(image, (new_w, new_h), interpolation=self.inter)
        top = (new_h - self.height) // 2
        left = (new_w - self.width) // 2
        return resized[top:top + self.height, left:left + self.width]
