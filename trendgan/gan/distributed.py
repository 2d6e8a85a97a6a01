"""Training one GAN in several processes at once (data parallel): ``torchrun --nproc_per_node=N -m
trendgan.cli.app train ...`` starts N copies of ``trendgan train``; each draws its own batches, and after every
backward pass the gradients are averaged over the processes, so every copy takes the same optimiser step and the
weights stay identical: N GPUs see N times the images per step.

What DistributedDataParallel does, written out: the trainer calls ``D.backbone``, ``D.heads`` and ``D.score``
separately, which a DDP wrapper (it only hooks ``forward``) would not follow. Process 0 alone writes the run
(metrics, samples, checkpoints, config.json) and holds the store's writer lock; the others only train. NCCL on CUDA,
gloo on the CPU (which is how the tests run it: two CPU processes).
"""

from __future__ import annotations

import os

import torch

# Where the small agreement tensors live: NCCL reduces only CUDA tensors, gloo CPU ones.
_COMMS_DEVICE = torch.device("cpu")


def launched() -> bool:
    """Started by torchrun (or another launcher that sets WORLD_SIZE) with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def join(device: torch.device) -> tuple[int, int, torch.device]:
    """(rank, world size, this process's device), joining the process group torchrun set up."""
    import torch.distributed as dist

    if not launched():
        return 0, 1, device
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    global _COMMS_DEVICE
    _COMMS_DEVICE = device if device.type == "cuda" else torch.device("cpu")
    return dist.get_rank(), dist.get_world_size(), device


def finished_together(world: int) -> None:
    """Wait until every process has finished its work (process 0 writes the run after the last step): then all
    leave the process group at once, and none tears its connections down while another still uses them (a CI run
    once saw process 1 abort at exit while process 0 was still writing)."""
    import torch.distributed as dist

    if world > 1:
        dist.barrier()


def leave() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def average_gradients(module: torch.nn.Module, world: int) -> None:
    """Replace each gradient by its mean over the processes (one flattened all-reduce per module)."""
    import torch.distributed as dist

    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if world <= 1 or not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def same_everywhere(module: torch.nn.Module, world: int) -> None:
    """Copy process 0's weights and buffers to every process (after building or loading, before training)."""
    import torch.distributed as dist

    if world <= 1:
        return
    for tensor in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(tensor.data, src=0)


def summed(values: list[float], world: int) -> list[float]:
    """The element-wise sum of ``values`` over the processes (for statistics every process must agree on)."""
    import torch.distributed as dist

    if world <= 1:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=_COMMS_DEVICE)
    dist.all_reduce(tensor)
    return tensor.cpu().tolist()


def all_agree(flag: bool, world: int) -> bool:
    """True only when every process says True: so all stop at the same step (a time budget runs out unevenly)."""
    import torch.distributed as dist

    if world <= 1:
        return flag
    tensor = torch.tensor([1 if flag else 0], dtype=torch.int64, device=_COMMS_DEVICE)
    dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
    return bool(tensor.item())


def check_same_weights(module: torch.nn.Module, world: int) -> None:
    """Raise when the processes' weights have drifted apart (they must stay identical step after step)."""
    import torch.distributed as dist

    from trendgan.errors import GanError

    if world <= 1:
        return
    flat = torch.cat([p.detach().reshape(-1).double() for p in module.parameters()])
    mine = torch.stack([flat.sum(), flat.abs().sum()]).to(_COMMS_DEVICE)
    low, high = mine.clone(), mine.clone()
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    if not torch.allclose(low, high, rtol=1e-6, atol=1e-6):
        raise GanError("the training processes' weights drifted apart (a gradient was not averaged); "
                       "the run is not a valid data-parallel run")
