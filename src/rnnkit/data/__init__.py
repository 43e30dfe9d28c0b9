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
"""
