"""What export.py is asked to do, as one typed object that export_model
reads; its defaults are the command line's."""

import os
from dataclasses import dataclass, field

from ..utils.errors import UserError

FORMAT_NAMES = ("onnx", "litert", "saved_model")


@dataclass
class ExportOptions:
    model: str = "output/smallvggnet.keras"  # a .keras model or .skops classifier, with its sidecar
    formats: list = field(default_factory=lambda: ["onnx"])
    images: list = None                      # verification images (default: the run's dataset)
    verify_images: int = 64
    int8: bool = False
    calibrate: str = None                    # folder of calibration images (default: training split)
    calibration_images: int = 200

    def __post_init__(self):
        self.formats = list(dict.fromkeys(self.formats))

    def check(self):
        """UserError for options that cannot work, before TensorFlow loads."""
        if self.verify_images < 1 or self.calibration_images < 1:
            raise UserError("--verify-images and --calibration-images must be at least 1")
        if self.int8 and not {"onnx", "litert"} & set(self.formats):
            raise UserError("--int8 applies to --format onnx and litert only")
        if not os.path.isfile(self.model):
            raise UserError(f"{self.model}: model file not found; train one first (e.g. python train_vgg.py)")
        if self.calibrate and not os.path.isdir(self.calibrate):
            raise UserError(f"{self.calibrate}: calibration folder not found; pass a folder of images to "
                            "--calibrate")
        if self.int8 and not self.calibrate:
            from ..modelfiles.sidecar import load_model_info
            from .splits import has_training_images, no_calibration_images

            if not has_training_images(load_model_info(self.model)):
                raise no_calibration_images()
