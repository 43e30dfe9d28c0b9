"""Language models: Embedding -> LSTM x L -> Linear, stateful truncated BPTT, sampling."""

from rnnkit.tasks.lm.model import RNNLanguageModel, detach
from rnnkit.tasks.lm.task import LanguageModelTask, run_tbptt_epoch, unigram_perplexity

__all__ = ["LanguageModelTask", "RNNLanguageModel", "detach", "run_tbptt_epoch",
           "unigram_perplexity"]
