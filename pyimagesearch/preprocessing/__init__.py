from .aspectawarepreprocessor import AspectAwarePreprocessor
from .imagetoarraypreprocessor import ImageToArrayPreprocessor
from .simplepreprocessor import SimplePreprocessor

__all__ = ["AspectAwarePreprocessor", "ImageToArrayPreprocessor", "SimplePreprocessor"]
