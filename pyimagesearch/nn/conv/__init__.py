from .alexnet import AlexNet
from .smallvggnet import SmallVGGNet

__all__ = ["AlexNet", "SmallVGGNet"]
