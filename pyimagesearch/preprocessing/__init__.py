from .aspectawarepreprocessor import AspectAwarePreprocessor
from .croppreprocessor import CropPreprocessor
from .imagetoarraypreprocessor import ImageToArrayPreprocessor
from .meanpreprocessor import MeanPreprocessor
from .patchpreprocessor import PatchPreprocessor
from .simplepreprocessor import SimplePreprocessor

# The resize modes the scripts' --resize flag names.
RESIZERS = {"simple": SimplePreprocessor, "aspect": AspectAwarePreprocessor}

__all__ = ["RESIZERS", "AspectAwarePreprocessor", "CropPreprocessor", "ImageToArrayPreprocessor",
           "MeanPreprocessor", "PatchPreprocessor", "SimplePreprocessor"]
