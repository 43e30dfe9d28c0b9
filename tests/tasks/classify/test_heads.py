"""Several softmax heads read as one classifier (rnnkit.tasks.classify.heads) and the GRU-FCN's
branch heads (RNNClassifier(branch_heads=True)).

Expected values are written out here with torch's own functions: the normalised geometric
mean and the arithmetic mean of the heads' softmax probabilities, and F.cross_entropy per head.
"""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from rnnkit.nn.config import from_config, to_config
from rnnkit.tasks.classify.heads import (
    HEADS_ACCURACY,
    combine,
    heads_cross_entropy,
    heads_log_proba,
    mixture,
)
from rnnkit.tasks.classify.model import EnsembleNet, RNNClassifier


def test_combine_is_the_normalised_geometric_mean_of_the_probabilities():
    torch.manual_seed(0)
    logits = torch.randn(4, 3, 5, dtype=torch.float64)  # (B, K, C)
    p = torch.softmax(logits, dim=-1)
    geo = p.prod(dim=1) ** (1 / 3)
    torch.testing.assert_close(combine(logits).exp(), geo / geo.sum(-1, keepdim=True))
    torch.testing.assert_close(combine(logits.transpose(0, 1), dim=0), combine(logits))


def test_mixture_is_the_mean_of_the_probabilities():
    torch.manual_seed(0)
    logits = torch.randn(4, 3, 5, dtype=torch.float64) * 10  # (B, K, C), some heads sure
    want = torch.softmax(logits, dim=-1).mean(dim=1)
    torch.testing.assert_close(mixture(logits).exp(), want)
    torch.testing.assert_close(mixture(logits.transpose(0, 1), dim=0), mixture(logits))


def test_heads_log_proba_is_the_mixture_of_the_branch_heads_alone():
    torch.manual_seed(0)
    logits = torch.randn(4, 3, 5, dtype=torch.float64)
    p = torch.softmax(logits, dim=-1)
    torch.testing.assert_close(heads_log_proba(logits).exp(), (p[:, 1] + p[:, 2]) / 2)
    other_joint = logits.clone()
    other_joint[:, 0] = torch.randn(4, 5, dtype=torch.float64) * 100
    torch.testing.assert_close(heads_log_proba(other_joint), heads_log_proba(logits))


def test_heads_cross_entropy_is_the_mean_of_each_heads():
    torch.manual_seed(0)
    logits, y = torch.randn(6, 3, 4), torch.randint(0, 4, (6,))
    want = sum(F.cross_entropy(logits[:, k], y) for k in range(3)) / 3
    torch.testing.assert_close(heads_cross_entropy(logits, y), want)
    torch.testing.assert_close(heads_cross_entropy(logits[:, 0], y),
                               F.cross_entropy(logits[:, 0], y))


def test_heads_accuracy_scores_the_branch_heads_mixture():
    # the joint head (0) says class 0 surely and does not vote; head 1 says class 0 mildly
    # (p = 0.73), head 2 class 1 surely (p = 0.99): the mixture says 1 (p = 0.63), where the
    # geometric mean of all three would say 0
    logits = torch.tensor([[[10.0, 0.0], [1.0, 0.0], [0.0, 5.0]]])  # (1, 3, 2)
    y = torch.tensor([1])
    assert combine(logits).argmax(-1).item() == 0
    total, count = HEADS_ACCURACY.stat(logits, y)
    assert (int(total), int(count)) == (1, 1)
    total, count = HEADS_ACCURACY.stat(logits[:, 0], y)  # one head: its argmax, class 0
    assert (int(total), int(count)) == (0, 1)
    assert HEADS_ACCURACY.name == "accuracy"  # the history keys stay as they were


def _net(**kw):
    torch.manual_seed(0)
    return RNNClassifier(2, 4, "gru-fcn", 5, pooling="max", conv_blocks=1, conv_channels=3,
                         conv_norm="batch", fcn_channels=3, **kw).double()


def test_branch_heads_train_each_head_and_predict_the_branch_heads_mixture():
    net = _net(branch_heads=True)
    x = torch.randn(6, 9, 2, dtype=torch.float64)
    y = torch.randint(0, 4, (6,))
    logits = net.train()(x)
    assert logits.shape == (6, 3, 4)
    heads_cross_entropy(logits, y).backward()
    for head in (net.head, *net.branch_heads):
        assert head.weight.grad.abs().sum() > 0  # every head learns from its own loss
    net.eval()
    out = net(x)  # (B, C) log-probabilities
    torch.testing.assert_close(out.exp().sum(-1), torch.ones(6, dtype=torch.float64))
    r = net.pool(net.rnn(net.frontend(x)[0]), None)  # the branches' vectors, by hand
    f = net.fcn(x)
    joint = net.head(torch.cat([r, f], -1))
    heads = torch.stack([joint, net.branch_heads[0](r), net.branch_heads[1](f)], 1)
    torch.testing.assert_close(out, heads_log_proba(heads))
    p_r, p_f = (torch.softmax(h, -1) for h in (net.branch_heads[0](r), net.branch_heads[1](f)))
    torch.testing.assert_close(out.exp(), (p_r + p_f) / 2)
    again = from_config(to_config(net)).double().eval()  # the config rebuilds the heads
    again.load_state_dict(net.state_dict())
    torch.testing.assert_close(again(x), out)
    ensemble = EnsembleNet([net, net]).eval()  # members' log-probabilities combine as before
    torch.testing.assert_close(ensemble(x), out)


def test_branch_heads_are_off_by_default_and_for_fcn_models_only():
    net = _net()
    assert net.branch_heads is None and "branch_heads" not in net.get_config()
    assert net.train()(torch.randn(2, 9, 2, dtype=torch.float64)).shape == (2, 4)
    with pytest.raises(ValueError, match="branch_heads is for the \\*-fcn models"):
        RNNClassifier(2, 4, "conv-gru", 5, conv_blocks=1, branch_heads=True)
