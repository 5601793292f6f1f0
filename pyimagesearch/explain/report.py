"""One static HTML page per run: what was trained on what, how well, and on
which images it failed. Every picture is embedded (base64), so the page is
one file that opens from the file system, offline, anywhere it is copied,
with no server and no JavaScript."""

import base64
import html
import os
from dataclasses import dataclass, field

import cv2

from ..utils.atomic import atomic_path


@dataclass
class RunReport:
    title: str
    facts: dict                      # run facts shown in a table: label -> value
    class_names: list
    accuracy: float
    interval: list = None            # 95% bootstrap interval [low, high]
    evaluated_on: str = "test"       # which split the accuracy is on
    images: int = 0                  # how many images it is on
    # Both weigh every class the same, where accuracy hides a small class's errors.
    balanced_accuracy: float = None
    macro_f1: float = None
    classification_report: dict = None
    arguments: dict = None
    confused: list = field(default_factory=list)   # toplosses.most_confused pairs
    tiles: list = field(default_factory=list)      # gallery.Tile, highest loss first
    figures: list = field(default_factory=list)    # (caption, PNG path) written by the run
    views: list = None               # [(name, accuracy, interval)] compared views (10-crop)
    views_note: str = ""

    def write(self, path):
        """Write the page, atomically; returns its size in bytes."""
        page = self.render()
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            f.write(page)
        return len(page.encode("utf-8"))

    def render(self):
        parts = [_HEAD.format(title=_e(self.title)), f"<h1>{_e(self.title)}</h1>"]
        parts.append(self._summary())
        parts.append(_section("Run", _table([(k, v) for k, v in self.facts.items()])))
        if self.views:
            parts.append(self._views())
        if self.classification_report:
            parts.append(self._per_class())
        figures = [(caption, p) for caption, p in self.figures if p and os.path.isfile(p)]
        if figures:
            heading = "Curves and confusion matrix" if len(figures) > 1 else figures[0][0].capitalize()
            parts.append(_section(heading, "".join(
                f'<figure><img src="{_png_uri(p)}" alt="{_e(caption)}"><figcaption>{_e(caption)}'
                "</figcaption></figure>" for caption, p in figures)))
        parts.append(self._confused())
        if self.tiles:
            parts.append(self._gallery())
        if self.arguments:
            parts.append(_section("Arguments", _table(sorted(self.arguments.items()))))
        parts.append("</body></html>\n")
        return "\n".join(parts)

    def _summary(self):
        interval = ""
        if self.interval:
            low, high = self.interval
            interval = (f' <span class="ci">(95% bootstrap interval <span id="accuracy-low">{low:.4f}</span>'
                        f' to <span id="accuracy-high">{high:.4f}</span>)</span>')
        return (f'<p class="headline">{_e(self.evaluated_on)} accuracy '
                f'<strong id="accuracy" data-value="{self.accuracy!r}">{self.accuracy:.4f}</strong>'
                f"{interval} on {self.images} images, {len(self.class_names)} classes</p>"
                + self._balanced())

    def _balanced(self):
        if self.balanced_accuracy is None or self.macro_f1 is None:
            return ""
        return (f'<p>balanced accuracy <strong id="balanced-accuracy">{self.balanced_accuracy:.4f}'
                f'</strong>, macro F1 <strong id="macro-f1">{self.macro_f1:.4f}</strong> '
                '<span class="ci">(the mean recall and F1 over the classes)</span></p>')

    def _per_class(self):
        rows = [("class", "precision", "recall", "f1-score", "images")]
        for name in self.class_names:
            r = self.classification_report.get(name, {})
            rows.append((name, *(f"{r.get(k, 0):.4f}" for k in ("precision", "recall", "f1-score")),
                         str(int(r.get("support", 0)))))
        return _section("Per class", _table(rows[1:], header=rows[0]))

    def _views(self):
        rows = [(name, f"{acc:.4f}", f"{ci[0]:.4f} to {ci[1]:.4f}" if ci else "-")
                for name, acc, ci in self.views]
        note = f"<p>{_e(self.views_note)}</p>" if self.views_note else ""
        return _section("Single view against 10-crop", _table(rows, header=("view", "accuracy",
                                                                              "95% interval")) + note)

    def _confused(self):
        if not self.confused:
            return _section("Most-confused pairs", "<p>No image was misclassified.</p>")
        rows = [(p["true"], p["predicted"], str(p["count"])) for p in self.confused]
        return _section("Most-confused pairs", _table(rows, header=("true", "predicted", "images")))

    def _gallery(self):
        tiles = []
        for tile in self.tiles:
            wrong = " wrong" if tile.true != tile.predicted else ""
            tiles.append(
                f'<figure class="tile{wrong}"><img src="{_jpeg_uri(tile.picture)}" alt="{_e(tile.name)}">'
                f"<figcaption><b>{_e(tile.name)}</b><br>true: {_e(tile.true)}<br>predicted: "
                f"{_e(tile.predicted)} {tile.probability * 100:.1f}%<br>loss {tile.loss:.2f}"
                "</figcaption></figure>")
        heat = " Beside each image: the Grad-CAM heatmap of the predicted class (red: where the " \
               "model looked most)." if any(t.heatmap is not None for t in self.tiles) else ""
        return _section("Highest losses", f"<p>The {len(self.tiles)} images the model got most "
                        f"wrong (highest cross-entropy), worst first.{heat}</p>"
                        f'<div class="gallery">{"".join(tiles)}</div>')


_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }}
th {{ background: #f2f2f2; }}
.headline {{ font-size: 1.3em; }}
.ci {{ color: #555; font-size: 0.8em; }}
figure {{ display: inline-block; margin: 0.5em; vertical-align: top; }}
figure img {{ max-width: 100%; }}
.gallery figure.tile {{ width: 17em; font-size: 0.8em; }}
.gallery figure.wrong figcaption {{ color: #a00; }}
</style></head><body>"""


def _e(value):
    return html.escape(str(value))


def _section(title, body):
    return f"<section><h2>{_e(title)}</h2>{body}</section>"


def _table(rows, header=None):
    head = "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def _png_uri(path):
    with open(path, "rb") as f:
        return "data:image/png;base64," + base64.b64encode(f.read()).decode("ascii")


def _jpeg_uri(image, quality=85):
    data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode("ascii")
