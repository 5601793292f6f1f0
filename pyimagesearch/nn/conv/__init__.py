from .smallvggnet import SmallVGGNet

__all__ = ["SmallVGGNet"]
