"""Sequence to sequence: encoder-decoder with teacher forcing, greedy/beam decoding, attention."""

from rnnkit.tasks.seq2seq.attention import Attention
from rnnkit.tasks.seq2seq.model import Seq2Seq
from rnnkit.tasks.seq2seq.task import Seq2SeqTask

__all__ = ["Attention", "Seq2Seq", "Seq2SeqTask"]
