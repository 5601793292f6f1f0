from .imagefiles import CHANNEL_ORDER, IMAGE_EXTENSIONS, UnreadableImage, list_images, read_image
from .simpledatasetloader import SimpleDatasetLoader

__all__ = ["CHANNEL_ORDER", "IMAGE_EXTENSIONS", "SimpleDatasetLoader", "UnreadableImage",
           "list_images", "read_image"]
