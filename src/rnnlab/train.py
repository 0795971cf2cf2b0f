"""A small training loop: minibatches, optional clipping or truncated BPTT, a loss history.
Chapters 2, 4 and 6."""

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


@dataclass(frozen=True)
class _Batch:
    x: np.ndarray
    targets: np.ndarray
    mask: np.ndarray | None
    lengths: np.ndarray | None


def train(model: SequenceModel, x, targets, *, optimizer, steps: int,
          batch_size: int | None = None, mask=None, lengths=None,
          clip_norm: float | None = None, clip_value: float | None = None,
          tbptt_k: int | None = None, seed: int = 0, progress: bool = True,
          stop_on_divergence: bool = True) -> History:
    """Train `model` for `steps` updates and return the History. Chapter 2.

    model:      a SequenceModel (VanillaRNN, LSTM, GRU)
    x:          (N, T, D) inputs, N >= 1
    targets:    (N, …) as ``model.loss`` expects
    optimizer:  an object with ``step(params, grads)``, e.g. ``optim.Adam()``
    steps:      number of updates
    batch_size: sample this many sequences per step (seeded by `seed`); None uses all N
    mask:       (N, T) 0/1 positions that count, as in ``model.loss``
    lengths:    (N,) true lengths for output="last" (not with tbptt_k)
    clip_norm:  Pascanu et al. (2013) Algorithm 1 on the global gradient norm
    clip_value: element-wise clipping (changes the gradient's direction)
    tbptt_k:    use k-step truncated BPTT (many-to-many models only)
    progress:   show a tqdm.auto bar (a widget in notebooks, text in terminals)
    A step whose loss or gradient norm is not finite stops training (recorded in
    ``History.diverged_at``) unless stop_on_divergence is False.
    """
    steps = check_positive_int("steps", steps)
    _check_optimizer(optimizer)
    if clip_norm is not None:
        check_positive("clip_norm", clip_norm)
    if clip_value is not None:
        check_positive("clip_value", clip_value)
    if tbptt_k is not None:
        check_positive_int("tbptt_k", tbptt_k)
        if lengths is not None:
            raise ValueError("lengths cannot be used with tbptt_k: truncated BPTT needs a "
                             "many-to-many model; mark padded steps with mask instead")
    x = model.check_input(x)
    N = x.shape[0]
    targets = np.asarray(targets)
    if targets.ndim == 0 or targets.shape[0] != N:
        raise ValueError(f"targets must have N={N} sequences like x; got shape {targets.shape}")
    if batch_size is not None:
        batch_size = check_positive_int("batch_size", batch_size)
        if batch_size > N:
            raise ValueError(f"batch_size must be at most N={N}; got {batch_size}")
    mask = None if mask is None else np.asarray(mask)
    lengths = None if lengths is None else np.asarray(lengths)
    rng = np.random.default_rng(seed)
    history = History()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc="training", leave=False)
    for step in range(steps):
        idx = slice(None) if batch_size is None else rng.choice(N, batch_size, replace=False)
        batch = _Batch(x[idx], targets[idx], None if mask is None else mask[idx],
                       None if lengths is None else lengths[idx])
        loss = _loss_and_gradients(model, batch, tbptt_k)
        if loss is None:
            history.diverged_at = step  # the forward pass itself overflowed
            break
        status = _record_and_update(model, optimizer, history, step, loss, clip_norm, clip_value)
        if status == "parameters overflowed" or (status == "not finite" and stop_on_divergence):
            break
        if bar is not None:
            bar.update()
            if step % 10 == 0:
                bar.set_postfix(loss=f"{loss:.4f}")
    if bar is not None:
        bar.close()
    return history


def _check_optimizer(optimizer) -> None:
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"optimizer must have a step(params, grads) method, e.g. "
                        f"rnnlab.optim.Adam(); got {optimizer!r}")


def _loss_and_gradients(model: SequenceModel, batch: _Batch, tbptt_k: int | None
                        ) -> float | None:
    """The batch's loss, with model.grads filled; None if the forward pass overflowed."""
    try:
        # Overflow in a diverging network is expected here: History.diverged_at records it.
        with np.errstate(over="ignore", invalid="ignore"):
            if tbptt_k is not None:
                return truncated_bptt(model, batch.x, batch.targets, tbptt_k, mask=batch.mask)[0]
            return model.loss(batch.x, batch.targets, mask=batch.mask, lengths=batch.lengths)
    except DivergenceError:
        return None


def _record_and_update(model: SequenceModel, optimizer, history: History, step: int,
                       loss: float, clip_norm: float | None, clip_value: float | None) -> str:
    """Record the step, clip and update. Returns "ok", "not finite" (loss or gradient; no
    update made) or "parameters overflowed" (by the update)."""
    norm = global_norm(model.grads)
    history.loss.append(float(loss))
    history.grad_norm.append(norm)
    if not (np.isfinite(loss) and np.isfinite(norm)):
        history.clipped.append(False)
        if history.diverged_at is None:
            history.diverged_at = step
        return "not finite"
    clipped = False
    if clip_norm is not None:
        clipped = clip_grad_norm(model.grads, clip_norm) > clip_norm
    if clip_value is not None:
        clip_grad_value(model.grads, clip_value)
    history.clipped.append(clipped)
    with np.errstate(over="ignore", invalid="ignore"):
        optimizer.step(model.params, model.grads)
    if not all(np.all(np.isfinite(p)) for p in model.params.values()):
        history.diverged_at = step  # the update itself overflowed the parameters
        return "parameters overflowed"
    return "ok"
