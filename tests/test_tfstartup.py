"""TensorFlow's start-up lines are left out of the scripts' output, and
nothing else is."""

import os
import subprocess
import sys

from pyimagesearch.utils.tfstartup import STARTUP_LINES, _lines_left_out

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_only_the_known_lines_are_left_out(capfd):
    known = (b"I0000 00:00:1796586331.528846   27171 cudart_stub.cc:31] Could not find cuda drivers on "
             b"your machine, GPU will not be used.\n")
    with _lines_left_out(STARTUP_LINES):
        os.write(2, b"first line\n" + known + b"an error the user must see\n")
        os.write(2, b"E0000 failed call to cuInit: INTERNAL: CUDA error\nno newline at the end")
    os.write(2, known)  # after the block: passed on as it is
    err = capfd.readouterr().err
    assert err == "first line\nan error the user must see\nno newline at the end" + known.decode()


def test_importing_tensorflow_writes_none_of_them():
    child = ("from pyimagesearch.utils.tfstartup import hide_startup_lines\n"
             "hide_startup_lines()\n"
             "import keras, sys\n"
             "keras.ops.ones(1)\n"
             "print('still here', file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", child], check=False, cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "still here"
    assert not [line for line in result.stderr.splitlines() if any(m in line for m in STARTUP_LINES)]
