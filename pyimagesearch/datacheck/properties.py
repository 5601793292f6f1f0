"""Image properties that hurt training: tiny, extreme aspect ratio, grey
among colour, very dark, very light, blurry, low information. The numbers
are CleanVision's ideas with thresholds of our own (findings.Thresholds),
measured on a copy at most 256 pixels wide."""

import numpy as np

from .findings import Finding


def pixel_statistics(bgr, gray):
    """The numbers the property rules compare, for one uint8 image (at most
    256 wide); brightness and colour on a 64-wide copy, which gives the
    same percentiles at a sixteenth of the cost."""
    import cv2

    h, w = gray.shape
    tiny = cv2.resize(bgr, (64, max(1, round(h * 64 / w))), interpolation=cv2.INTER_AREA) if w > 64 else bgr
    pixels = tiny.reshape(-1, 3).astype(np.float32)
    # Perceived brightness (as CleanVision computes it), 0..255.
    brightness = np.sqrt(pixels ** 2 @ np.array([0.068, 0.691, 0.241], np.float32))
    low, high = np.percentile(brightness, [5, 99])
    histogram = np.bincount(gray.ravel(), minlength=256) / gray.size
    nonzero = histogram[histogram > 0]
    return {
        "bright_p99": float(high),
        "bright_p5": float(low),
        "colour_spread": float(np.mean(np.ptp(tiny.reshape(-1, 3), axis=1))),
        "laplacian_var": float(cv2.Laplacian(gray, cv2.CV_32F).var()),
        "entropy": float(-(nonzero * np.log2(nonzero)).sum()),
    }


def property_findings(scan, thresholds):
    """One Finding per image and failed rule; score: how far past the threshold."""
    t = thresholds
    stats = scan.stats
    if not scan.paths:
        return []
    shorter = scan.sizes.min(axis=1)
    aspect = scan.sizes.max(axis=1) / np.maximum(shorter, 1)
    mostly_colour = np.mean(stats["colour_spread"] >= t.gray_spread) > 0.5
    tests = {
        "tiny": (shorter < t.min_side, 1 - shorter / t.min_side, lambda i: f"{scan.sizes[i][0]}x{scan.sizes[i][1]}"),
        "odd_aspect": (aspect > t.max_aspect, aspect / t.max_aspect - 1, lambda i: f"aspect {aspect[i]:.1f}"),
        "grayscale": (mostly_colour & (stats["colour_spread"] < t.gray_spread),
                      1 - stats["colour_spread"] / t.gray_spread, lambda i: "no colour"),
        "dark": (stats["bright_p99"] < t.dark, 1 - stats["bright_p99"] / t.dark,
                 lambda i: f"99th percentile brightness {stats['bright_p99'][i]:.0f}"),
        "light": (stats["bright_p5"] > t.light, (stats["bright_p5"] - t.light) / (255 - t.light + 1e-9),
                  lambda i: f"5th percentile brightness {stats['bright_p5'][i]:.0f}"),
        "blurry": (stats["laplacian_var"] < t.blur, 1 - stats["laplacian_var"] / t.blur,
                   lambda i: f"Laplacian variance {stats['laplacian_var'][i]:.1f}"),
        "low_information": (stats["entropy"] < t.entropy, 1 - stats["entropy"] / t.entropy,
                            lambda i: f"entropy {stats['entropy'][i]:.2f} bits"),
    }
    findings = []
    for kind, (flagged, score, detail) in tests.items():
        for i in np.flatnonzero(flagged):
            findings.append(Finding(scan.paths[i], kind, float(score[i]), label=scan.labels[i],
                                    detail=detail(i)))
    return findings


def class_counts(labels, unreadable=()):
    """{class: readable images}, sorted by class, and the imbalance note of
    the trainers (classweights.describe_balance) or None."""
    from ..datasets.classweights import describe_balance
    from ..datasets.folder import encode_labels

    if not labels:
        return {}, None
    y, names = encode_labels(labels)
    counts = np.bincount(y, minlength=len(names))
    note = describe_balance(y, names, None)
    return {name: int(n) for name, n in zip(names, counts)}, note
