"""Data: from files and generators to arrays, windows and batches (NumPy; no training here).

Time series: :mod:`~rnnkit.data.series` (CSV loader, the bundled airline-passengers series),
:mod:`~rnnkit.data.synthetic` (Géron's two-sine generator), :mod:`~rnnkit.data.windowing`
(sliding / Toeplitz / seq2seq windows and time-ordered splits without leakage),
:mod:`~rnnkit.data.scalers` (fitted on the training part only).

Labelled sequences and text: :mod:`~rnnkit.data.idx` (MNIST's IDX format),
:mod:`~rnnkit.data.labelled` (sequence CSV, UCR/UEA ``.ts``), :mod:`~rnnkit.data.text`
(corpus, tokenizer, vocabulary), :mod:`~rnnkit.data.text_datasets` (folder-per-label, CSV),
:mod:`~rnnkit.data.batching` (padding, length buckets, token streams for truncated BPTT),
:mod:`~rnnkit.data.seq2seq_tasks` (addition, dates, reversal, TSV parallel text).

Every loader takes a local path and raises :class:`rnnkit.errors.DataError` naming the file,
column or line at fault; :mod:`~rnnkit.data.checks` holds what they all check (regular files
only, size limits, UTF-8 with or without a byte-order mark, finite values in float32's range).

Data by name (:mod:`~rnnkit.data.download`): :func:`load_mnist` with no folder,
:func:`load_ucr` and :func:`load_sentiment` download into a cache folder on first use
(``$RNNKIT_CACHE`` or ``~/.cache/rnnkit``) and read it from there afterwards.
"""

from rnnkit.data.idx import load_mnist
from rnnkit.data.labelled import load_ucr
from rnnkit.data.text_datasets import load_sentiment

__all__ = ["load_mnist", "load_sentiment", "load_ucr"]
