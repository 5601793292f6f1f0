from .aspectawarepreprocessor import AspectAwarePreprocessor
from .croppreprocessor import CropPreprocessor
from .imagetoarraypreprocessor import ImageToArrayPreprocessor
from .inputspec import RESIZERS, InputSpec
from .meanpreprocessor import MeanPreprocessor
from .patchpreprocessor import PatchPreprocessor
from .simplepreprocessor import SimplePreprocessor

__all__ = ["RESIZERS", "AspectAwarePreprocessor", "CropPreprocessor", "ImageToArrayPreprocessor", "InputSpec",
           "MeanPreprocessor", "PatchPreprocessor", "SimplePreprocessor"]
