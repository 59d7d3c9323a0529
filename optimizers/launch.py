"""Training past one process: the accelerate configs shipped with the package, and what ``ugst sft`` and
``ugst grpo`` ask of the processes of an ``accelerate launch`` (DDP, FSDP or DeepSpeed; one node or several).

    accelerate launch --config_file $(python -m ugst_dspy.optimizers.launch ddp) --num_processes 8 \\
        -m ugst_dspy sft runs/teacher.jsonl --base-model MODEL --out ckpt/sft

Every process runs the same command. The *main* process (rank 0) alone checks and claims the output folder,
runs the teacher (``ugst sft --teacher-runs``), prints progress and writes the run record, the program and
the final weights; the other processes wait for it where they need what it did (:func:`on_main`), and they
all build the same data from the same files. The output folder and the data files must be on a file system
every node sees.

Nothing here imports torch or accelerate unless the command was launched on several processes (``WORLD_SIZE``
above 1, as ``accelerate launch`` and ``torchrun`` set it): a plain run is one process, and every helper is
then a plain call.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from ugst_dspy.errors import UgstError, error_line

T = TypeVar("T")

CONFIGS: dict[str, str] = {
    "ddp": "data parallel on the GPUs of one or more nodes (every process holds the whole model)",
    "fsdp": "FSDP 2: parameters, gradients and optimizer states sharded over the GPUs; full weights saved",
    "deepspeed_zero2": "DeepSpeed ZeRO stage 2: gradients and optimizer states sharded (needs deepspeed)",
    "deepspeed_zero3": "DeepSpeed ZeRO stage 3: parameters sharded too; 16-bit full weights saved (needs deepspeed)",
    "cpu_ddp": "data parallel over CPU processes (gloo), for trying a launch on a machine without GPUs",
}
"""The accelerate configs shipped in ``ugst_dspy/optimizers/accelerate/``, by name."""

MAIN_WORK_TIMEOUT = timedelta(hours=48)
"""How long the other processes wait for the main process's own work (teacher runs can take hours; the
training's collectives keep their own, shorter timeout)."""


def config_path(name: str) -> Path:
    """The shipped accelerate config ``name`` (see :data:`CONFIGS`), for ``accelerate launch --config_file``."""
    if name not in CONFIGS:
        raise UgstError(f"no accelerate config {name!r} (shipped: {', '.join(CONFIGS)})")
    return Path(str(resources.files("ugst_dspy.optimizers").joinpath("accelerate", f"{name}.yaml")))


# -- the processes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Processes:
    """Where this process stands: its rank, the number of processes, its rank on its node."""

    index: int = 0
    count: int = 1
    local_index: int = 0

    @property
    def is_main(self) -> bool:
        return self.index == 0

    @property
    def is_local_main(self) -> bool:
        return self.local_index == 0


SINGLE = Processes()


