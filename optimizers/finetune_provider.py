"""A DSPy finetuning provider backed by TRL, so ``dspy.BootstrapFinetune`` distils a program into local weights.

DSPy's bundled ``LocalProvider`` does not work with TRL 1.16 (it passes ``max_seq_length``). This one takes
what ``BootstrapFinetune`` exports -- ``{"messages": [...]}`` chat records, made with the ChatAdapter --
turns each into a prompt/completion record (the last assistant message is the completion, so the loss
falls on it only) and trains with :func:`~ugst_dspy.optimizers.sft.train_sft`. The fine-tuned LM it hands
back runs on a :class:`~ugst_dspy.engines.local.TransformersEngine` over the new weights (DSPy's own
``LM.copy(model=...)`` would keep the old engine).

    lm = trl_finetunable_lm(model_dir, output_root="runs/distil")
    student.set_lm(lm)
    optimizer = dspy.BootstrapFinetune(metric=metric, train_kwargs={"max_steps": 200, "lora": True})
    distilled = optimizer.compile(student, trainset=examples, teacher=compiled_program)

``train_kwargs`` are :class:`~ugst_dspy.optimizers.sft.SFTOptions` fields (``output_dir``, ``batch_size``,
``learning_rate``, ``epochs``, ``max_steps``, ``lora``, ...); unknown keys are refused.
"""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path
from typing import Any

from dspy.clients.provider import Provider, TrainingJob
from dspy.clients.utils_finetune import TrainDataFormat, TrainingStatus

from ugst_dspy.errors import UgstError
from ugst_dspy.extras import require


class TRLTrainingJob(TrainingJob):
    """A TRL fine-tuning job; its result is an LM over the fine-tuned folder (or the exception)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.output_dir: Path | None = None
        self.result_info: Any = None

    def status(self) -> TrainingStatus:
        if not self.done():
            running = self.thread is not None and self.thread.is_alive()
            return TrainingStatus.running if running else TrainingStatus.pending
        return TrainingStatus.failed if isinstance(self.result(), Exception) else TrainingStatus.succeeded

    def set_result(self, result: Any) -> None:
        import dspy

        if isinstance(result, dspy.LM) and self.output_dir is not None:
            result = result.copy(engine=_engine_like(result, self.output_dir))
        super().set_result(result)


def _engine_like(lm: Any, folder: Path) -> Any:
    """A TransformersEngine over ``folder`` with the options of ``lm``'s engine (when it has one)."""
    from ugst_dspy.engines.local import TransformersEngine

    engine = getattr(lm, "_engine_spec", None)
    options: dict[str, Any] = {}
    if isinstance(engine, TransformersEngine) and engine.path is not None:
        options = {k: v for k, v in engine.dump_state().items() if k not in ("path", "name")}
    return TransformersEngine(folder, **options)


class TRLFinetuneProvider(Provider):
    """Fine-tunes local checkpoints with TRL (see the module docstring).

    ``output_root`` holds one folder per job unless ``train_kwargs["output_dir"]`` names one.
    ``defaults`` are SFT options applied under each job's ``train_kwargs``.
    """

    def __init__(self, output_root: str | Path | None = None, defaults: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.finetunable = True
        self.TrainingJob = TRLTrainingJob
        self.output_root = Path(output_root) if output_root is not None else None
        self.defaults = dict(defaults or {})

    @staticmethod
    def is_provider_model(model: str) -> bool:
        return False

    def launch(self, lm: Any, launch_kwargs: dict[str, Any] | None = None) -> None:
        pass  # local engines load on first use

    def kill(self, lm: Any, launch_kwargs: dict[str, Any] | None = None) -> None:
        engine = getattr(lm, "_engine_spec", None)
        if hasattr(engine, "close"):
            engine.close()  # free the weights while training; they reload on the next call

    def finetune(
        self,
        job: TrainingJob,
        model: str,
        train_data: list[dict[str, Any]],
        train_data_format: TrainDataFormat | str | None,
        train_kwargs: dict[str, Any] | None = None,
    ) -> str:
        """Train on the chat records; returns the fine-tuned model's name (``local/<name>``)."""
        datasets = require("datasets", "train", "the TRL finetuning provider")

        from ugst_dspy.engines.local import model_name_for
        from ugst_dspy.optimizers.sft import train_sft

        if train_data_format not in (TrainDataFormat.CHAT, "chat"):
            raise ValueError(f"the TRL provider trains on chat data, not {train_data_format!r}")
        records = [_prompt_completion(item, n) for n, item in enumerate(train_data, start=1)]
        if not records:
            raise UgstError("no finetuning data: BootstrapFinetune collected no traces")
        options = self.options(model, {**self.defaults, **(train_kwargs or {})})
        if isinstance(job, TRLTrainingJob):
            job.output_dir = Path(options.output_dir)
        result = train_sft(datasets.Dataset.from_list(records), options, layout="dspy-chat-messages")
        if isinstance(job, TRLTrainingJob):
            job.result_info = result
        return f"local/{model_name_for(options.output_dir)}"

    def options(self, model: str, train_kwargs: dict[str, Any]) -> Any:
        """The SFT options of a job: the base model from ``model``, the rest from ``train_kwargs``."""
        from ugst_dspy.optimizers.sft import SFTOptions

        known = {f.name for f in dataclasses.fields(SFTOptions)}
        unknown = sorted(set(train_kwargs) - known)
        if unknown:
            raise ValueError(f"unknown train_kwargs {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        base = _model_folder(model)
        values = dict(train_kwargs)
        if "output_dir" not in values:
            if self.output_root is None:
                raise ValueError("give the provider an output_root, or train_kwargs['output_dir']")
            stamp = time.strftime("%Y%m%d-%H%M%S")
            values["output_dir"] = str(self.output_root / f"{_slug(Path(base).name)}-{stamp}")
        values.setdefault("base_model", str(base))
        values.setdefault("batch_size", 8)
        values.setdefault("grad_accum", 1)
        return SFTOptions(**values)


def _model_folder(model: str) -> Path:
    folder = Path(model).expanduser()
    if (folder / "config.json").is_file() or (folder / "adapter_config.json").is_file():
        return folder
    raise ValueError(f"cannot find the weights of {model!r}: build the LM with trl_finetunable_lm(folder) "
                     "(or pass finetuning_model=<model folder> to dspy.LM)")


def _prompt_completion(item: dict[str, Any], number: int) -> dict[str, Any]:
    messages = item.get("messages") if isinstance(item, dict) else None
    if not messages or messages[-1].get("role") != "assistant" or len(messages) < 2:
        raise ValueError(f"finetuning record {number}: expected messages ending with the assistant's answer")
    clean = [{"role": m["role"], "content": str(m.get("content") or "")} for m in messages]
    return {"prompt": clean[:-1], "completion": clean[-1:]}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-").lower() or "model"


def trl_finetunable_lm(folder: str | Path, output_root: str | Path | None = None,
                       defaults: dict[str, Any] | None = None, **lm_kwargs: Any) -> Any:
    """A ``dspy.LM`` over a local checkpoint that ``BootstrapFinetune`` can fine-tune with TRL."""
    from ugst_dspy.engines.local import local_lm

    folder = Path(folder).expanduser()
    _model_folder(str(folder))
    provider = TRLFinetuneProvider(output_root, defaults)
    return local_lm(folder, provider=provider, finetuning_model=str(folder.resolve()), **lm_kwargs)
