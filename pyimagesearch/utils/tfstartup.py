"""TensorFlow's start-up lines, left out of a script's output.

On a machine without a GPU, importing TensorFlow writes lines such as
"E0000 ... failed call to cuInit: INTERNAL: CUDA error", which read like a
failure, and notices about oneDNN and CPU instructions. They come from its
C++ logging before any setting reaches it: TF_CPP_MIN_LOG_LEVEL (even set
before the import), TF_ENABLE_ONEDNN_OPTS, the GLOG/ABSL variables and
CUDA_VISIBLE_DEVICES remove none of them (TensorFlow 2.21). So, once
hide_startup_lines() is called, the first `import tensorflow` (also the one
inside `import keras`) runs with file descriptor 2 read through a pipe that
drops exactly the lines in STARTUP_LINES and passes every other byte on;
the descriptor is restored as soon as the import and the device set-up
(where the cuInit line comes from) are done. Nothing else is ever filtered,
and a crash later in the run writes to stderr directly.
"""

import copy
import importlib
import importlib.abc
import os
import sys
import threading

# Substrings of the lines TensorFlow writes while it starts on a CPU-only
# machine (the GPU-enabled wheel adds the CUDA ones).
STARTUP_LINES = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "oneDNN custom operations are on",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions:",
    "Could not find cuda drivers on your machine",
    "failed call to cuInit",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
    "TF-TRT Warning: Could not find TensorRT",
)


def hide_startup_lines():
    """Make the process's first import of TensorFlow leave out its start-up
    lines (see the module's docstring). Does nothing when TensorFlow is
    imported already."""
    if "tensorflow" in sys.modules or any(isinstance(f, _QuietImport) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietImport())


class _QuietImport(importlib.abc.MetaPathFinder):
    """Imports tensorflow itself, under the filter, the first time anything
    asks for it; then hands the import system the loaded module. A finder is
    the one place that sees the first import whichever module makes it."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        with _lines_left_out(STARTUP_LINES):
            module = importlib.import_module("tensorflow")
            module.config.list_physical_devices()
        spec = copy.copy(module.__spec__)
        spec.loader = _AlreadyLoaded(module)
        return spec


class _AlreadyLoaded(importlib.abc.Loader):
    def __init__(self, module):
        self.module = module
        self.spec = module.__spec__

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        module.__spec__ = self.spec  # the real one back, with its own loader


class _lines_left_out:
    """Within the block, whatever the process writes to file descriptor 2
    (Python, C++ and child threads alike) passes through a pipe that drops
    the lines containing one of `markers`."""

    def __init__(self, markers):
        self.markers = [marker.encode() for marker in markers]

    def __enter__(self):
        sys.stderr.flush()
        self.saved = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self.pump = threading.Thread(target=self._pass_on, args=(read_end,), daemon=True)
        self.pump.start()

    def __exit__(self, *exc):
        sys.stderr.flush()
        os.dup2(self.saved, 2)  # the pipe's last write end closes: the pump sees its end
        self.pump.join(timeout=10)
        os.close(self.saved)

    def _pass_on(self, read_end):
        pending = b""
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                *lines, pending = (pending + chunk).split(b"\n")
                self._write(b"".join(line + b"\n" for line in lines if not self._known(line)))
        if pending and not self._known(pending):
            self._write(pending)

    def _known(self, line):
        return any(marker in line for marker in self.markers)

    def _write(self, data):
        while data:
            data = data[os.write(self.saved, data):]
