"""Gathering embeddings across processes so that negatives span the global batch."""

from __future__ import annotations

import torch
import torch.distributed as dist


def world() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) when not distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        # Every process holds the gradient its own loss sends to every slice; summing them gives
        # each slice its full gradient, and each process keeps the slice it owns.
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        rank, size = world()
        rows = grad.shape[0] // size
        return grad[rank * rows:(rank + 1) * rows]


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate every process's ``tensor`` along dim 0, keeping the autograd graph.

    The backward pass returns to each process the sum, over all processes' losses, of the gradient
    of the slice it owns. So an embedding also receives the gradient it gets as a negative in the
    other processes' rows, which a gather without gradient (SimCSE's reference code, which keeps
    only the local slice differentiable) drops. Every process must pass a tensor of the same shape
    (the trainer drops the last partial batch for this reason).
    """
    if world()[1] == 1:
        return tensor
    return _GatherWithGrad.apply(tensor)
