"""Which keras.applications models can serve as feature extractors, and how
to build one without its classifier head."""

import contextlib
import hashlib
import os
import re
import socket
import sys
from dataclasses import dataclass

from ..utils.errors import UserError, first_line


@dataclass(frozen=True)
class Backbone:
    constructor: str   # name in keras.applications
    module: str        # keras.applications.<module>.preprocess_input
    size: int          # input size its ImageNet weights were trained at
    min_size: int = 32
    has_alpha: bool = False


BACKBONES = {
    "resnet50": Backbone("ResNet50", "resnet50", 224),
    "resnet101": Backbone("ResNet101", "resnet", 224),
    "resnet152": Backbone("ResNet152", "resnet", 224),
    "resnet50v2": Backbone("ResNet50V2", "resnet_v2", 224),
    "vgg16": Backbone("VGG16", "vgg16", 224),
    "vgg19": Backbone("VGG19", "vgg19", 224),
    "mobilenet": Backbone("MobileNet", "mobilenet", 224, has_alpha=True),
    "mobilenetv2": Backbone("MobileNetV2", "mobilenet_v2", 224, has_alpha=True),
    "mobilenetv3small": Backbone("MobileNetV3Small", "mobilenet_v3", 224, has_alpha=True),
    "mobilenetv3large": Backbone("MobileNetV3Large", "mobilenet_v3", 224, has_alpha=True),
    "densenet121": Backbone("DenseNet121", "densenet", 224),
    "efficientnetb0": Backbone("EfficientNetB0", "efficientnet", 224),
    "convnexttiny": Backbone("ConvNeXtTiny", "convnext", 224),
    "inceptionv3": Backbone("InceptionV3", "inception_v3", 299, min_size=75),
    "xception": Backbone("Xception", "xception", 299, min_size=71),
}


# Objects in ImageNet training crops look larger than in whole photos, so
# the 224-px backbones see whole photos better at a larger input
# (BENCHMARKS.md, "Transfer learning").
LARGER_INPUT = {224: 320}


def feature_input_size(name):
    """extract_features.py's default --size for backbone `name`: 320 for
    those trained at 224, else the backbone's own size."""
    native = BACKBONES[name].size
    return LARGER_INPUT.get(native, native)


def check_backbone_args(name, weights, size=None, alpha=None):
    """Validate the flags before TensorFlow is imported; return (size, alpha)
    with the backbone's defaults filled in. `weights` is "imagenet", None or
    a file path."""
    if name not in BACKBONES:
        raise UserError(f"--backbone {name!r} is not known; choose one of {', '.join(BACKBONES)}")
    spec = BACKBONES[name]
    size = spec.size if size is None else size
    if size < spec.min_size:
        raise UserError(f"--size {size} is too small for {name}; it needs at least "
                        f"{spec.min_size}x{spec.min_size} pixels")
    if alpha is not None and not spec.has_alpha:
        raise UserError(f"--alpha applies to the MobileNet backbones only, not {name}")
    if spec.has_alpha:
        alpha = 1.0 if alpha is None else alpha
        if alpha <= 0:
            raise UserError(f"--alpha must be a positive width multiplier, got {alpha}")
    if weights not in (None, "imagenet") and not os.path.isfile(weights):
        raise UserError(f"{weights}: weights file not found; pass an existing .h5 file to "
                        "--weights (or 'imagenet' to download, 'none' for random weights)")
    return size, alpha


def parse_weights(value):
    """--weights: 'imagenet', 'none' (random features, for tests) or a path."""
    return None if value.lower() == "none" else ("imagenet" if value.lower() == "imagenet" else value)


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_backbone(name, weights="imagenet", size=None, alpha=None, timeout=30, pooling="avg"):
    """Return the keras.applications model `name` without its top, with
    global average pooling (`pooling=None`: its last feature maps), taking
    (size, size, 3) inputs prepared by `preprocess_function(name)`. Raises UserError when the ImageNet weights
    cannot be downloaded or a weights file does not fit this model."""
    import keras

    size, alpha = check_backbone_args(name, weights, size, alpha)
    spec = BACKBONES[name]
    kwargs = {"include_top": False, "weights": weights, "input_shape": (size, size, 3),
              "pooling": pooling}
    if spec.has_alpha:
        kwargs["alpha"] = alpha
    constructor = getattr(keras.applications, spec.constructor)
    if weights != "imagenet":
        try:
            return constructor(**kwargs)
        except ValueError as exc:
            raise UserError(f"{weights}: could not load these weights into {describe(name, size, alpha)} "
                            f"({first_line(exc)}); check that --backbone, --alpha and --size "
                            "match the file", 1) from None
    # Keras prints "Downloading data from ..." on stdout; keep stdout for
    # results. A socket timeout stops a half-open network from hanging.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            return constructor(**kwargs)
    except Exception as exc:  # get_file raises a bare Exception when a fetch fails
        url = re.search(r"https?://\S+?\.h5", str(exc))
        if url is None:
            raise
        filename = url.group(0).rsplit("/", 1)[1]
        raise UserError(f"could not download the ImageNet weights for {describe(name, size, alpha)} "
                        f"(no network?); obtain {filename} (from {url.group(0)}) and pass "
                        f"--weights path/to/{filename}", 1) from None
    finally:
        socket.setdefaulttimeout(previous)


def preprocess_function(name):
    """The backbone's own keras.applications preprocess_input; it expects
    float RGB pixels in 0..255."""
    import importlib

    return importlib.import_module(f"keras.applications.{BACKBONES[name].module}").preprocess_input


def describe(name, size, alpha=None):
    return f"{name} {size}x{size}" + (f" alpha {alpha:g}" if alpha is not None else "")
