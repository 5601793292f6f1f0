"""Every evaluation writes the top-losses gallery, the most-confused pairs
and one HTML report, and the report works in a real browser: opened from
file:// in headless chromium, every image loads, the console stays clean,
and it shows the accuracy the sidecar records."""

import json

import pytest
from browser import Chromium, find_chromium
from conftest import ROOT, make_colour_dataset, run_script

SCREENSHOT = ROOT / "output" / "test_report_screenshot.png"


@pytest.fixture(scope="module")
def vgg_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    data = make_colour_dataset(folder / "data", per_class=12, size=(40, 48))
    result = run_script("train_vgg.py", "--dataset", data, "--size", "32", "--epochs", "2",
                        "--model", folder / "vgg.keras", "--top-losses", "5")
    assert result.returncode == 0, result.stderr
    return folder, result


def test_a_run_writes_top_losses_confused_pairs_and_report(vgg_run):
    folder, result = vgg_run
    out = result.stdout
    assert out.index("weighted avg") < out.index("most-confused pairs") < out.index("[INFO] wrote:")
    assert f"top losses       {folder / 'vgg_top_losses.png'}" in out
    assert f"HTML report      {folder / 'vgg_report.html'}" in out
    run = json.loads((folder / "vgg.json").read_text())["run"]
    low, high = run["test_accuracy_ci95"]
    assert low <= run["test_accuracy"] <= high
    wrong = sum(pair["count"] for pair in run["most_confused"])
    assert wrong == round((1 - run["test_accuracy"]) * run["test_images"])
    assert (folder / "vgg_top_losses.png").stat().st_size > 0
    assert (folder / "vgg_report.html").stat().st_size < 5 * 2**20
    assert not list(folder.glob(".*tmp-*"))


def test_the_report_loads_offline_in_headless_chromium(vgg_run):
    folder, _ = vgg_run
    if find_chromium() is None:
        pytest.skip("chromium is not installed and could not be installed here (make test installs "
                    "it with apt-get where it can)")
    sidecar = json.loads((folder / "vgg.json").read_text())
    with Chromium() as browser:
        session = browser.open((folder / "vgg_report.html").as_uri())
        widths = browser.evaluate(session, "[...document.images].map(img => img.naturalWidth)")
        shown = browser.evaluate(session, "document.getElementById('accuracy').textContent")
        value = browser.evaluate(session, "document.getElementById('accuracy').dataset.value")
        tiles = browser.evaluate(session, "document.querySelectorAll('.gallery figure').length")
        balanced = browser.evaluate(session, "document.getElementById('balanced-accuracy').textContent")
        macro_f1 = browser.evaluate(session, "document.getElementById('macro-f1').textContent")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        browser.screenshot(session, SCREENSHOT)
        errors = browser.errors()
    assert errors == []
    assert len(widths) == 2 + 5 and all(width > 0 for width in widths), widths  # curves, matrix, tiles
    assert tiles == 5
    assert float(value) == sidecar["run"]["test_accuracy"]
    assert shown == f"{sidecar['run']['test_accuracy']:.4f}"
    assert balanced == f"{sidecar['run']['test_balanced_accuracy']:.4f}"
    assert macro_f1 == f"{sidecar['run']['test_macro_f1']:.4f}"
    assert SCREENSHOT.stat().st_size > 10_000


def test_mlp_run_without_a_gallery(tmp_path):
    data = make_colour_dataset(tmp_path / "data", per_class=8, size=(16, 16))
    result = run_script("train_simple_nn.py", "--dataset", data, "--size", "8", "--epochs", "1",
                        "--model", tmp_path / "mlp.keras", "--top-losses", "0")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "mlp_top_losses.png").exists()
    assert "  top losses  " not in result.stdout and (tmp_path / "mlp_report.html").exists()
    page = (tmp_path / "mlp_report.html").read_text()
    assert 'id="accuracy"' in page and "Highest losses" not in page
    result = run_script("train_simple_nn.py", "--dataset", data, "--top-losses", "-1")
    assert result.returncode == 2 and "--top-losses: expected a whole number" in result.stderr
