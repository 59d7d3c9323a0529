"""``python -m ugst_dspy.programs``: write the default (uncompiled) state of every paper configuration."""

from ugst_dspy.programs.io import STATES_DIR, build_program, save_program

DEFAULTS = {
    "prompt": ("simulator", "prompt", {}),
    "goal-reminder": ("simulator", "goal-reminder", {}),
    "state-steered": ("simulator", "state-steered", {}),
    "reasoning": ("simulator", "reasoning", {}),
    "reasoning-teacher": ("simulator", "reasoning", {"use_state": True}),
    "ugst-evaluator": ("evaluator", "ugst", {"mode": "per_component"}),  # the paper's tracker
    "ugst-evaluator-batched": ("evaluator", "ugst", {"mode": "batched"}),
}

if __name__ == "__main__":
    for file_name, (kind, name, options) in DEFAULTS.items():
        print(save_program(build_program(kind, name, options), STATES_DIR / f"{file_name}.json"))
