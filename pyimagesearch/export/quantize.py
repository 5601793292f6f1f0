"""int8 exports: onnxruntime's static quantization of the float ONNX file,
and LiteRT full-integer conversion. Both calibrate the activations' ranges
on real images prepared exactly as for prediction; inputs and outputs stay
float32, so predict.py feeds them like any export."""

import os
import tempfile

from ..inference.inputs import load_batches
from .formats import write_export


def calibration_batches(spec, paths, batch_size=16):
    for _, batch, _ in load_batches(spec, paths, batch_size):
        if batch is not None:
            yield batch


def quantize_onnx(float_path, int8_path, spec, paths):
    """Static QDQ quantization: int8 weights (per channel) and activations."""
    import onnxruntime
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    input_name = onnxruntime.InferenceSession(float_path, providers=["CPUExecutionProvider"]) \
        .get_inputs()[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = ({input_name: batch} for batch in calibration_batches(spec, paths))

        def get_next(self):
            return next(self.batches, None)

    with tempfile.TemporaryDirectory() as work:
        prepared = os.path.join(work, "prepared.onnx")
        quant_pre_process(float_path, prepared, skip_symbolic_shape=True)
        quantize_static(prepared, int8_path, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)


def quantize_litert(model, int8_path, spec, paths):
    """Full-integer LiteRT: every op int8 (the converter fails rather than
    fall back to float for an op it cannot quantize)."""
    import tensorflow as tf

    def representative_dataset():
        for batch in calibration_batches(spec, paths, batch_size=1):
            yield [batch]

    write_export(model, int8_path, "litert", optimizations=[tf.lite.Optimize.DEFAULT],
                 representative_dataset=representative_dataset,
                 target_spec={"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]})
