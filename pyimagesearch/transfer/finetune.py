"""Fine-tuning: an ImageNet backbone with a new classifier head, trained end
to end in two phases (the book's "fine-tuning networks" chapter, Keras'
transfer-learning guide): the head first with the backbone frozen, then
the backbone unfrozen from a chosen depth at a lower learning rate.

    model = build_model("mobilenet", weights_file, size=224, alpha=0.25, classes=3)
    phases = fine_tuning_phases(head_optimizer, fine_tune_optimizer, warmup_epochs=3,
                                epochs=15, unfreeze="all")
    run.fit_and_evaluate(model, split, phases, input_spec(224, "mobilenet"), outputs, config)

The model takes the project's images as they are loaded, BGR pixels in
0..255 (cast to float), and applies the backbone's own preprocess_input
itself, so predict.py needs nothing but the size from the sidecar.
"""

import numpy as np

from ..preprocessing.inputspec import InputSpec
from ..training.phases import Phase
from ..utils.errors import UserError
from .backbones import build_backbone, preprocess_function

HEADS = ("gap", "fc")
DEFAULT_DROPOUT = {"gap": 0.2, "fc": 0.5}
FC_UNITS = 256  # the book's FCHeadNet D
DEFAULT_WARMUP_EPOCHS = 2


def warmup_epochs_for(warmup_epochs, epochs):
    """--warmup-epochs: a value the user gave must leave phase 2 at least one
    epoch; the default (None) fits itself to short runs, at most half of
    `epochs` (0, no head phase, for a one-epoch run), with a note."""
    if warmup_epochs is not None:
        if not 0 <= warmup_epochs < epochs:
            raise UserError(f"--warmup-epochs must be at least 0 and below --epochs ({epochs}), "
                            f"got {warmup_epochs}")
        return warmup_epochs
    fitted = min(DEFAULT_WARMUP_EPOCHS, epochs // 2)
    if fitted < DEFAULT_WARMUP_EPOCHS:
        print(f"[NOTE] --warmup-epochs {fitted} instead of the default {DEFAULT_WARMUP_EPOCHS}: at most "
              f"half of --epochs {epochs}" + (" (no head-only phase)" if not fitted else ""))
    return fitted


def parse_unfreeze(value):
    """--unfreeze: 'all', 'none' (0) or a number of the backbone's top layers."""
    text = str(value).strip().lower()
    if text in ("all", "none"):
        return "all" if text == "all" else 0
    try:
        layers = int(text)
    except ValueError:
        layers = -1
    if layers < 0:
        raise UserError(f"--unfreeze must be 'all', 'none' or a number of top layers, got {value!r}")
    return layers


def describe_unfreeze(unfreeze):
    if unfreeze == "all":
        return "whole backbone"
    return f"top {unfreeze} backbone layers" if unfreeze else "backbone frozen"


def preprocessing_layer(backbone):
    """The backbone's preprocess_input, for BGR input, as a fixed 1x1
    convolution named "preprocess_input".

    Every keras.applications preprocess_input is an affine map per pixel
    (scale, mean, std, RGB<->BGR swap), so it is measured on a few probe
    pixels and folded, with the BGR->RGB swap of the project's images, into
    one 3x3 matrix and bias. A built-in layer keeps the saved model loadable
    in safe mode (a Lambda would not be) and exact for predict.py."""
    import keras

    preprocess = preprocess_function(backbone)
    probes = np.zeros((4, 1, 1, 3), np.float32)
    probes[1:, 0, 0] = 255 * np.eye(3, dtype=np.float32)  # black, then pure R, G, B (RGB order)
    out = np.asarray(preprocess(probes.copy()), np.float64)[:, 0, 0]
    bias = out[0]
    rgb_matrix = (out[1:] - bias) / 255.0  # rows: input R, G, B
    kernel = rgb_matrix[::-1]  # rows: input B, G, R
    check = np.random.default_rng(0).uniform(0, 255, (8, 1, 1, 3)).astype(np.float32)
    expected = np.asarray(preprocess(check[..., ::-1].copy()), np.float64)[:, 0, 0]
    if not np.allclose(check[:, 0, 0] @ kernel + bias, expected, atol=1e-3):
        raise ValueError(f"{backbone}'s preprocess_input is not an affine map per pixel")
    layer = keras.layers.Conv2D(3, 1, trainable=False, name="preprocess_input")
    layer.build((None, None, None, 3))
    layer.set_weights([kernel.reshape(1, 1, 3, 3).astype(np.float32), bias.astype(np.float32)])
    return layer


def build_model(backbone, weights, size, alpha=None, classes=2, head="gap", dropout=None):
    """The backbone (weights: a file, "imagenet" or None) with a new head:
    "gap" (global average pooling, dropout, softmax) or "fc" (the book's
    FCHeadNet on the flattened feature maps). See set_unfrozen for why the
    backbone's BatchNormalization layers stay in inference mode."""
    import keras

    from ..nn.conv import FCHeadNet

    if head not in HEADS:
        raise ValueError(f"head must be one of {', '.join(HEADS)}, got {head!r}")
    dropout = DEFAULT_DROPOUT[head] if dropout is None else dropout
    base = build_backbone(backbone, weights, size, alpha, pooling="avg" if head == "gap" else None)
    inputs = keras.Input((size, size, 3), name="image_bgr")
    x = preprocessing_layer(backbone)(inputs)
    features = base(x)
    if head == "gap":
        x = keras.layers.Dropout(dropout, name="head_dropout")(features)
        outputs = keras.layers.Dense(classes, activation="softmax", name="head_softmax")(x)
    else:
        outputs = FCHeadNet.build(features, classes, FC_UNITS, dropout)
    return keras.Model(inputs, outputs, name=f"{backbone}_finetuned")


def backbone_of(model):
    """The backbone: the one nested model inside the fine-tuning model."""
    import keras

    return next(layer for layer in model.layers if isinstance(layer, keras.Model))


def set_unfrozen(model, unfreeze):
    """Make the backbone's top `unfreeze` layers trainable ("all": every
    layer, 0: none) and the rest frozen; the head always trains.

    BatchNormalization layers stay frozen whatever the depth, which in
    Keras 3 also keeps them in inference mode: their ImageNet statistics
    are not replaced by those of small, augmented batches. (Keras 2's
    `backbone(x, training=False)` does not do it here: inside a functional
    model, fit's training flag overrides it.)"""
    import keras

    base = backbone_of(model)
    base.trainable = unfreeze != 0
    first = 0 if unfreeze == "all" else len(base.layers) - unfreeze
    for i, layer in enumerate(base.layers):
        layer.trainable = i >= first and not isinstance(layer, keras.layers.BatchNormalization)


def fine_tuning_phases(head_optimizer, fine_tune_optimizer, warmup_epochs, epochs, unfreeze):
    """Phase 1 ("head", `warmup_epochs`, skipped at 0) trains the head with
    the backbone frozen: a random head's large gradients would otherwise
    wreck the pretrained features. Phase 2 ("fine-tuning") unfreezes
    `unfreeze` up to epoch `epochs`."""
    phases = []
    if warmup_epochs:
        phases.append(Phase("head", warmup_epochs, head_optimizer, lambda m: set_unfrozen(m, 0)))
    phases.append(Phase(f"fine-tuning: {describe_unfreeze(unfreeze)}", epochs, fine_tune_optimizer,
                        lambda m: set_unfrozen(m, unfreeze)))
    return phases


def input_spec(size, backbone, resize="simple"):
    """The sidecar's input section: BGR pixels cast to float, unscaled (the
    model applies `backbone`'s preprocess_input itself, as recorded here)."""
    return InputSpec(size, size, resize=resize, scale=1.0,
                     preprocessing=f"in the model: BGR->RGB, then {backbone} preprocess_input")
