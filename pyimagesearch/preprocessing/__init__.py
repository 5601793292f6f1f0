from .aspectawarepreprocessor import AspectAwarePreprocessor
from .croppreprocessor import CropPreprocessor
from .imagetoarraypreprocessor import ImageToArrayPreprocessor
from .meanpreprocessor import MeanPreprocessor
from .patchpreprocessor import PatchPreprocessor
from .simplepreprocessor import SimplePreprocessor

__all__ = ["AspectAwarePreprocessor", "CropPreprocessor", "ImageToArrayPreprocessor",
           "MeanPreprocessor", "PatchPreprocessor", "SimplePreprocessor"]
