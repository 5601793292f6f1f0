"""The measurements behind BENCHMARKS.md: speed, memory and accuracy, each
against a baseline measured in the same run. Not part of the test suite, and
not installed with the package.

Run them from the repository root as modules, which imports this checkout's
package without installing it:

    python -m benchmarks.bench_loader --help

With the package installed (`make install`, or `pip install -e .`),
`python benchmarks/bench_loader.py` runs the same. Child processes that
import the package are given the checkout on PYTHONPATH, so they measure
the same tree as their parent.
"""
