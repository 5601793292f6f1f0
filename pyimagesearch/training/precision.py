"""Mixed-precision training through Keras' dtype policies (`--precision`).

Under "mixed_bfloat16" / "mixed_float16" Keras layers keep float32 weights
and compute in 16 bits; for "mixed_float16", `compile` wraps the optimizer
in a LossScaleOptimizer by itself (dynamic loss scaling, so that small
float16 gradients do not underflow). The model's output layer (the softmax)
and so the loss stay float32.

The engine trains a copy of the trainer's model rebuilt under the chosen
policy (same weights, so float32 and bfloat16 runs of one seed start from
the same point), and evaluates and saves a float32 copy of the trained one:
every saved model loads and predicts in float32 anywhere, including CPUs
without bfloat16 and the exports. This module imports no TensorFlow until a
function needs it.
"""
from ..utils.errors import UserError

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")
# CPU flags (/proc/cpuinfo names) of native bfloat16 arithmetic.
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
# float16 tensor cores arrived with compute capability 7.0 (Volta).
FLOAT16_GPU_CAPABILITY = (7, 0)


def check_precision(value):
    if value not in PRECISIONS:
        raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, got {value!r}")
    return value


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU's feature flags; empty where there is no /proc/cpuinfo (macOS, Windows)."""
    try:
        with open(cpuinfo, encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def gpu_capabilities():
    """Compute capability (major, minor) of every visible GPU."""
    import tensorflow as tf

    return [tuple(tf.config.experimental.get_device_details(gpu).get("compute_capability") or (0, 0))
            for gpu in tf.config.list_physical_devices("GPU")]


def choose_precision(requested, flags=None, gpus=None):
    """(Keras policy name, why) for `--precision requested`.

    "auto" is mixed_float16 when every GPU has float16 tensor cores,
    mixed_bfloat16 on a machine without GPUs whose CPU computes bfloat16
    natively (AVX512_BF16 or AMX), float32 otherwise. `flags` (CPU flags)
    and `gpus` (compute capabilities) default to this machine's.
    """
    if check_precision(requested) != "auto":
        return requested, "requested"
    gpus = gpu_capabilities() if gpus is None else gpus
    if gpus:
        if all(tuple(capability) >= FLOAT16_GPU_CAPABILITY for capability in gpus):
            return "mixed_float16", "GPUs of compute capability 7.0 or above"
        return "float32", "a GPU below compute capability 7.0"
    flags = cpu_flags() if flags is None else flags
    native = [flag for flag in BF16_CPU_FLAGS if flag in flags]
    if native:
        return "mixed_bfloat16", f"a CPU with {' and '.join(native)}"
    return "float32", "no GPU, and a CPU without avx512_bf16 or amx_bf16"


def training_policy(model):
    """The policy the model's layers compute in (the output layer aside)."""
    return next(_compute_layers(model)).dtype_policy.name


def _compute_layers(model):
    """The model's layers that compute, nested models (a fine-tuned backbone)
    opened up, input layers left out."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _compute_layers(layer)
        elif not isinstance(layer, keras.layers.InputLayer):
            yield layer


def with_policy(model, policy):
    """`model` rebuilt with its layers under `policy` and its output layer in
    float32, holding the same weights (mixed policies keep variables in
    float32, so nothing is rounded either way). A nested model, such as a
    fine-tuned backbone, is rebuilt the same way, layer by layer (Keras
    gives a nested model's layers no policy of their own). Returned as it
    is when it already is so. Weights only: compile the copy."""
    import keras

    last = model.layers[-1]

    def wanted(layer):
        return "float32" if layer is last else policy

    def rebuild(layer):
        if isinstance(layer, keras.Model):
            return keras.models.clone_model(layer, clone_function=rebuild)
        return layer.__class__.from_config({**layer.get_config(), "dtype": wanted(layer)})

    if all(layer.dtype_policy.name == wanted(layer) for layer in _compute_layers(model)):
        return model
    with model.distribute_strategy.scope():
        copy = keras.models.clone_model(model, clone_function=rebuild)
        copy.set_weights(model.get_weights())
    return copy


def for_training(model, requested):
    """The model to train for `--precision requested`: the trainer's model,
    or its copy under the mixed policy chosen. Call before compiling."""
    policy, reason = choose_precision(requested)
    if policy != "float32" or requested != "float32":
        print(f"[INFO] precision: {policy}" + (f" (auto: {reason})" if requested == "auto" else "")
              + ("; the saved model is float32" if policy != "float32" else ""))
    if policy == "mixed_float16" and not gpu_capabilities():
        print("[NOTE] float16 on a CPU is emulated and slower than float32; mixed_bfloat16 is "
              "the CPU's 16-bit format")
    return with_policy(model, policy)


def float32_copy(model):
    """The trained `model` with every layer in float32, for evaluation and
    saving (the model itself if it is float32 already). A compiled model's
    copy is compiled with the same loss and its optimizer state (step,
    moments), without float16's loss scaling, which float32 does not need."""
    copy = with_policy(model, "float32")
    if copy is model or not model.compiled:
        return copy
    trained = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    with model.distribute_strategy.scope():
        optimizer = trained.__class__.from_config(trained.get_config())
        if trained.built:
            optimizer.build(copy.trainable_variables)
            for target, source in zip(optimizer.variables, trained.variables, strict=True):
                target.assign(source)
        copy.compile(optimizer=optimizer, loss=model.loss, metrics=["accuracy"])
    return copy
