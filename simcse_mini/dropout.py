"""Control over how the encoder's dropout masks are drawn (``dropout_mask``).

PyTorch's dropout samples every element independently, so in SimCSE's stacked forward pass of
2B rows each example, and each of its two views, has its own mask. That is ``independent`` (the
default, which leaves the encoder untouched). For experiments, every dropout of the encoder (the
embedding, attention-probability and hidden-state dropouts) can instead draw:

- ``shared_across_batch``: one mask per view, shared by every example of the batch (the two views
  still differ): "one mask per minibatch";
- ``shared_across_views``: a mask per example, the same for both of its views (no positive-pair
  noise: the paper's "fixed 0.1");
- ``off``: no dropout at all.

Installing the control swaps each ``nn.Dropout`` of the encoder for a ``MaskedDropout`` that asks a
shared ``MaskControl`` for its mask, and routes attention through an eager implementation whose
attention-probability dropout is one of those modules. The control can also record the masks it
draws and replay them (the tests use this to show that one backward pass over the batch is exact).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn
from transformers import AttentionInterface
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, eager_mask

from .config import DROPOUT_MASK_MODES

ATTENTION_NAME = "simcse_masked_dropout"


class MaskControl:
    """Draws keep-masks (0 or 1/(1-p)) for rows laid out view-major: row v*B + i is view v of example i."""

    def __init__(self, mode: str):
        if mode not in DROPOUT_MASK_MODES:
            raise ValueError(f"unknown dropout_mask {mode!r}; choose one of {', '.join(DROPOUT_MASK_MODES)}")
        self.mode = mode
        self.layout: tuple[int, int] | None = None  # (views, batch) during a SimCSE training pass
        self.recorded: list[torch.Tensor] | None = None
        self._replay: list[torch.Tensor] | None = None
        self._replay_rows: slice | None = None

    @contextmanager
    def views(self, num_views: int, batch_size: int):
        """Within this block, rows are V views of B examples (outside it, every row is its own)."""
        self.layout = (num_views, batch_size)
        try:
            yield
        finally:
            self.layout = None

    @contextmanager
    def recording(self):
        """Keep every mask drawn in this block, in order, in ``self.recorded``."""
        self.recorded = masks = []
        try:
            yield masks
        finally:
            self.recorded = None

    @contextmanager
    def replaying(self, masks: list[torch.Tensor], rows: slice | None = None):
        """Use ``masks`` (from ``recording``) instead of drawing; ``rows`` selects a slice of each."""
        self._replay, self._replay_rows = list(masks), rows
        try:
            yield
        finally:
            self._replay, self._replay_rows = None, None

    def _draw(self, shape: torch.Size, p: float, device, dtype) -> torch.Tensor:
        rows, rest = shape[0], tuple(shape[1:])
        if self.mode == "independent" or self.layout is None:
            mask_shape, expand = (rows, *rest), None
        else:
            num_views, batch = self.layout
            mask_shape = (num_views, 1, *rest) if self.mode == "shared_across_batch" else (1, batch, *rest)
            expand = (num_views, batch, *rest)
        keep = torch.empty(mask_shape, device=device, dtype=dtype).bernoulli_(1 - p) / (1 - p)
        return keep if expand is None else keep.expand(expand).reshape(rows, *rest)

    def apply(self, x: torch.Tensor, p: float) -> torch.Tensor:
        if self.mode == "off" or p == 0:
            return x
        if self._replay is not None:
            mask = self._replay.pop(0)
            mask = mask[self._replay_rows] if self._replay_rows is not None else mask
        else:
            mask = self._draw(x.shape, p, x.device, x.dtype)
        if self.recorded is not None:
            self.recorded.append(mask)
        return x * mask


class MaskedDropout(nn.Module):
    """Drop-in for ``nn.Dropout`` whose masks come from a ``MaskControl``."""

    def __init__(self, p: float, control: MaskControl):
        super().__init__()
        self.p = p
        self.control = control

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.control.apply(x, self.p) if self.training else x

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.control.mode}"


def _attention_with_masked_dropout(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Eager attention whose probability dropout is the module's MaskedDropout."""
    scaling = scaling if scaling is not None else query.size(-1) ** -0.5
    weights = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        weights = weights + attention_mask
    weights = nn.functional.softmax(weights, dim=-1)
    weights = module.dropout(weights)
    return torch.matmul(weights, value).transpose(1, 2).contiguous(), weights


AttentionInterface.register(ATTENTION_NAME, _attention_with_masked_dropout)
ALL_MASK_ATTENTION_FUNCTIONS.register(ATTENTION_NAME, eager_mask)


def set_dropout_rate(encoder: nn.Module, p: float) -> None:
    """Make every dropout module of ``encoder`` drop with probability ``p``. Attention-probability
    dropout reads the rate from its module at each call, so it follows too."""
    for module in encoder.modules():
        if isinstance(module, (nn.Dropout, MaskedDropout)):
            module.p = p


def install_mask_control(encoder: nn.Module, mode: str) -> MaskControl:
    """Route every dropout of ``encoder`` through one MaskControl; return it."""
    control = MaskControl(mode)
    dropouts = [(name, module) for name, module in encoder.named_modules() if isinstance(module, nn.Dropout)]
    for name, module in dropouts:
        parent_name, _, attribute = name.rpartition(".")
        setattr(encoder.get_submodule(parent_name), attribute, MaskedDropout(module.p, control))
    encoder.set_attn_implementation(ATTENTION_NAME)
    return control
