"""The kinds of finding check_dataset.py reports, each with the rule that
flags it (printed by --help and written in the HTML report), and the
Finding row of the CSV."""

from dataclasses import dataclass

from ..datasets.exclude import DEFAULT_KINDS

# kind -> rule. The order is the CSV's and the report's.
RULES = {
    "unreadable": "the loader cannot use the file (empty, not an image, truncated JPEG, corrupt data, "
                  "a header claiming over 100 M pixels): the same verdicts as the trainers",
    "wrong_extension": "the file's bytes are another format than its extension says (a PNG named .jpg)",
    "exact_duplicate": "same decoded pixels as another file, whatever the names; one row per copy "
                       "beyond the first of its group",
    "near_duplicate": "the same photo re-encoded, resized, slightly cropped, brightened or mirrored: "
                      "perceptual hashes (pHash, also of the mirror image) at most {hash_distance} of "
                      "64 bits apart and backbone features at cosine {feature_agree} or more, or "
                      "features at cosine {feature_similarity} or more and hashes at most "
                      "{hash_limit} bits apart; with --fast, hashes at most {fast_hash_distance} bits "
                      "apart; flat frames (low_information) only as exact copies; one row per copy "
                      "beyond the first of its group",
    "conflict": "a duplicate group whose members carry different labels; one row per member",
    "leakage": "a validation or test image with a duplicate in the training part of the split a "
               "trainer makes with the same --seed, --test-size and --val-size",
    "overlap": "an image with a duplicate in the --against folder",
    "label_issue": "confident learning: out-of-sample probabilities from {folds}-fold cross-validated "
                   "logistic regression on backbone features; flagged when the given label's "
                   "probability is under that class's mean self-confidence while another class's "
                   "is at or above its own; score 1 - p(given label); suggested: that other class",
    "outlier": "mean cosine distance to the {neighbours} nearest other images (duplicates counted "
               "once) above Q3 + {iqr_factor} x IQR of all images' (logos, text, blank or noise frames)",
    "tiny": "shorter side under {min_side} pixels",
    "odd_aspect": "longer side over {max_aspect} times the shorter",
    "grayscale": "no colour (channels differ by under {gray_spread} levels on average) in a "
                 "dataset of mostly colour images",
    "dark": "99th percentile of perceived brightness under {dark} of 255",
    "light": "5th percentile of perceived brightness over {light} of 255",
    "blurry": "variance of the Laplacian under {blur} at 256 pixels wide",
    "low_information": "entropy of the grey-level histogram under {entropy} bits (blank, flat or "
                       "nearly flat frames)",
}
KINDS = tuple(RULES)
DUPLICATE_KINDS = ("exact_duplicate", "near_duplicate")
PROPERTY_KINDS = ("tiny", "odd_aspect", "grayscale", "dark", "light", "blurry", "low_information")
FEATURE_KINDS = ("label_issue", "outlier")
QUARANTINE_DEFAULT = DEFAULT_KINDS  # what --exclude leaves out by default


@dataclass
class Thresholds:
    """Every rule's number, in one place (the report and --help show them)."""
    hash_distance: int = 10
    feature_agree: float = 0.90
    feature_similarity: float = 0.96
    # Two unrelated images' pHashes differ like coin flips, 32 of 64 bits
    # give or take 4: 22 bits is within chance's reach (0.8% of pairs), and
    # two noise frames filed under two classes paired at 20 bits and cosine
    # 0.97 as a false conflict. 18 (0.02%) still pairs 90% crops, which sit
    # 8-14 bits apart (BENCHMARKS.md).
    hash_limit: int = 18
    fast_hash_distance: int = 8
    folds: int = 5
    # A cluster of m similar junk frames (5 noise frames, say) is its own
    # nearest neighbourhood: with 10 neighbours, 4 of them close, the noise
    # frames scored under the fence; with 20 they stand out (BENCHMARKS.md).
    neighbours: int = 20
    iqr_factor: float = 3.0
    min_side: int = 64
    max_aspect: float = 3.0
    gray_spread: float = 2.0
    dark: int = 40
    light: int = 245
    blur: float = 20.0
    entropy: float = 2.5

    def rule(self, kind):
        return RULES[kind].format(**vars(self))


@dataclass
class Finding:
    path: str
    kind: str
    score: float = 0.0          # higher: more certainly a problem, within a kind
    related: str = ""           # the kept copy, the training copy, the --against copy
    label: str = ""
    suggested: str = ""         # label_issue: the likelier label
    detail: str = ""

    def row(self):
        return {"path": self.path, "kind": self.kind, "score": f"{self.score:.4f}",
                "related": self.related, "label": self.label, "suggested": self.suggested,
                "detail": self.detail}


CSV_FIELDS = ("path", "kind", "score", "related", "label", "suggested", "detail")


def sort_findings(findings):
    """By kind (RULES' order), then score, highest first, then path."""
    order = {kind: i for i, kind in enumerate(KINDS)}
    return sorted(findings, key=lambda f: (order[f.kind], -f.score, f.path))
