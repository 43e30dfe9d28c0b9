r"""Each series' level and scale, given back to the network after z-normalisation.

``normalize="series+stats"`` (:class:`~rnnkit.tasks.classify.SequenceClassifier`)
z-normalises every sequence over its own steps and appends 2D constant channels that say
what the z-normalisation removed: per feature d of a sequence x (T, D), in its raw units,

    level_d = mean_t x_td,   scale_d = log(std_t x_td + EPS)          (NaN steps ignored)
    s = [level_1 .. level_D, scale_1 .. scale_D]                       (2D,)
    z = clip((s - mu) / max(sigma, floor), -CLIP, CLIP)                 each entry

with mu and sigma the mean and standard deviation of s over the training sequences, and
floors that keep differences too small to mean anything near zero: a tenth of the median
within-sequence standard deviation for a level, 0.1 for a log scale (a tenth in scale). On a
set the archive already z-normalised every level is 0 and every scale 1, so z is 0.

Why: on some sets the amplitude is the class. MiniRocket (aeon 1.6, seed 0) scored 0.86 on
PickupGestureWiimoteZ's raw series against 0.78 on the same series z-normalised, and 0.944
against 0.894 on PLAID; on ACSF1, OSULeaf and Coffee, z-normalised in the archive, the two
agree, and on PigCVP nearly (0.947 and 0.942; 2026-12-04, scratch).

It cuts both ways, and which way depends on how many training series a class has. Under
``normalize="auto"`` (the default; :mod:`rnnkit.tasks.classify.task`) every second member of an
ensemble reads it, and so does a convolutional network alone, with the statistics hidden (set to
0, the training set's mean) from each training series of a batch with probability
:data:`STATS_DROPOUT` (:class:`StatisticsDropout`), so that it cannot lean on them alone. Chosen
on PickupGestureWiimoteZ, the development set whose amplitude tells its classes apart, cut to
its first k training series a class (one network, seeds 0-5, one thread, 2026-12-05,
``benchmarks/classify_accuracy.py --per-class k --param ensemble=1 --param normalize=...`` and a
scratch patch for the hiding), k = 2 / 3 / 4 / 5 (5: the whole set): "series" 0.557 / 0.657 /
0.640 / 0.687; "series+stats" in every batch 0.283 / 0.640 / 0.637 / 0.733 (with two series a
class the network learns each one's level by heart); hidden with probability 1/2 0.543 / 0.753 /
0.760 / 0.783; with probability 3/4 0.583 / 0.763 / - / 0.797 (the last on two threads). The
rule first read the statistics from five series a class in the median class, then from three
with p = 1/2, and with p = 3/4, no worse than the series alone at any k, reads them always.

Where the statistics vary over the training set but do not tell its classes apart
(:func:`misleading`: the leave-one-out accuracy of 1-NN on the standardised statistics alone
below :data:`EVIDENCE` = 1.5 times chance, 1/C), ``normalize="auto"`` reads the series alone,
"series", in every network (our reading, not measured directly: there a network learns each
training series' level by heart, and the ensemble's members that read them outvote the others).
Statistics that do not vary (ACSF1 and OSULeaf, z-normalised in the archive: every level 0 and
scale 1) are left as they are, so the development sets and their cuts train as before. The 1-NN
accuracy as a multiple of chance (2026-12-05, before any run): PickupGestureWiimoteZ 3.8 (3.5
cut to two series a class), the generated Bumps12, Bumps40 and Bumps60 2.5, Spectra30 2.0,
Shapelets20 0.3, Shapelets40 and Pulses40 0 (``benchmarks/generated_sets.py``;
PickupGestureWiimoteZ, Bumps and Spectra keep their statistics). On the three that change (one
thread, seeds 0 and 1, ``benchmarks/classify_accuracy.py --sets --extra DIR``): Pulses40 0.837
against 0.673 (that one on two threads; MiniRocket 0.746), Shapelets20 0.323 against 0.232
(0.377), Shapelets40 0.110 against 0.056 (0.142). A first version, without the exemption of
constant statistics, also read ACSF1 and OSULeaf as "series": the same mean on the whole
development sets (0.915 against 0.914) but 0.651 against 0.662 on their cuts, where the change
only redrew the networks (statistics of 0 at the input or not), and it was not kept.

The members of an ensemble that read them keep them in every batch: hidden there (p = 1/2),
three members scored 0.777 against 0.863 on the whole set (0.683 against 0.633 on the cut of two
a class), since the member that reads them must be sure of the class to outweigh the others.
With three members on the cut of two a class, the alternation scored 0.633 against 0.567 for
three "series" members: a member that reads the statistics helps the ensemble where alone it
fails.

Earlier figures, the default GRU-FCN, seed 0, two threads, 2026-12-04
(``benchmarks/classify_accuracy.py --param normalize=series+stats``; "series" in brackets):
PickupGestureWiimoteZ 0.880 (0.720), PLAID 0.898 (0.858), but PigCVP 0.596 (0.716), where two
training series a class let the network lean on each pig's level; seed 1: 0.860, 0.892 and
0.538 (PickupGestureWiimoteZ 0.740 and PigCVP 0.707 with "series"); a first version without
the floors: ACSF1 0.920 (0.930), OSULeaf 0.942 (0.955), Coffee 1.000 (1.000), UnitTest 0.864
(0.909, one test series of 22), so 0.870 against 0.870 over seven sets.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

#: Added to a standard deviation before its log (a constant feature's scale is log(EPS)).
EPS = 1e-8
#: The probability with which :class:`StatisticsDropout` hides a series' statistics from a
#: network alone under ``normalize="auto"`` (see the module doc).
STATS_DROPOUT = 0.75
#: Bound of a standardised statistic.
CLIP = 5.0
#: Floors of sigma: a level's, as a fraction of the median within-sequence std; a log scale's.
LEVEL_FLOOR, SCALE_FLOOR = 0.1, 0.1
#: How many times chance (1/C) the statistics' leave-one-out 1-NN accuracy must reach for
#: ``normalize="auto"`` to read statistics that vary (:func:`misleading`).
EVIDENCE = 1.5
#: The least spread (max - min over the training set) of a standardised statistic that
#: :func:`misleading` counts as varying: float32 rounding moves the statistics of a set
#: z-normalised in the archive by about 1e-8.
VARIES = 0.01
#: Most training sequences :func:`misleading` compares (a seeded sample of a larger set).
EVIDENCE_SAMPLE = 2000


def moments(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (D,) of each feature of one sequence (T, D) over its
    steps, NaN ignored; 0 and 0 for a feature missing at every step. In ``s``'s dtype."""
    seen = ~np.isnan(s).all(axis=0)  # (D,) features with a value
    mean, std = np.zeros(s.shape[1], s.dtype), np.zeros(s.shape[1], s.dtype)
    mean[seen] = np.nanmean(s[:, seen], axis=0)
    std[seen] = np.nanstd(s[:, seen], axis=0)
    return mean, std


