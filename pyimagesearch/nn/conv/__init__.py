from .alexnet import AlexNet
from .fcheadnet import FCHeadNet
from .smallvggnet import SmallVGGNet

__all__ = ["AlexNet", "FCHeadNet", "SmallVGGNet"]
