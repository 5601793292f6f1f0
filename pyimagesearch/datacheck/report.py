"""The check's outputs: the CSV (one row per finding), the JSON summary and
the self-contained HTML page (pictures embedded as small JPEG thumbnails,
built with the training report's helpers, so it opens offline anywhere)."""

import csv
import os

import cv2

from ..datasets.imagefiles import UnreadableImage, read_image
from ..explain.report import _HEAD, _e, _jpeg_uri, _section, _table
from ..utils.atomic import atomic_path, check_output_file, write_json
from .findings import CSV_FIELDS, DUPLICATE_KINDS, KINDS, PROPERTY_KINDS

THUMBNAIL = 112          # longest side, pixels
GALLERY_LIMIT = 48       # pictures per kind (groups for duplicates): the page stays small


def report_paths(dataset, **given):
    """{"html", "csv", "json": path}: the one `given` (--html, --csv, --json),
    else output/<dataset name>_check.<ext>; each checked to be writable."""
    name = os.path.basename(os.path.normpath(dataset)) or "dataset"
    paths = {ext: given.get(ext) or os.path.join("output", f"{name}_check.{ext}")
             for ext in ("html", "csv", "json")}
    for ext, path in paths.items():
        check_output_file(path, f"--{ext}")
    return paths


def write_reports(paths, check):
    """The CSV, JSON summary and HTML page of a check (paths: report_paths);
    returns the page's size in bytes."""
    write_csv(paths["csv"], check.findings)
    write_summary(paths["json"], check.summary)
    return write_html(paths["html"], check)


def write_csv(path, findings):
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(finding.row() for finding in findings)


def write_summary(path, summary):
    write_json(path, summary)


class Thumbnails:
    """data: URIs of small JPEG copies, each file decoded once."""

    def __init__(self):
        self.cache = {}

    def uri(self, path):
        if path not in self.cache:
            try:
                image = read_image(path, min_size=THUMBNAIL)
            except (UnreadableImage, OSError):
                self.cache[path] = None
            else:
                scale = THUMBNAIL / max(image.shape[:2])
                if scale < 1:
                    image = cv2.resize(image, (max(1, round(image.shape[1] * scale)),
                                               max(1, round(image.shape[0] * scale))),
                                       interpolation=cv2.INTER_AREA)
                self.cache[path] = _jpeg_uri(image, quality=75)
        return self.cache[path]


def write_html(path, check):
    """`check` is a datacheck.checkdataset.CheckResult. Returns the page's size in bytes."""
    page = render(check)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    return len(page.encode("utf-8"))


def render(check):
    s = check.summary
    title = f"Dataset check: {s['dataset']}"
    thumbs = Thumbnails()
    parts = [_HEAD.format(title=_e(title)).replace("</style>", _STYLE + "</style>"), f"<h1>{_e(title)}</h1>",
             (f"<p>{s['images']} image files listed, {s['readable']} readable, {len(s['classes'])} "
             f"classes; split checked: --seed {s['split']['seed']} --test-size {s['split']['test_size']} "
             f"--val-size {s['split']['val_size']}.</p>"),
             _counts(check), _classes(s)]
    by_kind = {}
    for finding in check.findings:
        by_kind.setdefault(finding.kind, []).append(finding)
    if check.groups:
        parts.append(_groups(check, thumbs))
    for kind in ("label_issue", "outlier", *PROPERTY_KINDS, "overlap"):
        if by_kind.get(kind):
            parts.append(_gallery(kind, by_kind[kind], check, thumbs))
    for kind in ("unreadable", "wrong_extension"):
        if by_kind.get(kind):
            rows = [(f.path, f.detail) for f in by_kind[kind]]
            parts.append(_section(f"{kind} ({len(rows)})", _rule(check, kind)
                                  + _table(rows, header=("file", "why"))))
    parts.append(_section("Time per stage", _table([(k, f"{v:.2f} s") for k, v in s["seconds"].items()])))
    parts.append("</body></html>\n")
    return "\n".join(parts)


_STYLE = """
.group { border: 1px solid #ccc; margin: 0.4em 0; padding: 0.3em; }
.group.conflict { border-color: #c00; }
.group figure, .tiles figure { width: 120px; font-size: 0.75em; margin: 0.3em; overflow-wrap: anywhere; }
.split-test, .split-val { color: #a00; font-weight: bold; }
td.n { text-align: right; }
"""