def series_stats(moms: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """``s`` of the module doc from each sequence's raw :func:`moments`: (N, 2D) float64."""
    mean = np.array([m for m, _ in moms], dtype=np.float64)  # (N, D)
    std = np.array([sd for _, sd in moms], dtype=np.float64)
    return np.concatenate([mean, np.log(std + EPS)], axis=1)


def fit_scaling(stats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mu, max(sigma, floor))`` of the training sequences' ``stats`` (N, 2D), each (2D,)."""
    D = stats.shape[1] // 2
    typical = np.exp(np.median(stats[:, D:], axis=0))  # median within-sequence std (D,)
    floor = np.concatenate([LEVEL_FLOOR * typical, np.full(D, SCALE_FLOOR)])
    return stats.mean(axis=0), np.maximum(stats.std(axis=0), np.maximum(floor, EPS))


def with_stats(seqs: list[np.ndarray], stats: np.ndarray, mu: np.ndarray,
               sigma: np.ndarray) -> list[np.ndarray]:
    """Each (T_i, D) sequence with its standardised ``stats`` row appended at every step:
    (T_i, 3D) float32."""
    z = np.clip((stats - mu) / sigma, -CLIP, CLIP).astype(np.float32)  # (N, 2D)
    return [np.concatenate([s, np.broadcast_to(row, (len(s), len(row)))], axis=1)
            for s, row in zip(seqs, z, strict=True)]


def misleading(z: np.ndarray, labels: np.ndarray, seed: int = 0) -> bool:
    """Whether the standardised statistics ``z`` (N, 2D) of the training sequences vary
    without telling their ``labels`` (N,) apart: some column of ``z`` spreads over at least
    :data:`VARIES`, and the leave-one-out accuracy of 1-NN (Euclidean) on ``z`` alone stays
    below :data:`EVIDENCE` times chance, 1/C for C classes (on at most
    :data:`EVIDENCE_SAMPLE` sequences, drawn with ``seed``). Statistics that do not vary (a
    set z-normalised in the archive) cannot mislead: False. See the module doc."""
    if np.ptp(z, axis=0).max(initial=0.0) < VARIES:
        return False
    if len(z) > EVIDENCE_SAMPLE:
        pick = np.random.default_rng(seed).choice(len(z), EVIDENCE_SAMPLE, replace=False)
        z, labels = z[pick], labels[pick]
    t = torch.from_numpy(np.asarray(z, dtype=np.float64))
    d = torch.cdist(t, t).fill_diagonal_(float("inf"))  # (N, N), each left out of its own
    accuracy = float(np.mean(labels[d.argmin(1).numpy()] == labels))
    return accuracy * len(np.unique(labels)) < EVIDENCE


class StatisticsDropout(nn.Module):
    """In training, each sequence's last ``channels`` channels (its statistics) are set to 0,
    the training set's mean once standardised, with probability ``p``, all of them at every
    step; evaluation reads them as they are. x (B, T, D') -> (B, T, D').

    Unlike :class:`torch.nn.Dropout` the kept values are not rescaled: a hidden statistic reads
    as the average series', not as a larger one."""

    def __init__(self, channels: int, p: float) -> None:
        super().__init__()
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p must be in [0, 1), got {p!r}")
        self.channels, self.p = channels, p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = (torch.rand(x.shape[0], 1, 1, device=x.device) >= self.p).to(x.dtype)
        k = self.channels
        return torch.cat([x[..., :-k], x[..., -k:] * keep], dim=-1)  # (B, T, D')

    def extra_repr(self) -> str:
        return f"channels={self.channels}, p={self.p}"


__all__ = ["CLIP", "EPS", "EVIDENCE", "EVIDENCE_SAMPLE", "LEVEL_FLOOR", "SCALE_FLOOR",
           "STATS_DROPOUT", "VARIES", "StatisticsDropout", "fit_scaling", "misleading",
           "moments", "series_stats", "with_stats"]
