"""The Keras tutorial's command lines, exactly as it prints them, one after
the other in a folder laid out like the tutorial's (animals/, images/,
output/), on a small generated dataset."""

import shlex
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import CLASS_COLOURS, ROOT, make_image

from pyimagesearch.modelfiles.sidecar import load_label_names

# The tutorial's classes, each drawn in one colour so a few epochs separate them.
COLOURS = dict(zip(("cats", "dogs", "panda"), CLASS_COLOURS.values()))

SIMPLE_NN = [
    ("python train_simple_nn.py --dataset animals --model output/simple_nn.model "
     "--label-bin output/simple_nn_lb.pickle --plot output/simple_nn_plot.png"),
    ("python predict.py --image images/cat.jpg --model output/simple_nn.model "
     "--label-bin output/simple_nn_lb.pickle --width 32 --height 32 --flatten 1"),
]
VGG = [
    ("python train_vgg.py --dataset animals --model output/smallvggnet.model "
     "--label-bin output/smallvggnet_lb.pickle --plot output/smallvggnet_plot.png"),
    ("python predict.py --image images/panda.jpg --model output/smallvggnet.model "
     "--label-bin output/smallvggnet_lb.pickle --width 64 --height 64"),
]


@pytest.fixture(scope="module")
def tutorial_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("tutorial")
    rng = np.random.default_rng(0)
    for name, colour in COLOURS.items():
        (root / "animals" / name).mkdir(parents=True)
        for i in range(10):
            cv2.imwrite(str(root / "animals" / name / f"{name}_{i:03d}.jpg"), make_image(colour, (40, 48), rng))
    (root / "images").mkdir()
    for name, file in (("cats", "cat"), ("panda", "panda")):
        cv2.imwrite(str(root / "images" / f"{file}.jpg"), make_image(COLOURS[name], (60, 80), rng))
    return root


def run_as_printed(command, cwd):
    """`python script.py ...` from the tutorial, run in `cwd` with this
    interpreter and the repository's script."""
    argv = shlex.split(command)
    argv[:2] = [sys.executable, str(ROOT / argv[1])]
    env = {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.parametrize("commands, stem, image, size, flatten", [
    (SIMPLE_NN, "simple_nn", "images/cat.jpg", 32, True),
    (VGG, "smallvggnet", "images/panda.jpg", 64, False),
], ids=["simple_nn", "smallvggnet"])
def test_tutorial_commands_run_one_after_the_other(tutorial_folder, commands, stem, image, size, flatten):
    train, predict = commands
    trained = run_as_printed(train, tutorial_folder)
    assert trained.returncode == 0, trained.stderr[-3000:]
    out = tutorial_folder / "output"
    note_model = f"output/{stem}.keras instead of output/{stem}.model"
    note_labels = f"output/{stem}_lb.json instead of output/{stem}_lb.pickle"
    assert f"writing {note_model}" in trained.stdout and f"writing {note_labels}" in trained.stdout
    assert load_label_names(out / f"{stem}_lb.json") == sorted(COLOURS)
    assert (out / f"{stem}.keras").is_file() and not (out / f"{stem}.model").exists()
    assert cv2.imread(str(out / f"{stem}_plot.png")) is not None

    predicted = run_as_printed(predict, tutorial_folder)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    # The same renamed files, with the same notes, and nothing else on stdout.
    assert f"reading {note_model}" in predicted.stderr and f"reading {note_labels}" in predicted.stderr
    (line,) = predicted.stdout.splitlines()
    path, label, probability = line.split("\t")
    # The tutorial's --width/--height/--flatten prepare the image as training
    # did: the saved model, fed the image resized and scaled the loader's
    # way, gives the printed label and probability. (Whether 20 training
    # images taught the net the colours is luck, not what this tests.)
    import keras

    model = keras.models.load_model(out / f"{stem}.keras", compile=False)
    pixels = cv2.resize(cv2.imread(str(tutorial_folder / image)), (size, size),
                        interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    probs = np.asarray(model(pixels.reshape(1, -1) if flatten else pixels[None]))[0]
    assert path == image and label == sorted(COLOURS)[int(probs.argmax())]
    assert float(probability) == pytest.approx(float(probs.max()), abs=1e-4)


def test_the_name_mapping_needs_no_tensorflow():
    program = ("import sys; from pyimagesearch.modelfiles.paths import keras3_names; "
               "print(keras3_names('output/x.model', 'output/x_lb.pickle', reading=True)); "
               "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.splitlines()[-2:] == ["('output/x.keras', 'output/x_lb.json')", "False False"]
    assert "reading output/x.keras instead of output/x.model" in result.stdout
    # Reading leaves formats other than the tutorial's model names alone.
    from pyimagesearch.modelfiles.paths import keras3_names
    assert keras3_names("m.onnx", reading=True) == ("m.onnx", None)
    assert keras3_names("m.onnx") == ("m.keras", None)
