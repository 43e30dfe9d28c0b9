r"""Encoder-decoder (seq2seq) network: LSTM/GRU encoder and decoder, options as in DLS2 ch. 7-8.

Encoder: source ids (B, S) -> Embedding (B, S, E) -> RNN x L -> outputs (B, S, H), final state.
Decoder (teacher forcing): target input ``<s> y1 .. yn`` (B, T) -> Embedding (B, T, E)
[concatenated with the encoder summary h_enc (B, H) at every step if ``peeky``] -> RNN x L
started from the encoder's final state -> h_t (B, T, H) -> [with attention: context
c_t = sum_s a_ts e_s] -> Linear([h_t; c_t; h_enc]) -> logits (B, T, V) for ``y1 .. yn </s>``.

Options:
- ``reverse_source``: read each source backwards inside its length (Sutskever et al. 2014).
- ``peeky``: give h_enc to every decoder step and to the output layer (DLS2's PeekySeq2seq).
- ``attention``: ``None``, ``"dot"`` or ``"additive"``; :meth:`decode` returns the weights.

Decoding: :meth:`greedy` (batched) and :meth:`beam_search` (one source, ``beam_size``
hypotheses; with ``beam_size=1`` it returns exactly the greedy output).

The class is registered (:func:`rnnkit.nn.config.register`; ``get_config()`` returns the
constructor arguments), so :func:`rnnkit.train.saving.save_model` saves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.nn import GRU, LSTM, Dense, Embedding
from rnnkit.nn.config import register
from rnnkit.nn.masking import reverse_padded
from rnnkit.tasks.seq2seq.attention import Attention

CELLS = {"lstm": LSTM, "gru": GRU}


@dataclass
class Memory:
    """What the decoder reads from the encoder."""

    keys: Tensor  # (B, S, H) encoder outputs (zero at padded steps)
    mask: Tensor  # (B, S) bool, True at valid source steps
    summary: Tensor  # (B, H) top-layer final hidden state h_enc


def _h(state: Any) -> Tensor:
    return state[0] if isinstance(state, tuple) else state  # (L, B, H)


def _select(state: Any, index: Tensor) -> Any:
    """Pick batch rows ``index`` of a state (L, B, H) or a NamedTuple of them."""
    if isinstance(state, tuple):
        return type(state)(*(f.index_select(1, index) for f in state))
    return state.index_select(1, index)


@register
class Seq2Seq(nn.Module):
    """``logits = model(src (B, S), src_lengths (B,), tgt_in (B, T))`` -> (B, T, V)."""

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, embed_size: int = 32,
                 hidden_size: int = 128, cell: str = "lstm", num_layers: int = 1,
                 attention: str | None = None, peeky: bool = False,
                 reverse_source: bool = False, dropout: float = 0.0, pad_id: int = 0):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {tuple(CELLS)}, got {cell!r}")
        for name, v in (("src_vocab_size", src_vocab_size), ("tgt_vocab_size", tgt_vocab_size),
                        ("embed_size", embed_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        self.config = {"src_vocab_size": src_vocab_size, "tgt_vocab_size": tgt_vocab_size,
                       "embed_size": embed_size, "hidden_size": hidden_size, "cell": cell,
                       "num_layers": num_layers, "attention": attention, "peeky": peeky,
                       "reverse_source": reverse_source, "dropout": dropout, "pad_id": pad_id}
        E, H = embed_size, hidden_size
        self.peeky, self.reverse_source = peeky, reverse_source
        Layer = CELLS[cell]
        drop = dropout if num_layers > 1 else 0.0
        self.src_embed = Embedding(src_vocab_size, E, padding_idx=pad_id)
        self.tgt_embed = Embedding(tgt_vocab_size, E, padding_idx=pad_id)
        self.encoder = Layer(E, H, num_layers, return_sequences=True, return_state=True,
                             dropout=drop)
        self.decoder = Layer(E + (H if peeky else 0), H, num_layers, return_sequences=True,
                             return_state=True, dropout=drop)
        self.attention = None if attention is None else Attention(H, attention)
        self.drop = nn.Dropout(dropout)
        out_in = H * (1 + (attention is not None) + peeky)
        self.out = Dense(out_in, tgt_vocab_size)

    def get_config(self) -> dict[str, Any]:
        return dict(self.config)

    # -- encoder / decoder --------------------------------------------------------------------
    def encode(self, src: Tensor, src_lengths: Tensor | None = None) -> tuple[Memory, Any]:
        """src (B, S) int64 -> (Memory, decoder initial state (L, B, H) / LSTMState)."""
        B, S = src.shape
        if src_lengths is None:
            src_lengths = torch.full((B,), S, dtype=torch.int64)
        lengths = src_lengths.to("cpu")
        if self.reverse_source:
            src = reverse_padded(src, lengths)  # (B, S)
        emb = self.drop(self.src_embed(src))  # (B, S, E)
        keys, state = self.encoder(emb, lengths=lengths)  # (B, S, H)
        mask = torch.arange(S, device=src.device)[None, :] < lengths.to(src.device)[:, None]
        return Memory(keys, mask, _h(state)[-1]), state  # mask (B, S), summary (B, H)

    def decode(self, tgt_in: Tensor, memory: Memory, state: Any
               ) -> tuple[Tensor, Any, Tensor | None]:
        """tgt_in (B, T) -> logits (B, T, V), new state, attention weights (B, T, S) or None."""
        B, T = tgt_in.shape
        x = self.drop(self.tgt_embed(tgt_in))  # (B, T, E)
        peek = memory.summary.unsqueeze(1).expand(B, T, -1)  # (B, T, H)
        if self.peeky:
            x = torch.cat([x, peek], dim=-1)  # (B, T, E + H)
        h, state = self.decoder(x, state=state)  # (B, T, H)
        feats = [h]
        weights = None
        if self.attention is not None:
            ctx, weights = self.attention(h, memory.keys, memory.mask)  # (B, T, H), (B, T, S)
            feats.append(ctx)
        if self.peeky:
            feats.append(peek)
        logits = self.out(self.drop(torch.cat(feats, dim=-1)))  # (B, T, V)
        return logits, state, weights

    def forward(self, src: Tensor, src_lengths: Tensor | None, tgt_in: Tensor) -> Tensor:
        memory, state = self.encode(src, src_lengths)
        logits, _, _ = self.decode(tgt_in, memory, state)
        return logits  # (B, T, V)

    # -- decoding -----------------------------------------------------------------------------
    @torch.no_grad()
    def greedy(self, src: Tensor, src_lengths: Tensor | None, bos_id: int, eos_id: int,
               max_len: int) -> tuple[Tensor, Tensor | None]:
        """Arg-max decoding: ids (B, T') (``</s>`` included where produced; then padding with
        ``</s>``) and attention weights (B, T', S) or None."""
        memory, state = self.encode(src, src_lengths)
        B = src.shape[0]
        y = torch.full((B, 1), bos_id, dtype=torch.int64, device=src.device)  # (B, 1)
        done = torch.zeros(B, dtype=torch.bool, device=src.device)
        out, ws = [], []
        for _ in range(max_len):
            logits, state, w = self.decode(y, memory, state)  # (B, 1, V)
            nxt = logits[:, -1].argmax(-1)  # (B,)
            nxt = torch.where(done, torch.full_like(nxt, eos_id), nxt)
            out.append(nxt)
            if w is not None:
                ws.append(w[:, -1])  # (B, S)
            done |= nxt == eos_id
            y = nxt.unsqueeze(1)
            if bool(done.all()):
                break
        ids = torch.stack(out, dim=1)  # (B, T')
        return ids, (torch.stack(ws, dim=1) if ws else None)

    @torch.no_grad()
    def beam_search(self, src: Tensor, src_lengths: Tensor | None, bos_id: int, eos_id: int,
                    max_len: int, beam_size: int = 4, length_penalty: float = 0.0
                    ) -> tuple[list[int], float]:
        """Best hypothesis for ONE source (1, S): token ids (ending in ``</s>`` when it was
        produced) and its score sum(log p) / len**length_penalty."""
        if src.shape[0] != 1:
            raise ValueError(f"beam_search decodes one source, got a batch of {src.shape[0]}")
        if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
            raise ValueError(f"beam_size must be a positive int, got {beam_size!r}")
        k = beam_size
        memory, state = self.encode(src, src_lengths)
        rep = torch.zeros(k, dtype=torch.int64, device=src.device)
        memory = Memory(memory.keys[rep], memory.mask[rep], memory.summary[rep])
        state = _select(state, rep)
        scores = torch.full((k,), float("-inf"), device=src.device)
        scores[0] = 0.0  # all beams start identical: only the first one is live
        seqs: list[list[int]] = [[] for _ in range(k)]
        y = torch.full((k, 1), bos_id, dtype=torch.int64, device=src.device)
        finished: list[tuple[float, list[int]]] = []

        def norm(score: float, n: int) -> float:
            return score / (n ** length_penalty) if length_penalty else score

        for t in range(max_len):
            logits, state, _ = self.decode(y, memory, state)
            logp = torch.log_softmax(logits[:, -1], dim=-1)  # (k, V)
            V = logp.shape[1]
            cand = (scores[:, None] + logp).view(-1)  # (k * V,)
            top_s, top_i = cand.topk(min(2 * k, cand.numel()))
            keep_beam, keep_tok, keep_s = [], [], []
            for s, i in zip(top_s.tolist(), top_i.tolist(), strict=True):
                if s == float("-inf"):
                    break
                b, tok = divmod(i, V)
                if tok == eos_id:
                    finished.append((norm(s, t + 1), [*seqs[b], tok]))
                else:
                    keep_beam.append(b)
                    keep_tok.append(tok)
                    keep_s.append(s)
                if len(keep_beam) == k:
                    break
            best_done = max((f[0] for f in finished), default=float("-inf"))
            if not keep_beam or (length_penalty == 0 and best_done >= keep_s[0]):
                break  # live scores only fall from here
            n = len(keep_beam)
            idx = torch.tensor(keep_beam + [keep_beam[0]] * (k - n), device=src.device)
            seqs = [[*seqs[b], tok] for b, tok in zip(keep_beam, keep_tok, strict=True)]
            seqs += [list(seqs[0]) for _ in range(k - n)]
            scores = torch.tensor(keep_s + [float("-inf")] * (k - n), device=src.device)
            state = _select(state, idx)
            y = torch.tensor(keep_tok + [keep_tok[0]] * (k - n), device=src.device)[:, None]
        else:
            for b in range(k):
                if scores[b] > float("-inf"):
                    finished.append((norm(float(scores[b]), max_len), seqs[b]))
        if not finished:  # stopped with no live beam and nothing finished (not reachable)
            return seqs[0], float(scores[0])
        best = max(finished, key=lambda f: f[0])
        return best[1], best[0]


__all__ = ["CELLS", "Memory", "Seq2Seq"]
