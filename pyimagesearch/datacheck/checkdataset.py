"""check_dataset.py's work, stage by stage: list, scan, find, summarise."""

import os
import time
from dataclasses import dataclass, field

from ..datasets.folder import find_dataset
from ..datasets.imagefiles import IMAGE_EXTENSIONS
from ..datasets.split import DEFAULT_SEED, DEFAULT_TEST_SIZE, DEFAULT_VAL_SIZE
from .duplicates import duplicate_findings, find_groups
from .findings import FEATURE_KINDS, KINDS, Finding, Thresholds, sort_findings
from .labelissues import label_findings
from .leakage import leakage_findings, overlap_findings, trainer_split
from .outliers import outlier_findings
from .properties import class_counts, property_findings
from .scan import extension_lies, scan


@dataclass
class CheckOptions:
    dataset: str
    label_from: str = "folder"
    seed: int = DEFAULT_SEED
    test_size: float = DEFAULT_TEST_SIZE
    val_size: float = DEFAULT_VAL_SIZE
    against: str = None
    workers: int = None
    backbone: dict = None      # build_backbone's name, weights, size, alpha; None: --fast
    resize: str = "simple"
    batch_size: int = 32
    exclude: object = None     # an --exclude value (datasets.exclude)
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass
class CheckResult:
    scan: object
    groups: list
    parts: object             # "train"/"val"/"test" per scanned image
    findings: list
    summary: dict
    thresholds: Thresholds


class Stopwatch(dict):
    def __init__(self):
        super().__init__()
        self.last = time.perf_counter()

    def lap(self, name):
        now = time.perf_counter()
        self[name] = round(self.get(name, 0) + now - self.last, 2)
        self.last = now


def backbone_choice(name, weights, size=None, alpha=None):
    """CheckOptions.backbone from --backbone, --weights (as given), --size
    and --alpha, checked, with the backbone's defaults filled in."""
    from ..transfer.backbones import check_backbone_args, parse_weights

    weights = parse_weights(weights)
    size, alpha = check_backbone_args(name, weights, size, alpha)
    return {"name": name, "weights": weights if weights in (None, "imagenet") else os.path.abspath(weights),
            "size": size, "alpha": alpha}


def make_extractor(options):
    """The transfer stage's FeatureExtractor for options.backbone, or None."""
    if options.backbone is None:
        return None
    import keras

    from ..transfer.backbones import build_backbone
    from ..transfer.features import FeatureExtractor

    keras.utils.set_random_seed(options.seed)
    b = options.backbone
    model = build_backbone(b["name"], b["weights"], b["size"], b["alpha"])
    # One view per image: the pHash of the mirror image already finds
    # mirrored copies, and averaging with the mirror's features doubled
    # the backbone's time, the check's largest stage.
    return FeatureExtractor(model, b["name"], b["size"], resize=options.resize,
                            batch_size=options.batch_size, workers=1, flip=False)


def list_other(folder):
    """Every image file under `folder`, whatever its layout (--against)."""
    paths = [os.path.join(d, name) for d, _, names in os.walk(folder) for name in names
             if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")]
    return sorted(paths)


def check(options, verbose=True):
    clock = Stopwatch()
    t = options.thresholds
    paths, labels = find_dataset(options.dataset, label_from=options.label_from, seed=options.seed,
                                exclude=options.exclude)
    clock.lap("listing")
    extractor = make_extractor(options)
    clock.lap("loading the backbone")
    scanned = scan(paths, labels, extractor, workers=options.workers, verbose=verbose)
    clock.update(scanned.seconds)
    clock.last = time.perf_counter()
    findings = [Finding(p, "unreadable", 1.0, label=lab, detail=reason)
                for p, lab, reason in scanned.unreadable]
    findings += [Finding(p, "wrong_extension", 1.0, label=lab, detail=f"the bytes are {fmt.upper()}")
                 for p, lab, fmt in zip(scanned.paths, scanned.labels, scanned.formats)
                 if extension_lies(p, fmt)]
    groups = find_groups(scanned, t)
    findings += duplicate_findings(scanned, groups)
    clock.lap("duplicates")
    parts = trainer_split(scanned, options.test_size, options.val_size, options.seed)
    leaks, test_leaks = leakage_findings(scanned, groups, parts)
    findings += leaks
    if options.against:
        other_paths = list_other(options.against)
        other = scan(other_paths, [""] * len(other_paths), extractor, workers=options.workers,
                     verbose=verbose)
        findings += overlap_findings(scanned, other, t)
        findings += [Finding(p, "unreadable", 1.0, detail=f"in --against: {reason}")
                     for p, _, reason in other.unreadable]
    clock.lap("leakage and overlap")
    label_rows, _, label_thresholds = label_findings(scanned, t.folds, options.seed)
    findings += label_rows
    clock.lap("label issues")
    findings += outlier_findings(scanned, groups, t)
    clock.lap("outliers")
    findings += property_findings(scanned, t)
    clock.lap("properties")
    findings = sort_findings(findings)
    counts = dict.fromkeys(KINDS, 0)
    for finding in findings:
        counts[finding.kind] += 1
    if extractor is None:
        counts.update({kind: None for kind in FEATURE_KINDS})
    if not options.against:
        counts["overlap"] = None
    classes, note = class_counts(scanned.labels)
    summary = {
        "dataset": os.path.abspath(options.dataset), "images": len(paths), "readable": len(scanned.paths),
        "classes": classes, "imbalance_note": note, "counts": counts,
        "duplicate_groups": len(groups), "largest_group": max(map(len, groups), default=0),
        "test_images_with_copy_in_train": int(test_leaks),
        "split": {"seed": options.seed, "test_size": options.test_size, "val_size": options.val_size},
        "against": os.path.abspath(options.against) if options.against else None,
        "backbone": options.backbone, "label_thresholds": label_thresholds,
        "thresholds": vars(t), "seconds": clock,
    }
    return CheckResult(scanned, groups, parts, findings, summary, t)
