"""String reversal with a GRU encoder-decoder (chapter 6, "Sequence to sequence") over seeds.

The model, data and training are those of `chapters/06_applications/seq2seq.ipynb`, which derives
them step by step and re-runs seed 0 live against the numbers stored here: two GRUs (H = 48)
built from `rnnlab.layers`, teacher forcing, Adam (learning rate 0.01), gradient norm clipped at
5, 600 updates of 64 strings of one random length from 3 to 8 each. The held-out strings (150
per length, drawn once with their own generator, fewer for length 3 after removing duplicates)
never occur in a training batch; they are decoded greedily and scored once, at the end.

A seed sets the initial weights and the stream of training strings. The settings are the
notebook's, fixed before these seeds were run; nothing is tuned on the held-out strings.

Usage (from the repository root):

    python experiments/seq2seq_seeds.py           # 8 seeds (~4 min on a quiet core)
    python experiments/seq2seq_seeds.py --quick   # a small setting, a few seconds

Results (small JSON) go to experiments/results/seq2seq_seeds.json, or to --out. The full run
also stores the quick setting's result under "quick", produced by the same code path, so that
``tests/test_experiments.py`` can re-run it and compare.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

if __name__ == "__main__":
    # One BLAS thread (see experiments/adding_sweep.py); must be set before NumPy loads BLAS.
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from _common import results_parser, write_results  # noqa: E402

import rnnlab  # noqa: E402
from rnnlab import init, layers, optim  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "seq2seq_seeds.json"

LETTERS = "abcdefgh"
START, END = 0, 1                  # indices of <s> and </s>; letters are 2 ... 9
V = len(LETTERS) + 2
ONEHOT = np.eye(V)
LENGTHS = range(3, 9)
SETTINGS = dict(H=48, lr=0.01, clip_norm=5.0, steps=600, batch=64, heldout_per_length=150,
                heldout_seed=123)
FULL = dict(seeds=list(range(8)), H=48, steps=600)
QUICK = dict(seeds=[0], H=8, steps=30)


def heldout_strings() -> dict[int, np.ndarray]:
    rng = np.random.default_rng(SETTINGS["heldout_seed"])
    return {L: np.unique(rng.integers(2, V, size=(SETTINGS["heldout_per_length"], L)), axis=0)
            for L in LENGTHS}


HELDOUT = heldout_strings()
HELDOUT_SET = {tuple(row) for rows in HELDOUT.values() for row in rows}


def to_text(ids) -> str:
    out = []
    for i in ids:
        if i == END:
            break
        out.append(LETTERS[i - 2] if i >= 2 else "<s>")
    return "".join(out)


def make_batch(rng, n: int, L: int):
    """n training strings of length L (none held out), reversed targets, teacher-forced inputs."""
    src = rng.integers(2, V, size=(2 * n, L))
    src = src[[tuple(row) not in HELDOUT_SET for row in src]][:n]
    tgt = np.c_[src[:, ::-1], np.full(len(src), END)]
    dec_in = np.c_[np.full(len(src), START), tgt[:, :-1]]
    return src, dec_in, tgt


def init_params(H: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    P = {}
    for part in ("enc", "dec"):
        P[f"{part}_Wx"] = init.xavier_uniform((V, 3 * H), rng)
        P[f"{part}_Wh"] = np.concatenate([init.orthogonal((H, H), rng) for _ in range(3)], axis=1)
        P[f"{part}_bx"] = np.zeros(3 * H)
        P[f"{part}_bh"] = np.zeros(3 * H)
    P["Wy"] = init.xavier_uniform((H, V), rng)
    P["by"] = np.zeros(V)
    return P


def gru(part: str, x, h0, P):
    return layers.gru_forward(x, h0, P[f"{part}_Wx"], P[f"{part}_Wh"], P[f"{part}_bx"],
                              P[f"{part}_bh"])


def seq2seq_loss(P, src, dec_in, tgt):
    """Loss and gradients of the encoder-decoder (the notebook derives this function)."""
    N, H = src.shape[0], P["enc_Wh"].shape[0]
    h_enc, enc_cache = gru("enc", ONEHOT[src], np.zeros((N, H)), P)
    h_dec, dec_cache = gru("dec", ONEHOT[dec_in], h_enc[:, -1], P)
    logits, out_cache = layers.temporal_affine_forward(h_dec, P["Wy"], P["by"])
    loss, dlogits = layers.softmax_cross_entropy(logits, tgt)
    dh_dec, dWy, dby = layers.temporal_affine_backward(dlogits, out_cache)
    _, dc, *dec_grads = layers.gru_backward(dh_dec, dec_cache)
    dh_enc = np.zeros_like(h_enc)
    dh_enc[:, -1] = dc
    _, _, *enc_grads = layers.gru_backward(dh_enc, enc_cache)
    grads = {"Wy": dWy, "by": dby}
    for part, g in (("enc", enc_grads), ("dec", dec_grads)):
        grads.update(zip((f"{part}_Wx", f"{part}_Wh", f"{part}_bx", f"{part}_bh"), g))
    return loss, grads


def greedy_decode(P, src, max_len: int):
    N = len(src)
    h_enc, _ = gru("enc", ONEHOT[src], np.zeros((N, P["enc_Wh"].shape[0])), P)
    h, token, out = h_enc[:, -1], np.full(N, START), []
    for _ in range(max_len):
        h, _ = layers.gru_step_forward(ONEHOT[token], h, P["dec_Wx"], P["dec_Wh"],
                                       P["dec_bx"], P["dec_bh"])
        token = (h @ P["Wy"] + P["by"]).argmax(axis=1)
        out.append(token)
    return np.stack(out, axis=1)


def train_seed(seed: int, H: int, steps: int):
    """Train one model; returns the parameters, the losses and the batch lengths."""
    P = init_params(H, seed)
    opt = optim.Adam(lr=SETTINGS["lr"])
    rng = np.random.default_rng(seed)       # draws the lengths and the training strings
    losses, batch_lengths = [], []
    for _ in range(steps):
        L = int(rng.integers(3, 9))
        loss, grads = seq2seq_loss(P, *make_batch(rng, SETTINGS["batch"], L))
        optim.clip_grad_norm(grads, SETTINGS["clip_norm"])
        opt.step(P, grads)
        losses.append(float(loss))
        batch_lengths.append(L)
    return P, losses, batch_lengths


def evaluate(P) -> dict:
    """Exact match and per-character accuracy per length, accuracy per output position."""
    exact, per_char, per_position = {}, {}, {}
    for L, src in HELDOUT.items():
        decoded = [to_text(row) for row in greedy_decode(P, src, L + 3)]
        wanted = [to_text(row[::-1]) for row in src]
        exact[L] = float(np.mean([d == w for d, w in zip(decoded, wanted)]))
        hits = np.array([[i < len(d) and d[i] == w[i] for i in range(L)]
                         for d, w in zip(decoded, wanted)])
        per_char[L] = float(hits.mean())
        per_position[L] = [float(v) for v in hits.mean(axis=0)]
    return {"exact": exact, "per_char": per_char, "per_position": per_position}


def run(seeds, H: int, steps: int) -> list[dict]:
    out = []
    for seed in seeds:
        P, losses, batch_lengths = train_seed(seed, H, steps)
        out.append({"seed": seed, "H": H, "steps": steps,
                    "num_params": int(sum(p.size for p in P.values())),
                    "losses": losses, "batch_lengths": batch_lengths, **evaluate(P)})
    return out


def _meta() -> dict:
    return {"rnnlab_version": rnnlab.__version__, "numpy_version": np.__version__,
            "python": platform.python_version(), "settings": SETTINGS, "full": FULL,
            "quick_setting": QUICK, "heldout_sizes": {L: len(v) for L, v in HELDOUT.items()},
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}


def main(argv=None) -> None:
    parser = results_parser(__doc__)
    args = parser.parse_args(argv)
    out = args.out or (RESULTS.with_name("seq2seq_seeds_quick.json") if args.quick else RESULTS)
    start = time.perf_counter()
    result = {"meta": _meta(), "quick": run(**QUICK)}
    if not args.quick:
        result["results"] = []
        for seed in FULL["seeds"]:
            t0 = time.perf_counter()
            r = run([seed], FULL["H"], FULL["steps"])[0]
            result["results"].append(r)
            print(f"seed {seed}: exact match at length 8 {r['exact'][8]:.3f} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
    write_results(result, out, start)


if __name__ == "__main__":
    main()
