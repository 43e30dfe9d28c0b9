"""Sequence classification (many-to-one): numeric sequences, MNIST rows, text."""

from rnnkit.tasks.classify.cells import MyGRUCell, MyLSTMCell
from rnnkit.tasks.classify.metrics import accuracy, confusion_matrix, macro_f1
from rnnkit.tasks.classify.model import MODELS, RNNClassifier
from rnnkit.tasks.classify.task import SequenceClassifier, TextClassifier

__all__ = ["MODELS", "MyGRUCell", "MyLSTMCell", "RNNClassifier", "SequenceClassifier",
           "TextClassifier", "accuracy", "confusion_matrix", "macro_f1"]
