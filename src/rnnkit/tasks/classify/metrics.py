r"""Classification metrics (NumPy): accuracy, confusion matrix, per-class and macro F1.

Confusion matrix ``C[i, j]`` = number of samples of true class i predicted as j.
Per class k: precision = C[k,k] / sum_i C[i,k], recall = C[k,k] / sum_j C[k,j],
F1 = 2 P R / (P + R) (0 where undefined); macro-F1 = the mean over classes.
"""

from __future__ import annotations

import numpy as np


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true).ravel()
    p = np.asarray(y_pred).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {t.size} and "
                         f"{p.size}")
    return t.astype(np.int64), p.astype(np.int64)


def accuracy(y_true, y_pred) -> float:
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p)) if t.size else float("nan")


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """(K, K) int64 counts, rows = true class, columns = predicted class."""
    t, p = _pair(y_true, y_pred)
    K = num_classes if num_classes is not None else int(max(t.max(initial=-1),
                                                            p.max(initial=-1)) + 1)
    cm = np.zeros((K, K), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def f1_per_class(cm: np.ndarray) -> np.ndarray:
    tp = np.diag(cm).astype(np.float64)
    pred = cm.sum(axis=0).astype(np.float64)
    true = cm.sum(axis=1).astype(np.float64)
    denom = pred + true  # 2TP + FP + FN
    return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)


def macro_f1(y_true, y_pred, num_classes: int | None = None) -> float:
    return float(f1_per_class(confusion_matrix(y_true, y_pred, num_classes)).mean())


def classification_report(y_true, y_pred, num_classes: int | None = None) -> dict:
    """``{"accuracy", "macro_f1", "confusion_matrix" (list of lists), "f1_per_class"}``."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    return {"accuracy": accuracy(y_true, y_pred), "macro_f1": float(f1_per_class(cm).mean()),
            "confusion_matrix": cm.tolist(), "f1_per_class": f1_per_class(cm).tolist()}


__all__ = ["accuracy", "classification_report", "confusion_matrix", "f1_per_class", "macro_f1"]
