import numpy as np
import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast.models import BASELINES, MODELS, build_model, output_steps
from rnnkit.train import load_model, save_model

TRAINED = [m for m in MODELS if m not in BASELINES]


@pytest.mark.parametrize("name", TRAINED)
@pytest.mark.parametrize("seq2seq", [False, True])
def test_output_shapes(name, seq2seq):
    torch.manual_seed(0)
    model = build_model(name, input_len=12, output_size=3, seq2seq=seq2seq, hidden=4)
    out = model(torch.randn(2, 12, 1))
    steps = len(output_steps(name, 12))
    assert tuple(out.shape) == ((2, steps, 3) if seq2seq else (2, 3))


def test_naive_and_seasonal_naive_weights_are_exact():
    x = torch.arange(12, dtype=torch.float32).reshape(1, 12, 1) * 10  # x_t = 10 t
    naive = build_model("naive", 12, 3)
    np.testing.assert_allclose(naive(x).detach().numpy(), [[110, 110, 110]])
    seasonal = build_model("seasonal_naive", 12, 5, season=4)  # y_k = x[12 - 4 + k % 4]
    np.testing.assert_allclose(seasonal(x).detach().numpy(), [[80, 90, 100, 110, 80]])
    naive_seq = build_model("naive", 12, 2, seq2seq=True)
    np.testing.assert_allclose(naive_seq(x).detach().numpy()[0, :, 0], np.arange(12) * 10)
    assert not any(p.requires_grad for p in naive.parameters())


def test_drift_extends_the_windows_mean_step():
    x = torch.tensor([[[1.0], [4.0], [2.0], [7.0]], [[5.0], [5.0], [5.0], [5.0]]])  # (2, 4, 1)
    drift = build_model("drift", 4, 3)  # x_4 + k (x_4 - x_1) / 3: steps of 2, then 0
    np.testing.assert_allclose(drift(x).detach().numpy(), [[9, 11, 13], [5, 5, 5]],
                               rtol=1e-6)
    two = torch.tensor([[[1.0, 10.0], [3.0, 0.0]]])  # D = 2, target column 1
    np.testing.assert_allclose(build_model("drift", 2, 2, in_features=2, target_col=1)(two)
                               .detach().numpy(), [[-10, -20]])
    assert not any(p.requires_grad for p in drift.parameters())
    with pytest.raises(ConfigError, match="drift needs input_len >= 2, got 1"):
        build_model("drift", 1, 2)


def test_conv_gru_output_steps():
    np.testing.assert_array_equal(output_steps("conv_gru", 10), [3, 5, 7, 9])
    np.testing.assert_array_equal(output_steps("lstm", 3), [0, 1, 2])


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = build_model("conv_gru", 10, 2, hidden=3)
    save_model(model, tmp_path / "m")
    back = load_model(tmp_path / "m")
    x = torch.randn(3, 10, 1)
    torch.testing.assert_close(back(x), model(x))


def test_errors():
    with pytest.raises(ConfigError, match="model must be one of"):
        build_model("transformer", 4, 1)
    with pytest.raises(ConfigError, match="hidden must be a positive int, got 0"):
        build_model("lstm", 4, 1, hidden=0)
    with pytest.raises(ConfigError, match="needs input_len >= season"):
        build_model("seasonal_naive", 4, 1, season=12)
    with pytest.raises(ConfigError, match="has no seq2seq form"):
        build_model("seasonal_naive", 24, 1, seq2seq=True)


def test_naive_with_square_weight():
    x = torch.tensor([[[1.0], [2.0], [5.0]]])  # L = 3 = H: weight (3, 3) is square
    np.testing.assert_allclose(build_model("naive", 3, 3)(x).detach().numpy(), [[5, 5, 5]])
