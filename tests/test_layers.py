"""The package's sub-packages form layers: each imports only from layers
below it, so the package reads (and can be copied) from the bottom up and no
two sub-packages import each other. Read from the source with Python's ast
module, imports inside functions included: a lazy import is still a tie."""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "pyimagesearch"

# Bottom to top. A sub-package may import from any layer below its own; two
# sub-packages of one layer do not import each other.
LAYERS = [
    ["utils"],                                           # errors, atomic files, threads
    ["nn", "preprocessing", "callbacks", "modelfiles"],  # the book's units; the sidecar
    ["datasets"],
    ["io"],                                              # HDF5 files and the image cache
    ["inference", "evaluation"],
    ["explain"],
    ["training"],                                        # the one training engine
    ["transfer"],                                        # backbones: features, fine-tuning
    ["export", "datacheck"],
    ["cli"],                                             # command-line flags, for the scripts
]

# Ties that break the layers today, each with the work that removes it.
KNOWN = {}


def imported_subpackages(path):
    """{sub-package of pyimagesearch that the module at `path` imports}."""
    # The package a relative import starts from: the module's folder (for
    # an __init__.py too, which is the folder's own module).
    package = path.relative_to(PACKAGE.parent).parent.parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[:len(package) - node.level + 1])
                names = [".".join(base + ([node.module] if node.module else [alias.name]))
                         for alias in node.names]
            else:
                names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {name.split(".")[1] for name in names
                  if name.startswith("pyimagesearch.") and len(name.split(".")) > 1}
    return found


def layer_of():
    return {name: level for level, names in enumerate(LAYERS) for name in names}


def test_every_subpackage_has_a_layer():
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert subpackages == set(layer_of()), "add the new sub-package to LAYERS"


def test_subpackages_import_only_from_lower_layers():
    level = layer_of()
    broken = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2:
            continue
        me = parts[0]
        for other in imported_subpackages(path) - {me}:
            if level[other] >= level[me] and (me, other) not in KNOWN:
                broken.add(f"{path.relative_to(PACKAGE.parent)} imports pyimagesearch.{other}, "
                           f"which is not below {me} (see LAYERS)")
    assert not broken, "\n".join(sorted(broken))


def test_known_exceptions_still_exist():
    """An exception that the code no longer needs is removed from KNOWN."""
    ties = {(path.relative_to(PACKAGE).parts[0], other)
            for path in PACKAGE.rglob("*.py") if len(path.relative_to(PACKAGE).parts) > 1
            for other in imported_subpackages(path)}
    assert set(KNOWN) <= ties