def launched_processes() -> int:
    """The number of processes the launcher started (``WORLD_SIZE``; 1 for a plain run)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE") or 1))
    except ValueError:
        return 1


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def processes() -> Processes:
    """This process among those of the launch (:data:`SINGLE` for a plain run, with nothing imported)."""
    if launched_processes() == 1:
        return SINGLE
    return _distributed_processes()


@functools.cache
def _distributed_processes() -> Processes:
    """Join the launch's process group (``accelerate.PartialState``, as the trainer does later: CPU processes
    use gloo, GPUs nccl, DeepSpeed its own; with the trainer's default timeout, ``ddp_timeout``) and say where
    this process stands."""
    import torch
    from accelerate import PartialState

    try:
        from transformers import TrainingArguments

        seconds = int(TrainingArguments.__dataclass_fields__["ddp_timeout"].default)
    except (ImportError, KeyError, TypeError, ValueError):  # pragma: no cover - another transformers layout
        seconds = 1800
    state = PartialState(cpu=env_flag("ACCELERATE_USE_CPU") or not torch.cuda.is_available(),
                         timeout=timedelta(seconds=seconds))
    return Processes(index=state.process_index, count=state.num_processes, local_index=state.local_process_index)


@functools.cache
def _wait_group() -> Any:
    """A gloo group with a long timeout, for waiting on the main process's own work (made on first use, at
    the same point on every process)."""
    import torch.distributed as dist

    _distributed_processes()
    return dist.new_group(backend="gloo", timeout=MAIN_WORK_TIMEOUT)


def _broadcast(value: Any) -> Any:
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0, group=_wait_group())
    return box[0]


def on_main(work: Callable[[], T], what: str = "the main process's work") -> T:
    """Run ``work`` on the main process only and hand its result to every process; the others wait.

    A :class:`UgstError` of the main process is raised, with the same message, by every process; another
    failure is re-raised by the main process and reported in one line by the others. The result must pickle.
    """
    here = processes()
    if here.count == 1:
        return work()
    if not here.is_main:
        outcome = _broadcast(None)
    else:
        try:
            outcome = ("ok", work())
        except UgstError as err:
            outcome = ("error", str(err))
        except BaseException as err:
            _broadcast(("failed", f"{type(err).__name__}: {err}"))
            raise
        _broadcast(outcome)
    status, value = outcome
    if status == "ok":
        return value
    if status == "error":
        raise UgstError(value)
    raise UgstError(f"{what} failed on the main process: {value}")


def local_main_first(work: Callable[[], T]) -> T:
    """Run ``work`` on the main process of each node first, then on the others (e.g. converting a model into
    the node's cache once: the others find it there). A failure on the first still lets the others run."""
    here = processes()
    if here.count == 1:
        return work()
    import torch.distributed as dist

    if here.is_local_main:
        try:
            return work()
        finally:
            dist.barrier(group=_wait_group())
    dist.barrier(group=_wait_group())
    return work()


def wait_for_everyone() -> None:
    """A barrier over every process (nothing on a plain run)."""
    if processes().count > 1:
        import torch.distributed as dist

        dist.barrier(group=_wait_group())


def sum_over_processes(counts: Mapping[str, float]) -> dict[str, float]:
    """Each count summed over the processes (e.g. the tracker calls each one made); every process calls it."""
    if processes().count == 1:
        return dict(counts)
    import torch.distributed as dist

    gathered: list[Any] = [None] * processes().count
    dist.all_gather_object(gathered, dict(counts), group=_wait_group())
    return {key: sum(part.get(key, 0) for part in gathered) for key in counts}


@contextmanager
def main_output() -> Iterator[bool]:
    """Meanwhile, the other processes print nothing on stderr (warnings of the main process are enough);
    yields whether this is the main process."""
    here = processes()
    if here.is_main:
        yield True
        return
    import io
    from contextlib import redirect_stderr

    with redirect_stderr(io.StringIO()):
        yield False


def sharded_parameters() -> str | None:
    """The name of the launch's parameter sharding (FSDP or DeepSpeed ZeRO-3), from the launcher's
    environment, or ``None`` (one process, DDP, ZeRO-1/2): sharded parameters make every forward pass a
    collective, which every process must run the same number of times."""
    if launched_processes() == 1:
        return None
    if env_flag("ACCELERATE_USE_FSDP"):
        return "FSDP"
    if env_flag("ACCELERATE_USE_DEEPSPEED") and os.environ.get("ACCELERATE_DEEPSPEED_ZERO_STAGE", "").strip() == "3":
        return "DeepSpeed ZeRO-3"
    return None


def main(argv: list[str] | None = None) -> int:
    """``python -m ugst_dspy.optimizers.launch NAME`` prints the path of a shipped config; no name lists them."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        for name, what in CONFIGS.items():
            print(f"{name:16} {config_path(name)}\n{'':16} {what}")
        return 0
    try:
        print(config_path(args[0]))
    except UgstError as err:
        print(error_line(err), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
