"""Run an exported `.onnx` model with onnxruntime (no TensorFlow)."""

import os

from ..utils.errors import UserError, first_line
from .exportfile import check_model_file, check_one_input_output, missing_runtime


class OnnxModel:
    """An ONNX classifier with the part of the Keras model API predict needs:
    input_shape, output_shape and predict_on_batch."""

    format = "onnx"

    def __init__(self, path, threads=None):
        check_model_file(path, "ONNX")
        try:
            import onnxruntime
        except ImportError:
            raise missing_runtime(path, "onnxruntime") from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        # Idle worker threads block instead of spinning: spinning took the
        # cores from predict.py's own decoding threads and from other jobs,
        # and a batch's operators are long enough that waking a thread costs
        # nothing measurable (paired runs: BENCHMARKS.md "Exports").
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only: keep stderr for our messages
        try:
            self.session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for a bad file
            raise UserError(f"{path}: not an ONNX model onnxruntime can open ({first_line(exc)})", 1) from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        check_one_input_output(path, inputs, outputs)
        self.input_name = inputs[0].name
        self.input_shape = tuple(d if isinstance(d, int) else None for d in inputs[0].shape)
        self.output_shape = tuple(d if isinstance(d, int) else None for d in outputs[0].shape)
        self.versions = {"onnxruntime": onnxruntime.__version__}

    def predict_on_batch(self, batch):
        return self.session.run(None, {self.input_name: batch})[0]
