"""A trained student as a plain transformers generator: no DSPy module, no LM client, no constrained decoding.

It builds the same prompt the student program sends (:func:`~ugst_dspy.optimizers.layout.student_messages`),
samples a completion with ``model.generate`` and reads it with
:func:`~ugst_dspy.optimizers.layout.parse_completion` -- what GRPO's rollouts do, outside the trainer. For
quick checks of a checkpoint and for embedding a simulator where DSPy is not wanted.

    student = LocalStudent.from_pretrained("exported/")
    turn = student(goal, turns, max_turns=10)   # StudentTurn(reply=..., stop=..., reasoning={...})

With ``behaviours=[...]`` it is non-collaborative on request: pass each turn's ``behaviour``
(``BehaviourPlan.turn``), as a simulator module is passed it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ugst_dspy.conversation import Turn
from ugst_dspy.errors import UgstError
from ugst_dspy.extras import require
from ugst_dspy.optimizers.layout import DEFAULT_MAX_TURNS, StudentTurn, parse_completion, student_messages


class LocalStudent:
    """Generate the next user turn with a trained checkpoint (a full or LoRA folder, or an exported one)."""

    def __init__(self, model: Any, tokenizer: Any, program: Any = None, *, max_new_tokens: int = 512,
                 temperature: float = 0.7, seed: int = 0, behaviours: Sequence[Any] = ()) -> None:
        from ugst_dspy.optimizers.layout import student_program

        self.model = model.eval()
        self.tokenizer = tokenizer
        self.program = student_program(program, behaviours) if behaviours else program
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.seed = seed
        self.last_text = ""

    @classmethod
    def from_pretrained(cls, folder: str | Path, **options: Any) -> LocalStudent:
        """Load a checkpoint and the program packed beside it (else the default student program)."""
        from ugst_dspy.optimizers.training import load_model, load_student_program

        folder = Path(folder)
        model, tokenizer = load_model(folder)
        return cls(model, tokenizer, load_student_program(None, folder), **options)

    def generate(self, messages: list[dict[str, str]]) -> str:
        """The raw completion text for chat ``messages``."""
        torch = require("torch", "local", "a trained simulator")

        inputs = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                    return_dict=True).to(self.model.device)
        sampling: dict[str, Any] = {"do_sample": False}
        if self.temperature > 0:
            sampling = {"do_sample": True, "temperature": self.temperature, "top_p": 1.0, "top_k": 0}
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(self.seed)
            output = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens,
                                         pad_token_id=self.tokenizer.pad_token_id, **sampling)
        new = output[0, inputs["input_ids"].shape[1]:]
        return self.tokenizer.decode(new, skip_special_tokens=True)

    def __call__(self, goal: str, turns: Sequence[Turn] = (), max_turns: int = DEFAULT_MAX_TURNS,
                 behaviour: Any = None) -> StudentTurn:
        """The next user turn (``behaviour``: what the behaviours ask of it, ``BehaviourPlan.turn``); a
        completion that cannot be read is a one-line :class:`UgstError`."""
        self.last_text = self.generate(student_messages(goal, turns, max_turns, self.program, behaviour=behaviour))
        parsed = parse_completion(self.last_text, strict=False)
        if parsed is None:
            raise UgstError(f"the student's output is not a turn: {self.last_text[:120]!r}")
        return parsed
