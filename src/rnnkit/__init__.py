"""rnnkit: recurrent neural networks, from a hand-derived NumPy engine to fast PyTorch layers.

Sub-packages (see DESIGN.md):

- ``rnnkit.ref``   NumPy reference engine, explicit forward/backward (BPTT), gradient-checked.
- ``rnnkit.nn``    PyTorch engine: cells, the ``Recurrent`` layer, fused and fast paths.
- ``rnnkit.data``  windowing, scalers, generators and loaders, bundled data.
- ``rnnkit.train`` fit loop, callbacks, metrics, checkpoints.
- ``rnnkit.tasks`` forecasting, classification, language models, seq2seq.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rnnkit")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
