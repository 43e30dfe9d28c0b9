"""Tasks: small estimator-style objects over ``rnnkit.nn`` and ``rnnkit.train``.

- :mod:`~rnnkit.tasks.forecast` — ``Forecaster``, models by name, multi-step strategies,
  MC-dropout intervals, metrics, backtests, the Hands-On ML reproduction.
- :mod:`~rnnkit.tasks.classify` — sequence and text classifiers (MNIST rows, UCR, reviews).
- :mod:`~rnnkit.tasks.lm` — word/character LSTM language model with truncated BPTT.
- :mod:`~rnnkit.tasks.seq2seq` — encoder-decoder with attention, greedy and beam search.
- :mod:`~rnnkit.tasks.sine` — the SimpleRNN sine example on the reference engine.

``__init__`` stores arguments, ``fit`` returns ``self``, learned state ends in ``_``. Nothing
here prints or plots; the command line and ``rnnkit.plots`` do.
"""
