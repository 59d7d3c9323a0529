"""``OptimizeConfig``: how ``ugst optimize`` compiles a simulator program (a TRL-style dataclass)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ugst_dspy.errors import UgstError

OPTIMIZERS: tuple[str, ...] = ("bootstrap", "random-search", "mipro", "gepa")
AUTO_BUDGETS: tuple[str, ...] = ("light", "medium", "heavy")


@dataclass
class OptimizeConfig:
    """Everything the optimiser needs besides the program, the data and the models.

    The search budget is ``trials`` when given, else DSPy's ``auto`` preset (MIPROv2 and GEPA).
    """

    optimizer: str = field(default="bootstrap", metadata={"help": f"DSPy optimiser: {', '.join(OPTIMIZERS)}."})
    max_demos: int = field(default=2, metadata={"help": "Most bootstrapped demos per predictor (0: instructions only)."})
    max_rounds: int = field(default=1, metadata={"help": "Bootstrap attempts per training example."})
    metric_threshold: float = field(
        default=0.8, metadata={"help": "Normalised reward a bootstrapped trace needs to become a demo."}
    )
    trials: int | None = field(
        default=None,
        metadata={"help": "Search budget: MIPROv2 trials, GEPA full evaluations of train+val, random-search "
                          "candidate programs; unset uses `auto` (random search: 4)."},
    )
    num_candidates: int = field(default=3, metadata={"help": "MIPROv2 instruction and demo-set candidates when `trials` is set."})
    auto: str = field(default="light", metadata={"help": f"MIPROv2/GEPA budget preset when `trials` is unset: {', '.join(AUTO_BUDGETS)}."})
    reflection_minibatch_size: int = field(default=3, metadata={"help": "GEPA: examples the reflection LM reads per step."})
    train: int | None = field(default=None, metadata={"help": "Most training examples (conversation prefixes); unset: all."})
    val: int | None = field(default=None, metadata={"help": "Most validation examples; unset: about 20%, in whole conversations."})
    seed: int = field(default=0, metadata={"help": "Seed of the split and of the optimiser's own sampling."})
    num_threads: int = field(default=1, metadata={"help": "Examples evaluated at once (local engines serialise anyway)."})
    max_errors: int = field(default=10, metadata={"help": "Failed program calls tolerated before the optimiser gives up."})
    reward_mode: str = field(default="progress", metadata={"help": "Reward indicator mode: progress or success (SPEC section 2)."})
    termination_weight: float = field(default=0.0, metadata={"help": "Weight of the termination indicator of the multi-turn reward (a stop that still asks for something, or with a task objective INCOMPLETE, costs it); 0: the paper's per-reply reward."})

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise UgstError(f"unknown optimizer {self.optimizer!r} (use {', '.join(OPTIMIZERS)})")
        if self.auto not in AUTO_BUDGETS:
            raise UgstError(f"unknown auto budget {self.auto!r} (use {', '.join(AUTO_BUDGETS)})")
        if self.reward_mode not in ("progress", "success"):
            raise UgstError(f"unknown reward mode {self.reward_mode!r} (use progress or success)")
        if self.termination_weight < 0:
            raise UgstError(f"termination_weight must be 0 or more, got {self.termination_weight}")
        if not 0.0 <= self.metric_threshold <= 1.0:
            raise UgstError(f"metric_threshold must be between 0 and 1, got {self.metric_threshold}")
        for name in ("max_demos", "max_errors"):
            if getattr(self, name) < 0:
                raise UgstError(f"{name} must be 0 or more, got {getattr(self, name)}")
        for name in ("max_rounds", "num_candidates", "reflection_minibatch_size", "num_threads", "trials", "train"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UgstError(f"{name} must be at least 1, got {value}")
        if self.val is not None and self.val < 0:
            raise UgstError(f"val must be 0 or more, got {self.val}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