def _rule(check, kind):
    return f'<p class="rule">Rule: {_e(check.thresholds.rule(kind))}.</p>'


def _counts(check):
    rows = []
    for kind in KINDS:
        n = check.summary["counts"].get(kind)
        shown = "skipped (--fast)" if n is None else str(n)
        rows.append(f'<tr><td>{kind}</td><td class="n" id="count-{kind}" data-kind="{kind}" '
                    f'data-value="{"" if n is None else n}">{shown}</td>'
                    f"<td>{_e(check.thresholds.rule(kind))}</td></tr>")
    leaks = check.summary["test_images_with_copy_in_train"]
    head = (f'<p class="headline"><strong id="test-leaks">{leaks}</strong> test images have a copy in '
            f"the training part; {check.summary['duplicate_groups']} duplicate groups.</p>")
    return _section("Findings", head + "<table><tr><th>kind</th><th>rows</th><th>rule</th></tr>"
                    + "".join(rows) + "</table>")


def _classes(summary):
    rows = [(name, str(n)) for name, n in summary["classes"].items()]
    note = f"<p>{_e(summary['imbalance_note'])}</p>" if summary.get("imbalance_note") else ""
    return _section("Readable images per class", _table(rows, header=("class", "images")) + note)


def _figure(thumbs, path, caption_html):
    uri = thumbs.uri(path)
    picture = f'<img src="{uri}" alt="{_e(os.path.basename(path))}">' if uri else "<i>unreadable</i>"
    return (f"<figure>{picture}<figcaption><b>{_e(_short(path))}</b><br>{caption_html}</figcaption>"
            "</figure>")


def _short(path):
    name = os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))
    return name if len(name) <= 30 else "..." + name[-27:]


def _groups(check, thumbs):
    shown = check.groups[:GALLERY_LIMIT]
    blocks = []
    for group in shown:
        labels = {check.scan.labels[i] for i in group}
        members = sorted(group, key=lambda i: check.scan.paths[i])
        figures = "".join(
            _figure(thumbs, check.scan.paths[i],
                    f"label: {_e(check.scan.labels[i])}<br>split: <span class=\"split-{check.parts[i]}\">"
                    f"{check.parts[i]}</span>" + ("<br>(kept)" if n == 0 else ""))
            for n, i in enumerate(members))
        conflict = " conflict" if len(labels) > 1 else ""
        blocks.append(f'<div class="group{conflict}">{figures}</div>')
    more = (f"<p>The first {len(shown)} of {len(check.groups)} groups; every row is in the CSV.</p>"
            if len(check.groups) > len(shown) else "")
    intro = (f"<p>{len(check.groups)} groups of the same photo, each shown once, members side by side "
             "with their label and their part of the split (red: validation or test; a red frame: "
             "the members carry different labels).</p>")
    return _section("Duplicate groups", intro + "".join(_rule(check, k) for k in DUPLICATE_KINDS)
                    + _rule(check, "conflict") + _rule(check, "leakage") + more + "".join(blocks))


def _gallery(kind, findings, check, thumbs):
    shown = findings[:GALLERY_LIMIT]
    figures = []
    for f in shown:
        if kind == "label_issue":
            caption = (f"given: {_e(f.label)}<br>suggested: <b>{_e(f.suggested)}</b><br>{_e(f.detail)}")
        elif kind == "overlap":
            caption = f"label: {_e(f.label)}<br>same as {_e(_short(f.related))}"
        else:
            caption = f"label: {_e(f.label)}<br>{_e(f.detail)}"
        figures.append(_figure(thumbs, f.path, caption))
        if kind == "overlap":
            figures.append(_figure(thumbs, f.related, "in --against"))
    more = (f"<p>The first {len(shown)} of {len(findings)}, highest score first; every row is in the "
            "CSV.</p>" if len(findings) > len(shown) else "")
    return _section(f"{kind} ({len(findings)})", _rule(check, kind) + more
                    + f'<div class="tiles" data-kind="{kind}">{"".join(figures)}</div>')
