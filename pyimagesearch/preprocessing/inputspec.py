"""How an image becomes a model's input: the sidecar's "input" section as one
frozen type, with each default defined here once.

    spec = InputSpec(32, 32)                      # uint8 BGR pixels scaled by 1/255
    alexnet = spec.replace(scale=1.0, mean=(103.9, 116.8, 123.7), crop=227)
    spec.width, spec.to_dict(), InputSpec.from_dict(info["input"], where=path)

The package reads it by attribute. It is also a read-only mapping of the
keys the sidecar stores (spec["width"], dict(spec)), as the sidecars and
feature files are written, and as code written against the dict it
replaced still reads it: for a Keras model the pixel keys (width ... mean)
and crop or preprocessing when set; for a transfer classifier (a
backbone's features, train_model.py) the size, resize and channel order
and the backbone's keys, since the backbone prepares its pixels itself.
"""

from collections.abc import Mapping
from dataclasses import dataclass, fields
from dataclasses import replace as replaced

from ..utils.errors import UserError
from .aspectawarepreprocessor import AspectAwarePreprocessor
from .simplepreprocessor import SimplePreprocessor

CHANNEL_ORDER = "BGR"      # cv2.imread's order, which datasets.read_image returns and every image keeps
DEFAULT_SCALE = 1 / 255.0  # pixels 0..255 -> 0..1
# The resize modes (the scripts' --resize flag) and the preprocessor of each.
RESIZERS = {"simple": SimplePreprocessor, "aspect": AspectAwarePreprocessor}
RESIZE_MODES = tuple(RESIZERS)

PIXEL_KEYS = ("width", "height", "depth", "flatten", "resize", "channel_order", "scale", "mean")
OPTIONAL_KEYS = ("crop", "preprocessing")
# A transfer classifier's features (extract_features.py's file attributes).
BACKBONE_KEYS = ("backbone", "weights", "alpha", "pooling", "flip", "seed", "feature_dim",
                 "weights_sha256")
# What a transfer classifier's section holds of the pixel keys.
TRANSFER_PIXEL_KEYS = ("width", "height", "depth", "resize", "channel_order")


@dataclass(frozen=True, eq=False)
class InputSpec(Mapping):
    """`width` x `height` x `depth` images resized by `resize` ("simple":
    stretched, "aspect": centre crop at the aspect ratio), in
    `channel_order`, become floats: minus `mean` (per channel, or None),
    times `scale`, flattened to one vector when `flatten` (an MLP).
    `crop`: the size of the random crops a model was trained on (AlexNet);
    `preprocessing`: what the model does to its input itself (fine-tuned
    backbones). The backbone fields describe a transfer classifier's feature
    extractor; they are all None for a Keras model."""
    width: int
    height: int
    depth: int = 3
    flatten: bool = False
    resize: str = "simple"
    channel_order: str = CHANNEL_ORDER
    scale: float | None = DEFAULT_SCALE
    mean: tuple | None = None
    crop: int | None = None
    preprocessing: str | None = None
    backbone: str | None = None
    weights: str | None = None          # a file, "imagenet", or None for random weights
    alpha: float | None = None
    pooling: str | None = None
    flip: bool = False
    seed: int | None = None
    feature_dim: int | None = None
    weights_sha256: str | None = None

    def __post_init__(self):
        if self.mean is not None and not isinstance(self.mean, tuple):
            object.__setattr__(self, "mean", tuple(float(m) for m in self.mean))
        self.check()

    def check(self):
        """ValueError for a value no model input can have."""
        for key in ("width", "height", "depth"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{key} must be a positive whole number, got {value!r}")
        if self.resize not in RESIZE_MODES:
            raise ValueError(f"resize must be one of {', '.join(RESIZE_MODES)}, got {self.resize!r}")
        if self.channel_order not in ("BGR", "RGB"):
            raise ValueError(f"channel_order must be BGR or RGB, got {self.channel_order!r}")
        if self.mean is not None and len(self.mean) != self.depth:
            raise ValueError(f"mean has {len(self.mean)} values for {self.depth} channels")

    @property
    def is_transfer(self):
        """Whether this is a transfer classifier's input (a backbone's features)."""
        return self.backbone is not None

    def resizer(self, **kwargs):
        """The preprocessor that resizes an image to this input's size."""
        return RESIZERS[self.resize](self.width, self.height, **kwargs)

    def replace(self, **changes):
        """A copy with `changes` (an InputSpec never changes in place)."""
        return replaced(self, **changes)

    def keys(self):
        if self.is_transfer:
            return [*TRANSFER_PIXEL_KEYS, *BACKBONE_KEYS]
        return [*PIXEL_KEYS, *(key for key in OPTIONAL_KEYS if getattr(self, key) is not None)]

    def to_dict(self):
        """The sidecar's "input" section (JSON-ready: mean as a list)."""
        return {key: self[key] for key in self.keys()}

    @classmethod
    def from_dict(cls, spec, where="input spec"):
        """An InputSpec from a sidecar's "input" section (any version's) or an
        InputSpec. A key set to None (null) takes its default; an unknown key
        or a value no input can have raises UserError naming `where`."""
        if isinstance(spec, cls):
            return spec
        if not isinstance(spec, Mapping):
            raise UserError(f"{where}: the input section must be a JSON object, got {type(spec).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise UserError(f"{where}: unknown input key(s) {', '.join(unknown)}; written by a newer "
                            "version? update the project")
        if "width" not in spec or "height" not in spec:
            raise UserError(f"{where}: the input section has no width and height")
        try:
            return cls(**{key: value for key, value in spec.items() if value is not None})
        except (TypeError, ValueError) as exc:
            raise UserError(f"{where}: {exc}") from None

    # The mapping view of the old dict (see the module's docstring).
    def __getitem__(self, key):
        if key not in self.keys():
            raise KeyError(key)
        value = getattr(self, key)
        return list(value) if key == "mean" and value is not None else value

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())

    def __repr__(self):
        return f"InputSpec({', '.join(f'{k}={v!r}' for k, v in self.items())})"
