"""An encoder–decoder with (or without) attention over symbol sequences. Chapter 6 ("Seq2seq
with attention").

    encoder:   h_1 … h_S = GRU_enc(E_src[x_1 … x_S])               (models.Encoder)
    decoder:   s_0 = h_S,  s_t = GRU_dec(E_tgt[y_{t−1}], s_{t−1})   (teacher forcing in training)
    attention: c_t = Σ_j α_tj h_j,  α_t = softmax_j(score(s_t, h_j)) over the real source steps
    output:    s̃_t = tanh([c_t; s_t] Wc + bc),  p(y_t | y_<t, x) = softmax(s̃_t Wy + by)

This is the "global attention" of Luong, Pham & Manning (2015) with the decoder state s_t as the
query, scored by the scaled dot product or by Bahdanau et al.'s (2015) additive score. Without
attention the output layer sees s_t alone, s̃_t = tanh(s_t Wc + bc): the whole source reaches the
decoder only through s_0 = h_S, the fixed-size vector.

Because the attention output is not fed back into the decoder's input (Luong's "input feeding"),
the decoder states of a whole target sequence are one ``layers.gru_forward`` call, and the
backward pass is the chain of the layers' backward functions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnlab import init, layers
from rnnlab.embedding import check_indices
from rnnlab.encoder import Encoder
from rnnlab.validation import check_positive_int

ATTENTION = (None, "dot", "additive")


class _Forward(NamedTuple):
    src_emb: object
    enc_out: np.ndarray
    dec_emb: object
    dec: object
    att: object
    comb_in: np.ndarray
    comb: np.ndarray
    out: object
    src_mask: np.ndarray | None


class Seq2Seq:
    """GRU encoder–decoder with learned embeddings and optional attention. Chapter 6.

    vocab_size: V, symbols of source and target (the special symbols included)
    embed_dim:  E, the size of each symbol's embedding (separate tables for source and target)
    hidden_dim: H, the size of the encoder and decoder states
    attention:  None (the fixed-vector baseline), "dot" (scaled dot product) or "additive"
    seed:       seeds the initial weights

    ``params`` and ``grads`` are dicts with the same keys, for ``rnnlab.optim``.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, *,
                 attention: str | None = "dot", seed: int = 0) -> None:
        if attention not in ATTENTION:
            raise ValueError(f"attention must be one of {ATTENTION}; got {attention!r}")
        V = self.V = check_positive_int("vocab_size", vocab_size)
        E = check_positive_int("embed_dim", embed_dim)
        H = self.H = check_positive_int("hidden_dim", hidden_dim)
        self.attention = attention
        rng = np.random.default_rng(seed)
        self.encoder = Encoder("gru", E, H, seed=int(rng.integers(2**31)))
        comb_in = 2 * H if attention else H
        self.params = {
            "E_src": 0.3 * rng.standard_normal((V, E)),
            "E_tgt": 0.3 * rng.standard_normal((V, E)),
            "dec_Wx": init.xavier_uniform((E, 3 * H), rng),
            "dec_Wh": np.concatenate([init.orthogonal((H, H), rng) for _ in range(3)], axis=1),
            "dec_bx": np.zeros(3 * H),
            "dec_bh": np.zeros(3 * H),
            "Wc": init.xavier_uniform((comb_in, H), rng),
            "bc": np.zeros(H),
            "Wy": init.xavier_uniform((H, V), rng),
            "by": np.zeros(V),
        }
        if attention == "additive":
            self.params["att_Wq"] = init.xavier_uniform((H, H), rng)
            self.params["att_Wk"] = init.xavier_uniform((H, H), rng)
            self.params["att_w"] = rng.uniform(-1, 1, H) / np.sqrt(H)
        # the encoder's arrays are shared, not copied: an optimiser step updates both
        self.params.update({f"enc_{k}": v for k, v in self.encoder.params.items()})
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    @property
    def num_params(self) -> int:
        """Number of scalar parameters."""
        return int(sum(p.size for p in self.params.values()))

    # -- the pieces ----------------------------------------------------------------------------
    def _encode(self, src, src_lengths):
        src = check_indices("src", src, self.V)
        src_emb = layers.embedding_forward(src, self.params["E_src"])
        enc_out, h_n = self.encoder.forward(src_emb[0], src_lengths)
        mask = None
        if src_lengths is not None:  # (N, 1, S): every query may attend to the real steps only
            mask = (np.arange(src.shape[1])[None, :] < np.asarray(src_lengths)[:, None])[:, None]
        return src_emb, enc_out, h_n[-1], mask

    def _attend(self, s, enc_out, mask):
        """Context vectors c: (N, T, H) for the decoder states s: (N, T, H), and the cache."""
        if self.attention == "dot":
            return layers.dot_product_attention_forward(s, enc_out, enc_out, mask)
        p = self.params
        return layers.additive_attention_forward(s, enc_out, enc_out, p["att_Wq"], p["att_Wk"],
                                                 p["att_w"], mask)

    def _output(self, s, c):
        """Logits (N, T, V) from decoder states and contexts; returns them and the caches."""
        comb_in = s if c is None else np.concatenate([c, s], axis=2)
        comb = np.tanh(comb_in @ self.params["Wc"] + self.params["bc"])
        logits, out_cache = layers.temporal_affine_forward(comb, self.params["Wy"],
                                                           self.params["by"])
        return logits, comb_in, comb, out_cache

    def _forward(self, src, dec_in, src_lengths=None):
        p = self.params
        src = check_indices("src", src, self.V)
        src_emb, enc_out, h0, mask = self._encode(src, src_lengths)
        dec_in = check_indices("dec_in", dec_in, self.V)
        if dec_in.shape[0] != src.shape[0]:
            raise ValueError(f"dec_in must have one row per source string (N={src.shape[0]}); "
                             f"got shape {dec_in.shape}")
        dec_emb = layers.embedding_forward(dec_in, p["E_tgt"])
        s, dec = layers.gru_forward(dec_emb[0], h0, p["dec_Wx"], p["dec_Wh"], p["dec_bx"],
                                    p["dec_bh"])
        c, att = self._attend(s, enc_out, mask) if self.attention else (None, None)
        logits, comb_in, comb, out = self._output(s, c)
        return logits, _Forward(src_emb[1], enc_out, dec_emb[1], dec, att, comb_in, comb, out,
                                mask)

    # -- public API ----------------------------------------------------------------------------
    def loss(self, src, dec_in, tgt, src_lengths=None, tgt_mask=None) -> float:
        """Teacher-forced cross-entropy per target symbol; fills ``self.grads``. Chapter 6.

        src:         (N, S) source symbols
        dec_in:      (N, T) decoder inputs: the start symbol, then the target shifted by one
        tgt:         (N, T) target symbols
        src_lengths: (N,) real source lengths (padding after them), or None
        tgt_mask:    (N, T) 0/1, the target positions that count, or None (all)
        """
        logits, f = self._forward(src, dec_in, src_lengths)
        value, dlogits = layers.softmax_cross_entropy(logits, tgt, tgt_mask)
        p, H = self.params, self.H
        dcomb, dWy, dby = layers.temporal_affine_backward(dlogits, f.out)
        dpre = dcomb * (1 - f.comb * f.comb)  # through tanh
        N, T, _ = dpre.shape
        dWc = f.comb_in.reshape(N * T, -1).T @ dpre.reshape(N * T, H)
        dcomb_in = dpre @ p["Wc"].T
        denc_out = np.zeros_like(f.enc_out)
        grads: dict[str, np.ndarray] = {}
        if self.attention:
            dc, ds = dcomb_in[..., :H], dcomb_in[..., H:].copy()
            if self.attention == "dot":
                dq, dk, dv = layers.dot_product_attention_backward(dc, f.att)
            else:
                dq, dk, dv, dWq, dWk, dw = layers.additive_attention_backward(dc, f.att)
                grads.update(att_Wq=dWq, att_Wk=dWk, att_w=dw)
            ds += dq  # the decoder state is the query
            denc_out += dk + dv  # the encoder states are keys and values
        else:
            ds = dcomb_in
        ddec_emb, dh0, dWx, dWh, dbx, dbh = layers.gru_backward(ds, f.dec)
        dh_n = np.zeros((1, N, H))
        dh_n[0] = dh0  # s_0 = h_S: the fixed-vector path from decoder to encoder
        dsrc_emb = self.encoder.backward(denc_out, dh_n)
        grads.update(E_src=layers.embedding_backward(dsrc_emb, f.src_emb),
                     E_tgt=layers.embedding_backward(ddec_emb, f.dec_emb),
                     dec_Wx=dWx, dec_Wh=dWh, dec_bx=dbx, dec_bh=dbh, Wc=dWc,
                     bc=dpre.sum(axis=(0, 1)), Wy=dWy, by=dby,
                     **{f"enc_{k}": v for k, v in self.encoder.grads.items()})
        self.grads = {k: grads[k] for k in self.params}
        return value

    def attention_weights(self, src, dec_in, src_lengths=None) -> np.ndarray:
        """α: (N, T, S), the weight of each source step for each output step (teacher-forced
        on dec_in; feeding a greedy output back in gives the weights the decoding used)."""
        if not self.attention:
            raise ValueError("this model has no attention (attention=None)")
        _, f = self._forward(src, dec_in, src_lengths)
        return f.att.weights.copy()

    def start_state(self, src, src_lengths=None):
        """The decoding state for ``rnnlab.decoding``: (s_0, encoder outputs, source mask).

        src: (N, S) source symbols; src_lengths: (N,) real lengths or None
        """
        src = check_indices("src", src, self.V)
        _, enc_out, h0, mask = self._encode(src, src_lengths)
        if mask is None:
            mask = np.ones((src.shape[0], 1, src.shape[1]), dtype=bool)
        return h0, enc_out, mask

    def decode_step(self, tokens, state):
        """One decoder step for ``rnnlab.decoding``: (B,) previous symbols and the state ->
        (B, V) log-probabilities of the next symbol and the new state."""
        s, enc_out, mask = state
        p = self.params
        x = p["E_tgt"][tokens]
        s, _ = layers.gru_step_forward(x, s, p["dec_Wx"], p["dec_Wh"], p["dec_bx"], p["dec_bh"])
        c = self._attend(s[:, None], enc_out, mask)[0] if self.attention else None
        logits = self._output(s[:, None], c)[0][:, 0]
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return log_probs, (s, enc_out, mask)
