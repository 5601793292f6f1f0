"""The command-line layer: the flags every stage script shares, and how
their values are checked. It sits above the rest of the package and
nothing in the package imports it."""
from .arguments import (  # noqa: F401 - the scripts call these as cli.<name>
    add_augmentation_arguments,
    add_backbone_arguments,
    add_class_weight_argument,
    add_dataset_arguments,
    add_distribute_arguments,
    add_exclude_argument,
    add_hidden_alias,
    add_optimizer_arguments,
    add_output_arguments,
    add_resume_argument,
    add_storage_arguments,
    add_top_losses_argument,
    add_training_arguments,
    add_verbose_argument,
    check_augmentation_arguments,
    check_distribute_arguments,
    check_positive,
    check_split_sizes,
    find_training_data,
    make_parser,
    resolve_lr,
)
