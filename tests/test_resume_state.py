"""--resume refuses flags that would restore the interrupted run's state
into a different model or data, and accepts the ones that may change."""

import shutil

import keras
import pytest
from conftest import read_colour_dataset

from pyimagesearch.training.resume import ResumeState
from pyimagesearch.utils.errors import UserError

FLAGS = {"dataset": "animals", "size": 64, "epochs": 75, "patience": 15, "batch_size": 32,
         "resume": False, "workers": None}


def test_resume_checks_the_interrupted_runs_flags(tmp_path):
    model = tmp_path / "vgg.keras"
    assert ResumeState(model).prepare(False, arguments=FLAGS) == 0
    state = ResumeState(model)
    assert state.prepare(True, arguments={**FLAGS, "resume": True, "epochs": 100, "patience": 0,
                                          "workers": 2}) == 0
    with pytest.raises(UserError, match="--size was 64 in the interrupted run and is 32 now"):
        state.prepare(True, arguments={**FLAGS, "size": 32})
    with pytest.raises(UserError, match="--batch-size was 32"):
        state.prepare(True, arguments={**FLAGS, "batch_size": 8})


def test_a_fresh_run_replaces_the_recorded_flags(tmp_path):
    model = tmp_path / "vgg.keras"
    ResumeState(model).prepare(False, arguments=FLAGS)
    ResumeState(model).prepare(False, arguments={**FLAGS, "size": 32})  # starts afresh
    assert ResumeState(model).prepare(True, arguments={**FLAGS, "size": 32}) == 0


def test_resume_without_an_interrupted_run_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no interrupted run to resume"):
        ResumeState(tmp_path / "vgg.keras").prepare(True, arguments=FLAGS)



def tiny_fit(tmp_path, state, epochs, stop_before=None):
    """model.fit with the run's BackupAndRestore on 12 decoded images;
    `stop_before` an epoch number, as if the run were killed then."""
    x, y = read_colour_dataset(tmp_path / "d")
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")

    def stop(epoch, logs):
        if epoch == stop_before:
            raise KeyboardInterrupt

    return model.fit(x, y, epochs=epochs, verbose=0,
                     callbacks=[keras.callbacks.LambdaCallback(on_epoch_begin=stop),
                                state.callback()])


def killed_while_saving_epoch_3(tmp_path, cut="latest.weights.h5"):
    """A backup after 2 epochs, then what BackupAndRestore does when it
    saves epoch 3 (keep a copy of the state so far), then the file `cut`
    cut off half-way, as a kill in the middle of that save leaves it."""
    state = ResumeState(tmp_path / "m.keras")
    state.prepare(False, arguments=FLAGS)
    with pytest.raises(KeyboardInterrupt):
        tiny_fit(tmp_path, state, epochs=10, stop_before=2)
    weights = tmp_path / "m_backup" / "latest.weights.h5"
    metadata = tmp_path / "m_backup" / "training_metadata.json"
    shutil.copy(weights, f"{weights}.bkp")
    shutil.copy(metadata, f"{metadata}.bkp")
    cut = tmp_path / "m_backup" / cut
    cut.write_bytes(cut.read_bytes()[:cut.stat().st_size // 2])
    return state, weights


@pytest.mark.parametrize("cut", ["latest.weights.h5", "training_metadata.json"])
def test_resume_recovers_from_a_kill_while_saving(cut, tmp_path, capsys):
    state, _ = killed_while_saving_epoch_3(tmp_path, cut)
    assert state.prepare(True, arguments=FLAGS) == 2
    assert "m_backup: the saved state was cut off" in capsys.readouterr().out
    # Keras restores the recovered state and trains the remaining epochs only.
    assert len(tiny_fit(tmp_path, state, epochs=4).history["loss"]) == 2


def test_resume_with_no_readable_state_is_a_user_error(tmp_path):
    state, weights = killed_while_saving_epoch_3(tmp_path)
    (weights.parent / f"{weights.name}.bkp").write_bytes(b"")
    with pytest.raises(UserError, match="latest.weights.h5: the interrupted run's saved state "
                                        "cannot be read.*without --resume"):
        state.prepare(True, arguments=FLAGS)
