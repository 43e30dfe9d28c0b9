r"""``Recurrent``: the time loop around a cell -- stacking, directions, masking, state, dropout.

Shapes (batch first): x (B, T, D) -> out (B, T, Dir*H) with ``return_sequences`` else (B, Dir*H)
(each sequence's last valid step; for the backward direction, the output after reading the
whole sequence, as Keras' Bidirectional). With ``merge_mode`` sum / mul / ave the last layer's
two directions are combined to H instead of concatenated. State: h (L*Dir, B, H), or
``LSTMState(h, c)`` of two such tensors, index l*Dir + d like torch.nn.

Equivalent to the following plain loop for one layer and direction (the loop path)::

    p = cell.project_input(x)                     # (B, T, P), hoisted out of the loop
    for t in range(T):
        h_t, new = cell.step(p[:, t], state)      # state's h times the recurrent-dropout mask
        state = where(t < lengths, new, state)    # padded steps keep the state
        out[:, t] = where(t < lengths, h_t, 0)    # and output zeros

Paths (``layer.last_path`` records the one that ran):

- ``"fused"``: standard SimpleRNN / LSTM / GRU cells without active recurrent dropout run
  through a torch.nn.LSTM / GRU / RNN that shares their parameters (cuDNN / oneDNN), variable
  lengths packed internally (rnnkit.nn.fused);
- ``"fast"``: layer-normalised cells, which torch has no kernel for, and GRU, SimpleRNN and
  LSTM cells, one layer and direction at a time, without recurrent dropout: on CPU (float32 /
  float64, variable lengths included) compiled NumPy kernels with hand-derived BPTT behind a
  ``torch.autograd.Function``; for LN cells on other devices, for full-length batches, a
  time-major torch loop (``rnnkit.nn.fastpath``);
- ``"traced"``: a user's cell (not one of rnnkit's) without active recurrent dropout: its
  step traced once into a forward and a backward graph, run over the sequence by one
  ``torch.autograd.Function`` with no per-step autograd graph (rnnkit.nn.fastpath.traced);
  cells it cannot trace (data-dependent control flow, in-place ops, random draws such as
  dropout in training mode) run the loop;
- ``"loop"``: the autograd loop above, always available.

``path="auto"`` picks the first available in that order, except that a standard cell whose CPU
kernel measured faster than its fused module on this machine kind (``fastpath.AUTO_KERNELS``:
GRU and SimpleRNN on x86_64 with at most 2 torch threads, LSTM with one) runs on the fast
path when it can;
``"fused"``/``"fast"``/``"traced"`` force one (and raise ValueError if unavailable); ``"loop"``
forces the loop. When "auto" ends on the loop, ``layer.last_path_reason`` says why the traced
path could not run (else None).

With the ecosystem's tools (rnnkit.nn.tracing): the fused path is torch.nn's module, so
``torch.compile`` runs it as it runs torch.nn.LSTM (a graph break around it), and
``torch.export`` / ``torch.onnx.export`` / ``torch.jit.trace`` record it (an ONNX LSTM / GRU
/ RNN node); with lengths under those last three, each layer and direction runs on the padded
batch instead of a packed one (an LSTM that returns or keeps its final state runs the loop).
The fast path's kernels and the traced path's graphs are opaque to every tool: under any
graph capture and under autocast the layer runs the loop (the fast path also without Numba).
``last_path`` records the choice (torch.export puts module attributes back after tracing, so
there it shows the previous call's).

Dropout (all off in eval mode unless ``mc_dropout=True``, which keeps it on for MC dropout):
``input_dropout`` drops features of x with one mask per sequence for all steps; ``dropout``
drops the outputs between stacked layers (torch.nn's meaning; per element and step);
``recurrent_dropout`` multiplies the h fed back into the cell by one mask per sequence for all
steps (variational, Gal & Ghahramani 2016; the LSTM c is not dropped).

``stateful=True`` carries the final state (detached: truncated BPTT) into the next call;
``reset_state()`` clears it. ``go_backwards=True`` reads each sequence from its last valid step
to its first; the outputs stay in that reading order (Keras' convention).
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn import fastpath, fused
from rnnkit.nn._checks import check_bool, check_choice, check_rate
from rnnkit.nn.cells import STANDARD_CELLS, Cell, State
from rnnkit.nn.config import from_config as _from_config
from rnnkit.nn.config import register, to_config
from rnnkit.nn.fastpath import traced
from rnnkit.nn.ln_cells import LN_CELLS
from rnnkit.nn.masking import last_valid, resolve_lengths, reverse_padded, valid_mask
from rnnkit.nn.tracing import exporting

logger = logging.getLogger(__name__)

MERGE_MODES = ("concat", "sum", "mul", "ave")
PATHS = ("auto", "fused", "fast", "traced", "loop")



# -- state layout helpers: a state is a Tensor or a NamedTuple of tensors ----------------------
def _fields(state: State) -> tuple[Tensor, ...]:
    return (state,) if isinstance(state, Tensor) else tuple(state)


def _rebuild(like_type: type | None, fields: Sequence[Tensor]) -> State:
    return fields[0] if like_type is None else like_type(*fields)


def merge(a: Tensor, b: Tensor, mode: str) -> Tensor:
    """Combine the forward and backward outputs: concat on the last axis, sum, mul or ave."""
    if mode == "concat":
        return torch.cat([a, b], dim=-1)
    if mode == "sum":
        return a + b
    if mode == "mul":
        return a * b
    return (a + b) * 0.5


@register
class Recurrent(nn.Module):
    """Run a cell (or a stack of cells, one per layer) over sequences; see the module doc.

    Args:
        cell_or_cells: a :class:`~rnnkit.nn.cells.Cell` (one layer) or a list of cells, one
            per stacked layer (layer l > 0 reads Dir*H features). All share hidden_size and
            state structure. With ``bidirectional`` each gets a copy for the backward
            direction, re-drawn by the cell's ``reset_parameters()``.
        bidirectional: also run each layer backward in time; outputs concatenated (False).
        merge_mode: how the last layer's directions combine: concat|sum|mul|ave ("concat").
        return_sequences: return every step (B, T, .) rather than the last (False).
        return_state: also return the final state (False).
        stateful: carry the final state into the next call (False).
        go_backwards: read the input in reverse (False).
        dropout: between stacked layers (0.0). input_dropout: on x (0.0).
        recurrent_dropout: variational, on the h fed back (0.0).
        mc_dropout: keep dropout active in eval mode (False).
        path: "auto" | "fused" | "fast" | "traced" | "loop" ("auto").
    """

    def __init__(
        self,
        cell_or_cells: Cell | Sequence[Cell],
        *,
        bidirectional: bool = False,
        merge_mode: str = "concat",
        return_sequences: bool = False,
        return_state: bool = False,
        stateful: bool = False,
        go_backwards: bool = False,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        mc_dropout: bool = False,
        path: str = "auto",
    ) -> None:
        super().__init__()
        layers = [cell_or_cells] if isinstance(cell_or_cells, Cell) else (
            list(cell_or_cells) if isinstance(cell_or_cells, Iterable) else []
        )
        if not layers or not all(isinstance(c, Cell) for c in layers):
            raise TypeError(
                "cell_or_cells must be a Cell or a non-empty list of Cells, "
                f"got {cell_or_cells!r:.100}"
            )
        self.bidirectional = check_bool("bidirectional", bidirectional)
        self.merge_mode = check_choice("merge_mode", merge_mode, MERGE_MODES)
        self.return_sequences = check_bool("return_sequences", return_sequences)
        self.return_state = check_bool("return_state", return_state)
        self.stateful = check_bool("stateful", stateful)
        self.go_backwards = check_bool("go_backwards", go_backwards)
        self.dropout = check_rate("dropout", dropout)
        self.input_dropout = check_rate("input_dropout", input_dropout)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        self.mc_dropout = check_bool("mc_dropout", mc_dropout)
        self.path = check_choice("path", path, PATHS)
        self.num_layers = len(layers)
        self.num_directions = 2 if self.bidirectional else 1
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn(
                f"dropout={self.dropout} acts between stacked layers and num_layers=1; "
                "use input_dropout or recurrent_dropout for a single layer",
                stacklevel=2,
            )
        H = layers[0].hidden_size
        state_type = layers[0].state_type
        for l, c in enumerate(layers):
            if c.hidden_size != H or c.state_type is not state_type:
                raise ValueError(
                    f"all cells must share hidden_size and state structure; cell {l} has "
                    f"hidden_size={c.hidden_size}, cell 0 has {H}"
                )
            if l > 0 and c.input_size != self.num_directions * H:
                raise ValueError(
                    f"cell {l}'s input_size must be {self.num_directions * H} "
                    f"(Dir*H of the layer below), got {c.input_size}"
                )
        cells: list[Cell] = []
        for c in layers:
            cells.append(c)
            if self.bidirectional:
                back = copy.deepcopy(c)
                back.reset_parameters()
                cells.append(back)
        self.cells = nn.ModuleList(cells)  # torch order: index l*Dir + d
        self.input_size = layers[0].input_size
        self.hidden_size = H
        self.state_type = state_type
        self.last_path: str | None = None
        self.last_path_reason: str | None = None
        self._state: State | None = None
        self._mode = fused.stack_mode(cells, self.num_layers, self.num_directions)
        self._fused = (
            None
            if self._mode is None
            else fused.FusedStack(cells, self._mode, self.num_layers, self.bidirectional)
        )

    # -- public helpers ---------------------------------------------------------------------
    @property
    def output_size(self) -> int:
        """Features of the output: Dir*H with concat, else H."""
        concat = self.bidirectional and self.merge_mode == "concat"
        return 2 * self.hidden_size if concat else self.hidden_size

    def reset_state(self) -> None:
        """Forget the state a stateful layer carries (start of a new sequence)."""
        self._state = None

    def initial_state(
        self, batch_size: int, device: torch.device | None = None, dtype: torch.dtype | None = None
    ) -> State:
        """Zero state: h (L*Dir, B, H) or LSTMState of two."""
        if device is None or dtype is None:
            w = next(self.parameters(), None)
            device = device if device is not None or w is None else w.device
            dtype = dtype if dtype is not None or w is None else w.dtype
        shape = (len(self.cells), batch_size, self.hidden_size)
        n = 1 if self.state_type is None else len(self.state_type._fields)
        return _rebuild(
            self.state_type, [torch.zeros(shape, device=device, dtype=dtype) for _ in range(n)]
        )

    def unrolls_steps(self, lengths: bool = False) -> bool:
        """Whether a graph captured from this layer in eval mode (torch.export, torch.onnx,
        torch.jit.trace) unrolls its time loop over the example's T steps, so that the graph
        takes exactly T steps: True on the loop path; False on the fused path, one torch.nn
        module over all steps (whether the exporter then keeps T free is its own affair:
        torch.onnx.export does for LSTM and GRU). ``lengths``: whether the graph takes
        lengths / a mask (with them an LSTM layer that returns or keeps its final state runs
        the loop)."""
        if self._mode is None or self.path == "loop":
            return True
        if self.mc_dropout and self.recurrent_dropout > 0:
            return True
        needs_c = self.state_type is not None and (self.return_state or self.stateful)
        return lengths and needs_c

    def get_config(self) -> dict[str, Any]:
        step = self.num_directions
        return {
            "cell_or_cells": [to_config(c) for c in list(self.cells)[::step]],
            **self._options(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Recurrent:
        cfg = dict(config)
        cells = cfg.pop("cell_or_cells")
        if isinstance(cells, dict):
            cells = [cells]
        return cls([_from_config(c) for c in cells], **cfg)

    def _options(self) -> dict[str, Any]:
        return {
            "bidirectional": self.bidirectional,
            "merge_mode": self.merge_mode,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "stateful": self.stateful,
            "go_backwards": self.go_backwards,
            "dropout": self.dropout,
            "input_dropout": self.input_dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "mc_dropout": self.mc_dropout,
            "path": self.path,
        }

    def extra_repr(self) -> str:
        return (
            f"num_layers={self.num_layers}, bidirectional={self.bidirectional}, "
            f"return_sequences={self.return_sequences}, stateful={self.stateful}, "
            f"path={self.path!r}"
        )

    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        out = super()._apply(fn, recurse)
        if self._fused is not None:
            self._fused.flatten(list(self.cells))
        if self._state is not None:
            self._state = _rebuild(self.state_type, [fn(f) for f in _fields(self._state)])
        return out

    # -- state stacking ---------------------------------------------------------------------
    def _stack(self, per: Sequence[State]) -> State:
        """Per-cell states (B, H) in torch order -> layer state (L*Dir, B, H)."""
        cols = zip(*(_fields(s) for s in per), strict=True)
        return _rebuild(self.state_type, [torch.stack(col) for col in cols])

    def _split(self, state: State) -> list[State]:
        fields = _fields(state)
        return [_rebuild(self.state_type, [f[i] for f in fields]) for i in range(len(self.cells))]

    def _check_state(self, state: State, B: int) -> State:
        LD, H = len(self.cells), self.hidden_size
        want = (LD, B, H)
        shape = f"(L*Dir={LD}, B={B}, H={H})"
        if self.state_type is None:
            if not isinstance(state, Tensor):
                raise TypeError(f"state must be a tensor h of shape {shape}, got {state!r:.80}")
            if tuple(state.shape) != want:
                raise ValueError(f"state must have shape {shape}, got {tuple(state.shape)}")
            return state
        names = self.state_type._fields
        if (
            isinstance(state, Tensor)
            or not isinstance(state, (tuple, list))
            or len(state) != len(names)
        ):
            raise TypeError(
                f"state must be a {self.state_type.__name__}{names} of tensors {shape}, "
                f"got {type(state).__name__}"
            )
        for name, f in zip(names, state, strict=True):
            if not isinstance(f, Tensor) or tuple(f.shape) != want:
                got = tuple(f.shape) if isinstance(f, Tensor) else type(f).__name__
                raise ValueError(f"state.{name} must have shape {shape}, got {got}")
        return self.state_type(*state)

    # -- the forward pass -------------------------------------------------------------------
    def forward(
        self,
        x: Tensor,
        state: State | None = None,
        lengths: Tensor | Sequence[int] | None = None,
        mask: Tensor | None = None,
    ) -> Tensor | tuple[Tensor, State]:
        """x (B, T, D) -> out (see the module doc); ``(out, state)`` if return_state."""
        if not isinstance(x, Tensor):
            raise TypeError(f"x must be a tensor of shape (B, T, D), got {type(x).__name__}")
        if x.dim() != 3 or x.shape[2] != self.input_size or x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(
                f"x must have shape (B, T, D={self.input_size}) with B, T >= 1, "
                f"got {tuple(x.shape)}"
            )
        B, T, _ = x.shape
        lengths_t = resolve_lengths(lengths, mask, B, T)
        if state is not None:
            state = self._check_state(state, B)
        elif self.stateful and self._state is not None:
            held = _fields(self._state)[0].shape[1]
            if held != B:
                raise ValueError(
                    f"stateful layer holds a state for batch size {held}, got x with batch "
                    f"size {B}; call reset_state() first"
                )
            state = self._state
        else:
            state = self.initial_state(B, x.device, x.dtype)

        active = self.training or self.mc_dropout
        if active and self.input_dropout > 0:
            keep = 1.0 - self.input_dropout
            m = torch.bernoulli(x.new_full((B, 1, x.shape[2]), keep)) / keep  # (B, 1, D)
            x = x * m  # (B, T, D), one mask for all steps
        rec_masks = None
        if active and self.recurrent_dropout > 0:
            keep = 1.0 - self.recurrent_dropout
            rec_masks = [
                torch.bernoulli(x.new_full((B, self.hidden_size), keep)) / keep for _ in self.cells
            ]  # (B, H) each
        if self.go_backwards:
            x = reverse_padded(x, lengths_t)  # (B, T, D)

        path = self._choose_path(x, lengths_t, rec_masks is not None)
        if path == "fused":
            fused_stack: Any = self._fused  # not None: _choose_path checked it
            run = fused_stack if lengths_t is None or not exporting() else fused_stack.run_masked
            out_all, final = run(
                list(self.cells), x, state, lengths_t, dropout=self.dropout, train=active
            )  # out_all (B, T, Dir*H); run_masked: final is h alone (see _choose_path)
            H = self.hidden_size
            out_f = out_all[..., :H]
            out_b = out_all[..., H:] if self.bidirectional else None
        else:
            out_f, out_b, final = self._run_stack(x, state, lengths_t, rec_masks, path, active)
        self.__dict__["last_path"] = path  # plain attribute; skips Module.__setattr__

        if self.return_sequences:
            out = out_f if out_b is None else merge(out_f, out_b, self.merge_mode)
        else:
            last = last_valid(out_f, lengths_t)  # (B, H)
            out = last if out_b is None else merge(last, out_b[:, 0], self.merge_mode)
        if self.stateful:
            self._state = _rebuild(self.state_type, [f.detach() for f in _fields(final)])
        if self.return_state:
            return out, final
        return out

    def _choose_path(self, x: Tensor, lengths: Tensor | None, rec_dropout: bool) -> str:
        """The path to run; sets ``last_path_reason`` (why "auto" ended on the loop, or None)."""
        self.__dict__["last_path_reason"] = None
        fused_why = None
        tool = exporting()
        needs_c = self.state_type is not None and (self.return_state or self.stateful)
        if self._mode is None:
            fused_why = "standard SimpleRNN/LSTM/GRU cells of one kind and size"
        elif rec_dropout:
            fused_why = "no active recurrent_dropout"
        elif lengths is not None and tool is not None and needs_c:
            # the unpacked route for captures gives no final c (fused.FusedStack.run_masked)
            fused_why = f"no final LSTM state with lengths/mask while {tool} captures the graph"
        if self.path in ("auto", "fused"):
            if fused_why is None:
                if self.path == "auto" and self._fast_preferred(x, lengths):
                    return "fast"
                return "fused"
            if self.path == "fused":
                raise ValueError(f"path='fused' needs {fused_why}; use path='auto' or 'loop'")
        if self.path in ("auto", "fast"):
            fast_why = self._fast_unavailable(x, lengths, rec_dropout)
            if fast_why is None:
                return "fast"
            if self.path == "fast":
                raise ValueError(f"path='fast' is unavailable: {fast_why}; use 'auto' or 'loop'")
        if self.path == "traced" or (self.path == "auto" and self._user_cells):
            traced_why = self._traced_unavailable(x, rec_dropout)
            if traced_why is None:
                return "traced"
            if self.path == "traced":
                raise ValueError(
                    f"path='traced' is unavailable: {traced_why}; use 'auto' or 'loop'"
                )
            self.__dict__["last_path_reason"] = f"the traced path is unavailable: {traced_why}"
        return "loop"

    def _fast_preferred(self, x: Tensor, lengths: Tensor | None) -> bool:
        """Whether every cell's CPU kernel beats the fused path here (fastpath.preferred) and
        can run for this input."""
        return (all(fastpath.preferred(c) for c in self.cells)
                and self._fast_unavailable(x, lengths, False) is None)

    def _fast_unavailable(self, x: Tensor, lengths: Tensor | None, rec_dropout: bool) -> str | None:
        if rec_dropout:
            return "recurrent_dropout is active"
        B, T, _ = x.shape
        for c in self.cells:
            probe = x if c.input_size == x.shape[2] else x.new_empty(B, T, c.input_size)
            why = fastpath.unavailable(c, probe, lengths)
            if why is not None:
                return why
        return None

    @property
    def _user_cells(self) -> bool:
        """Whether no cell is one of rnnkit's own (those have fused or fast kernels, and the
        layer-normalised ones without Numba keep to the loop, as their notice says)."""
        return not any(isinstance(c, (*STANDARD_CELLS, *LN_CELLS)) for c in self.cells)

    def _traced_unavailable(self, x: Tensor, rec_dropout: bool) -> str | None:
        if rec_dropout:
            return "recurrent_dropout is active"
        B = x.shape[0]
        for c in self.cells:
            probe = x[:, :1] if c.input_size == x.shape[2] else x.new_zeros(B, 1, c.input_size)
            why = traced.unavailable(c, probe)
            if why is not None:
                return why
        return None

    def _run_stack(
        self,
        x: Tensor,
        state: State,
        lengths: Tensor | None,
        rec_masks: list[Tensor] | None,
        path: str,
        active: bool,
    ) -> tuple[Tensor, Tensor | None, State]:
        """Layer by layer, direction by direction (loop or fast path)."""
        states = self._split(state)
        finals: list[State] = []
        valid = None if lengths is None else valid_mask(lengths, x.shape[1], x.device)  # (B, T)
        out_f: Tensor = x
        out_b: Tensor | None = None
        inp = x  # (B, T, D)
        for l in range(self.num_layers):
            if l > 0 and self.dropout > 0:
                inp = F.dropout(inp, self.dropout, training=active)
            outs = []
            for d in range(self.num_directions):
                i = l * self.num_directions + d
                seq = inp if d == 0 else reverse_padded(inp, lengths)
                rm = None if rec_masks is None else rec_masks[i]
                o, s = self._run_one(self.cells[i], seq, states[i], lengths, valid, rm, path)
                outs.append(o if d == 0 else reverse_padded(o, lengths))  # (B, T, H)
                finals.append(s)
            out_f = outs[0]
            out_b = outs[1] if self.bidirectional else None
            inp = torch.cat(outs, dim=-1) if self.bidirectional else out_f  # (B, T, Dir*H)
        return out_f, out_b, self._stack(finals)

    def _run_one(
        self,
        cell: Cell,
        x: Tensor,
        state: State,
        lengths: Tensor | None,
        valid: Tensor | None,
        rec_mask: Tensor | None,
        path: str,
    ) -> tuple[Tensor, State]:
        """One layer, one direction, x (B, T, D) in processing order -> (B, T, H), state."""
        if path == "fast":
            return fastpath.run(cell, x, state, lengths)
        if path == "traced":
            return traced.run(cell, x, state, lengths)
        p = cell.project_input(x)  # (B, T, P)
        outs = []
        # unbind: one backward node for all steps (indexing p[:, t] per step would add a
        # full-size zero gradient per step, a cost growing with T^2)
        for t, p_t in enumerate(p.unbind(1)):  # p_t (B, P)
            s_in = state
            if rec_mask is not None:
                f = _fields(state)
                s_in = _rebuild(cell.state_type, [f[0] * rec_mask, *f[1:]])
            h, new = cell.step(p_t, s_in)  # h (B, H)
            if valid is not None:
                m = valid[:, t].unsqueeze(1)  # (B, 1)
                new = _rebuild(
                    cell.state_type,
                    [
                        torch.where(m, a, b)
                        for a, b in zip(_fields(new), _fields(state), strict=True)
                    ],
                )
                h = torch.where(m, h, torch.zeros_like(h))
            state = new
            outs.append(h)
        return torch.stack(outs, dim=1), state  # (B, T, H)
