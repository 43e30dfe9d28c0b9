"""``Bidirectional(layer, merge_mode)``: Keras' wrapper around a unidirectional layer.

The wrapper keeps ``layer`` as the forward layer and builds a backward twin from the layer's
config with ``go_backwards`` flipped (fresh weights). The backward outputs are re-aligned to
the original time axis (each sequence reversed inside its own length) and merged with the
forward ones: concat (B, T, 2H) / sum / mul / ave (B, T, H). Without ``return_sequences`` the
merge is of the forward output at each sequence's last valid step and the backward output
after reading the whole sequence. With ``return_state`` the state is laid out like a
bidirectional torch.nn layer: h (L*2, B, H) (or LSTMState), index l*2 + d.

For the common case ``LSTM(..., bidirectional=True)`` is the same model on one fused kernel;
the wrapper exists for Keras-style code and for any Recurrent layer, custom cells included.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.nn._checks import check_choice
from rnnkit.nn.cells import State
from rnnkit.nn.config import from_config as _from_config
from rnnkit.nn.config import register, to_config
from rnnkit.nn.masking import resolve_lengths, reverse_padded
from rnnkit.nn.recurrent import MERGE_MODES, Recurrent, _fields, _rebuild, merge


@register
class Bidirectional(nn.Module):
    """Run ``layer`` forward and a twin backward in time, merge the outputs (see module doc)."""

    def __init__(self, layer: Recurrent, merge_mode: str = "concat") -> None:
        super().__init__()
        if not isinstance(layer, Recurrent):
            raise TypeError(
                f"layer must be an rnnkit.nn Recurrent layer, got {type(layer).__name__}"
            )
        if layer.bidirectional:
            raise ValueError("layer must be unidirectional (bidirectional=False), got True")
        self.merge_mode = check_choice("merge_mode", merge_mode, MERGE_MODES)
        self.forward_layer = layer
        cfg = to_config(layer)
        cfg["config"]["go_backwards"] = not layer.go_backwards
        self.backward_layer = _from_config(cfg)
        self.backward_layer.to(
            device=next(layer.parameters()).device, dtype=next(layer.parameters()).dtype
        )

    @property
    def last_path(self) -> str | None:
        """The path both directions ran (they always choose alike)."""
        return self.forward_layer.last_path

    def reset_state(self) -> None:
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def forward(
        self,
        x: Tensor,
        state: State | None = None,
        lengths: Tensor | Sequence[int] | None = None,
        mask: Tensor | None = None,
    ) -> Tensor | tuple[Tensor, State]:
        """x (B, T, D) -> merged output; ``(out, state)`` if the layer has return_state."""
        fl, bl = self.forward_layer, self.backward_layer
        lengths_t = None
        if isinstance(x, Tensor) and x.dim() == 3:
            lengths_t = resolve_lengths(lengths, mask, x.shape[0], x.shape[1])
        s_f = s_b = None
        if state is not None:
            fields = _fields(state)
            L = fl.num_layers
            if any(
                not isinstance(f, Tensor) or f.dim() != 3 or f.shape[0] != 2 * L for f in fields
            ):
                got = [
                    tuple(f.shape) if isinstance(f, Tensor) else type(f).__name__ for f in fields
                ]
                raise ValueError(f"state must have shape (L*2={2 * L}, B, H), got {got}")
            s_f = _rebuild(fl.state_type, [f[0::2] for f in fields])
            s_b = _rebuild(fl.state_type, [f[1::2] for f in fields])
        rf = fl(x, s_f, lengths_t)
        rb = bl(x, s_b, lengths_t)
        out_f, st_f = rf if fl.return_state else (rf, None)
        out_b, st_b = rb if bl.return_state else (rb, None)
        if fl.return_sequences:  # outputs of a go_backwards layer back to the original time axis
            out_f = reverse_padded(out_f, lengths_t) if fl.go_backwards else out_f
            out_b = reverse_padded(out_b, lengths_t) if bl.go_backwards else out_b
        out = merge(out_f, out_b, self.merge_mode)
        if not fl.return_state:
            return out
        fields = [
            torch.stack([a, b], dim=1).flatten(0, 1)  # (L*2, B, H), index l*2 + d
            for a, b in zip(_fields(st_f), _fields(st_b), strict=True)
        ]
        return out, _rebuild(fl.state_type, fields)

    def get_config(self) -> dict[str, Any]:
        return {"layer": to_config(self.forward_layer), "merge_mode": self.merge_mode}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bidirectional:
        return cls(_from_config(config["layer"]), merge_mode=config.get("merge_mode", "concat"))
