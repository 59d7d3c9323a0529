"""Non-collaborative users: behaviours any simulator can take while it still delivers its whole goal.

- :mod:`~ugst_dspy.behaviours.catalog`: the behaviours (unavailable_service, digression, impatience,
  incomplete_utterance) and how to add one;
- :mod:`~ugst_dspy.behaviours.spec`: how a run asks for one (name, rate, intensity);
- :mod:`~ugst_dspy.behaviours.plan`: what they do in one conversation, drawn per goal with a seed.

The check that a user message carries its behaviour reads only the record, so it lives with the metrics
(:mod:`ugst_dspy.metrics.behaviours`). See docs/behaviours.md.
"""

from ugst_dspy.behaviours.catalog import BEHAVIOURS, GOAL_CLAUSE, Behaviour, get_behaviour
from ugst_dspy.behaviours.plan import NO_BEHAVIOUR, BehaviourPlan, TurnBehaviour, environment_plan, make_plan, open_parts
from ugst_dspy.behaviours.spec import INTENSITIES, BehaviourSpec, as_specs
from ugst_dspy.behaviours.tangents import TANGENTS, Tangent

__all__ = [
    "BEHAVIOURS",
    "GOAL_CLAUSE",
    "INTENSITIES",
    "NO_BEHAVIOUR",
    "TANGENTS",
    "Behaviour",
    "BehaviourPlan",
    "BehaviourSpec",
    "Tangent",
    "TurnBehaviour",
    "as_specs",
    "environment_plan",
    "get_behaviour",
    "make_plan",
    "open_parts",
]
