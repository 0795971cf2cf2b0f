"""A small training loop: minibatches, optional clipping or truncated BPTT, a loss history."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnnlab.models import DivergenceError, SequenceModel
from rnnlab.optim import clip_grad_norm, clip_grad_value, global_norm
from rnnlab.tbptt import truncated_bptt
from rnnlab.validation import check_positive, check_positive_int


@dataclass
class History:
    """What happened during training, one entry per update."""

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)  # global norm before any clipping
    clipped: list[bool] = field(default_factory=list)
    diverged_at: int | None = None  # first step whose loss or gradient was not finite

    def as_arrays(self) -> dict[str, np.ndarray]:
        return {"loss": np.array(self.loss), "grad_norm": np.array(self.grad_norm)}


def train(model: SequenceModel, x, targets, *, optimizer, steps: int,
          batch_size: int | None = None, mask=None, lengths=None,
          clip_norm: float | None = None, clip_value: float | None = None,
          tbptt_k: int | None = None, seed: int = 0, progress: bool = True,
          stop_on_divergence: bool = True) -> History:
    """Train `model` for `steps` updates and return the History.

    x: (N, T, D); targets as ``model.loss`` expects; mask (N, T) and lengths (N,) as there.
    batch_size: sample this many sequences per step (seeded by `seed`); None uses all N.
    clip_norm: Pascanu et al. (2013) Algorithm 1 on the global gradient norm.
    clip_value: element-wise clipping (changes the gradient's direction).
    tbptt_k: use k-step truncated BPTT (many-to-many models only).
    progress: show a tqdm.auto bar (a widget in notebooks, text in terminals).
    A step whose loss or gradient norm is not finite stops training (recorded in
    ``History.diverged_at``) unless stop_on_divergence is False.
    """
    steps = check_positive_int("steps", steps)
    if clip_norm is not None:
        check_positive("clip_norm", clip_norm)
    if clip_value is not None:
        check_positive("clip_value", clip_value)
    x = model._check_x(x)
    N = x.shape[0]
    targets = np.asarray(targets)
    if targets.shape[0] != N:
        raise ValueError(f"targets must have N={N} sequences like x; got {targets.shape[0]}")
    if batch_size is not None:
        batch_size = check_positive_int("batch_size", batch_size)
        if batch_size > N:
            raise ValueError(f"batch_size must be at most N={N}; got {batch_size}")
    rng = np.random.default_rng(seed)
    history = History()
    iterator = range(steps)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(iterator, desc="training", leave=False)
        iterator = bar
    for step in iterator:
        idx = slice(None) if batch_size is None else rng.choice(N, batch_size, replace=False)
        xb, tb = x[idx], targets[idx]
        mb = None if mask is None else np.asarray(mask)[idx]
        lb = None if lengths is None else np.asarray(lengths)[idx]
        try:
            with np.errstate(all="ignore"):
                if tbptt_k is not None:
                    loss = truncated_bptt(model, xb, tb, tbptt_k, mask=mb)[0]
                else:
                    loss = model.loss(xb, tb, mask=mb, lengths=lb)
        except DivergenceError:
            history.diverged_at = step  # the forward pass itself overflowed
            break
        norm = global_norm(model.grads)
        history.loss.append(float(loss))
        history.grad_norm.append(norm)
        if not (np.isfinite(loss) and np.isfinite(norm)):
            history.clipped.append(False)
            if history.diverged_at is None:
                history.diverged_at = step
            if stop_on_divergence:
                break
            continue
        clipped = False
        if clip_norm is not None:
            clipped = clip_grad_norm(model.grads, clip_norm) > clip_norm
        if clip_value is not None:
            clip_grad_value(model.grads, clip_value)
        history.clipped.append(clipped)
        with np.errstate(all="ignore"):
            optimizer.step(model.params, model.grads)
        if not all(np.all(np.isfinite(p)) for p in model.params.values()):
            history.diverged_at = step  # the update itself overflowed the parameters
            break
        if bar is not None and step % 10 == 0:
            bar.set_postfix(loss=f"{loss:.4f}")
    if bar is not None:
        bar.close()
    return history
