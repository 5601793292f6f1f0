"""Find what is wrong with a folder of photos before training on it:
unreadable files, duplicates (exact and near, in groups), duplicates filed
under two labels, leakage across the split the trainers would make, overlap
with another folder, likely label errors, outliers and image properties
that hurt training.

Reads the same layouts as the trainers, with the same bad-file verdicts,
and writes a CSV (one row per finding, for a spreadsheet), a JSON summary
and one self-contained HTML page with a gallery per kind; prints one line
per kind. Exit code 0 whatever it finds (--fail-on for pipelines).

    python check_dataset.py --dataset animals --backbone mobilenet --alpha 0.25 \\
        --weights ../shared/data/weights/mobilenet_2_5_224_tf_no_top.h5
    python check_dataset.py --dataset animals --fast          # no backbone
    python train_vgg.py --dataset animals --exclude output/animals_check.csv

Rules (numbers in findings.Thresholds):
"""
import os
import sys
import textwrap

from pyimagesearch import cli
from pyimagesearch.datacheck.findings import KINDS, QUARANTINE_DEFAULT, Thresholds
from pyimagesearch.utils.errors import UserError, run_cli

RULES_HELP = "\n".join(textwrap.fill(f"{kind}: {Thresholds().rule(kind)}", 90, initial_indent="  ",
                                     subsequent_indent="      ") for kind in KINDS)


def kind_list(text):
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise UserError(f"unknown kind {', '.join(unknown) or repr(text)}; choose from {', '.join(KINDS)}")
    return kinds


def parse_args(argv):
    parser = cli.make_parser(__doc__ + RULES_HELP)
    cli.add_dataset_arguments(parser)
    check = parser.add_argument_group("check")
    check.add_argument("--fast", action="store_true",
                       help="skip the checks that need a backbone (label issues, outliers, feature "
                            "near duplicates): files, pixels and hashes only")
    check.add_argument("--against", metavar="DIR", default=None,
                       help="also find images that have a duplicate in DIR (any layout), e.g. a test "
                            "set collected separately")
    check.add_argument("--fail-on", type=kind_list, default=[], metavar="KIND,...",
                       help="exit 1 when any of these kinds is found (for pipelines)")
    check.add_argument("-b", "--batch-size", type=int, default=32,
                       help="images per backbone call (default: %(default)s)")
    cli.add_backbone_arguments(parser, "mobilenet",
                               size_help="backbone input width and height (default: the backbone's own)")
    out = parser.add_argument_group("output")
    out.add_argument("--html", default=None, help="report page (default: output/<dataset>_check.html)")
    out.add_argument("--csv", default=None, help="findings (default: output/<dataset>_check.csv)")
    out.add_argument("--json", default=None, help="summary (default: output/<dataset>_check.json)")
    move = parser.add_argument_group("quarantine")
    move.add_argument("--quarantine", metavar="DIR", default=None,
                      help="move flagged files into DIR (outside the dataset), keeping their paths "
                           "relative to it, and write DIR/manifest.json; nothing is deleted; an "
                           "interrupted run is completed by running again, or undone by --restore")
    move.add_argument("--quarantine-kinds", type=kind_list, default=list(QUARANTINE_DEFAULT),
                      metavar="KIND,...", help="kinds --quarantine moves (default: %(default)s)")
    move.add_argument("--restore", metavar="MANIFEST", default=None,
                      help="put back every file a --quarantine manifest lists, then exit")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from pyimagesearch.datacheck import quarantine

    if args.restore:
        moved = quarantine.restore(args.restore)
        print(f"[INFO] restored {moved} files from {args.restore}")
        return 0
    cli.check_positive(args, "batch-size")
    cli.check_split_sizes(args)
    from pyimagesearch.datacheck.checkdataset import CheckOptions, backbone_choice, check
    from pyimagesearch.datacheck.report import report_paths, write_reports

    outputs = report_paths(args.dataset, html=args.html, csv=args.csv, json=args.json)
    if args.against and not os.path.isdir(args.against):
        raise UserError(f"{args.against}: --against folder not found")
    backbone = None if args.fast else backbone_choice(args.backbone, args.weights, args.size, args.alpha)
    result = check(CheckOptions(args.dataset, label_from=args.labels, seed=args.seed, test_size=args.test_size,
                                val_size=args.val_size, against=args.against, workers=args.workers,
                                backbone=backbone, resize=args.resize, batch_size=args.batch_size,
                                exclude=args.exclude))
    print_summary(result, outputs, write_reports(outputs, result))
    if args.quarantine:
        moves, manifest = quarantine.quarantine_findings(result.findings, args.dataset, args.quarantine_kinds,
                                                         args.quarantine)
        print(f"[INFO] moved {len(moves)} files ({', '.join(args.quarantine_kinds)}) to {args.quarantine}; "
              f"undo: python check_dataset.py --restore {manifest}")
    found = [kind for kind in args.fail_on if result.summary["counts"].get(kind)]
    if found:
        print(f"[FAIL] found {', '.join(found)} (--fail-on)", file=sys.stderr)
        return 1
    return 0


def print_summary(result, outputs, size):
    s = result.summary
    print(f"[INFO] checked {s['images']} files ({s['readable']} readable, {len(s['classes'])} classes)")
    for kind, n in s["counts"].items():
        print(f"  {kind:16s}{'skipped' if n is None else n}")
    print(f"  duplicate groups {s['duplicate_groups']}; test images with a copy in training: "
          f"{s['test_images_with_copy_in_train']}")
    if s["imbalance_note"]:
        print(s["imbalance_note"])
    print("[INFO] time per stage: " + ", ".join(f"{k} {v:.1f}s" for k, v in s["seconds"].items()))
    print(f"[INFO] wrote {outputs['csv']}, {outputs['json']}, {outputs['html']} ({size / 2**20:.1f} MB)")


if __name__ == "__main__":
    sys.exit(run_cli(main))
