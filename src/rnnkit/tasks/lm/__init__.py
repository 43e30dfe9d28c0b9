"""Language models: Embedding -> LSTM x L -> Linear, stateful truncated BPTT, sampling."""

from rnnkit.tasks.lm.model import RNNLanguageModel
from rnnkit.tasks.lm.task import LanguageModelTask, unigram_perplexity

__all__ = ["LanguageModelTask", "RNNLanguageModel", "unigram_perplexity"]
