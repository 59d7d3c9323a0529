"""Multi-turn GRPO roll-outs: the policy talks to the agent under test, the goal state scores the whole exchange.

The single-turn GRPO of the paper scores one user reply on a fixed prefix, with the agent's answer left
empty. Here each roll-out *continues the conversation* from its prefix (a dataset row) for up to
``turns`` user turns, or to its end:

1. the policy writes the user turn (reasoning + reply, the student layout) from the student's prompt;
2. the agent under test answers, with its tools, in the roll-out's own environment: the prefix's recorded
   tool calls replayed on a fresh database, then deep-copied per roll-out, so one roll-out's bookings and
   cancellations never show in another's;
3. the tracker updates the goal state (the steering mode, batched with skipping by default);
4. again from 1, until the user stops, the agent ends the conversation, the conversation's turn limit or
   the roll-out's ``turns`` is reached.

The roll-out's reward is :func:`ugst_dspy.reward.trajectory_reward` of the states it went through (per-turn
indicators and the final state's success per category, and the termination signals), given to TRL as six
reward functions (:class:`RolloutRewardFunctions`) so each is logged as its own column.

**What is trained.** The trained sequence of a roll-out is its prompt and the policy's *first* turn: the turn
the roll-out starts from earns the return of the whole roll-out, and the later turns (the agent's answers, the
tools' results and the policy's own next turns, generated without gradient) are the environment of that
choice. They never enter the sequence, so none of their tokens carries loss (``env_mask`` is 1 on every
returned token, and the returned tokens are exactly the policy's first turn). Every prefix of the data set is
a row, so every turn position is trained. Packing the later policy turns into one sequence would train them
in a context the simulator never sees at inference (each of its turns is a fresh prompt of the student
layout), so the exported checkpoint is a simulator exactly as after single-turn GRPO.

**Cost.** The agent and tracker calls of a turn run concurrently over the roll-outs of a batch
(``workers`` threads); the policy's turns of a batch are generated in one batched call. With a greedy agent
(temperature 0) the agent's replies are cached by (conversation so far, user turn): identical roll-out
prefixes cost one agent call, and the environment after it is cached with the reply.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ugst_dspy.conversation import Conversation, Turn
from ugst_dspy.errors import UgstError
from ugst_dspy.optimizers.layout import StudentTurn, parse_completion, student_messages
from ugst_dspy.reward import TrajectoryConfig, TrajectoryReward, trajectory_reward
from ugst_dspy.rules import DEFAULT_RULES, RuleSet
from ugst_dspy.state import GoalState
from ugst_dspy.stop import STOP_MESSAGE


@dataclass
class RolloutOptions:
    """How multi-turn roll-outs run (TRL-style: every field has its help text)."""

    turns: int = field(default=3, metadata={"help": "Most user turns of one roll-out, its first included."})
    agent_steps: int = field(default=5, metadata={"help": "Most tool calls of the agent per turn."})
    workers: int = field(default=4, metadata={"help": "Agent and tracker calls in flight at once."})
    cache_agent: bool = field(default=True, metadata={
        "help": "Cache the agent's replies by (conversation so far, user turn) when the agent is greedy."})
    on_malformed: str = field(default="zero", metadata={
        "help": "A policy turn that breaks the layout: zero (a first turn scores 0, a later one ends the roll-out) or "
                "score_text (its whole text is the user's message)."})
    cache_size: int = field(default=256, metadata={
        "help": "Most agent replies kept in the cache (each keeps a copy of its environment's database)."})

    def __post_init__(self) -> None:
        if self.turns < 1:
            raise UgstError(f"--turns must be at least 1, got {self.turns}")
        if self.workers < 1:
            raise UgstError(f"rollout workers must be at least 1, got {self.workers}")
        if self.on_malformed not in ("zero", "score_text"):
            raise UgstError(f"unknown on_malformed {self.on_malformed!r} (use zero or score_text)")


@dataclass
class RolloutRow:
    """What a prompt continues: a recorded conversation up to user turn ``index`` (0-based) and its state."""

    conversation: Conversation
    index: int
    state: GoalState
    max_turns: int
    env: str

    @property
    def prefix(self) -> list[Turn]:
        return [Turn(user=t.user, agent=t.agent, tool_calls=list(t.tool_calls)) for t in self.conversation.turns[:self.index]]


@dataclass
class Rollout:
    """One roll-out: its environment, the turns it added, the states after each, and how it ended."""

    row: RolloutRow
    env: Any
    turns: list[Turn]
    states: list[GoalState]
    first_ids: list[int] = field(default_factory=list)
    first_text: str = ""
    malformed: bool = False
    stopped: bool = False
    stop_with_request: bool = False
    ended: bool = False
    agent_calls: int = 0
    reward: TrajectoryReward | None = None

    @property
    def new_turns(self) -> list[Turn]:
        return self.turns[self.row.index:]

    @property
    def at_turn_limit(self) -> bool:
        return len(self.turns) >= self.row.max_turns and not self.stopped


def prompt_key(prompt: Sequence[Mapping[str, Any]]) -> str:
    """The key of a prompt (chat messages) in the roll-out's table of rows."""
    return json.dumps([{"role": m.get("role"), "content": m.get("content")} for m in prompt], ensure_ascii=False,
                      sort_keys=True)


def replay_prefix(env: Any, turns: Sequence[Turn]) -> Any:
    """``env`` after the tool calls the recorded turns made (in order); arguments that are no object are
    skipped, as the agent's own calls would have been refused."""
    for turn in turns:
        for call in turn.tool_calls:
            if isinstance(call.arguments, dict):
                env.call(call.name, call.arguments)
    return env


class MultiTurnRollouts:
    """TRL's ``rollout_func`` for multi-turn GRPO (see the module docstring).

    ``rows`` maps :func:`prompt_key` of each data set prompt to its :class:`RolloutRow`; ``agent`` is the agent
    under test (``respond(turns, user_message, env)``), ``tracker`` a :class:`GoalStateTracker` bound to its
    model, ``program`` the student program the prompts are made with. ``greedy_agent`` turns the reply cache
    on (with ``options.cache_agent``).
    """

    def __init__(
        self,
        rows: Mapping[str, RolloutRow],
        *,
        agent: Any,
        tracker: Any,
        program: Any = None,
        config: TrajectoryConfig | None = None,
        rules: RuleSet = DEFAULT_RULES,
        options: RolloutOptions | None = None,
        data_dir: str | Path | None = None,
        adapter: Any = None,
        greedy_agent: bool = False,
    ) -> None:
        self.rows = dict(rows)
        self.agent = agent
        self.tracker = tracker
        self.program = program
        self.config = config or TrajectoryConfig()
        self.rules = rules
        self.options = options or RolloutOptions()
        self.data_dir = data_dir
        self.adapter = adapter
        self.cache_on = bool(greedy_agent and self.options.cache_agent)
        self._cache: OrderedDict[str, tuple[Any, Any]] = OrderedDict()
        self._envs: dict[str, Any] = {}
        self._students: dict[str, tuple[Any, Any]] = {}
        self._lock = threading.Lock()
        self.last: list[Rollout] = []  # the latest batch, for logging and tests
        self.stats = {"rollouts": 0, "policy_turns": 0, "agent_calls": 0, "agent_cache_hits": 0, "tracker_calls": 0,
                      "malformed": 0}

    # -- environments ----------------------------------------------------------------------------------------

    def environment(self, row: RolloutRow) -> Any:
        """A fresh copy of the environment after the row's prefix (the replayed base is built once per row)."""
        from ugst_dspy.envs.registry import make_env

        key = f"{row.conversation.key}\0{row.index}"
        with self._lock:
            base = self._envs.get(key)
            if base is None:
                base = self._envs[key] = replay_prefix(make_env(row.env, self.data_dir), row.conversation.turns[:row.index])
        return copy.deepcopy(base)

    # -- the roll-out function -------------------------------------------------------------------------------

    def __call__(self, prompts: list[Any], trainer: Any) -> dict[str, Any]:
        """TRL's entry point: one roll-out per prompt (TRL repeats each prompt once per group member)."""
        rollouts = [self.start(prompt) for prompt in prompts]
        tokenizer = trainer.processing_class
        prompt_ids = [prompt_token_ids(tokenizer, list(p)) for p in prompts]
        first, logprobs = self.sample(trainer, prompt_ids)
        for rollout, ids in zip(rollouts, first):
            rollout.first_ids = ids
            rollout.first_text = tokenizer.decode(ids, skip_special_tokens=True)
        self.play(rollouts, [r.first_text for r in rollouts],
                  lambda messages: [tokenizer.decode(ids, skip_special_tokens=True) for ids in self.sample(
                      trainer, [prompt_token_ids(tokenizer, m) for m in messages])[0]])
        self.last = rollouts
        return {
            "prompt_ids": prompt_ids,
            "completion_ids": [r.first_ids for r in rollouts],
            "logprobs": logprobs,
            "env_mask": [[1] * len(r.first_ids) for r in rollouts],
            "rollout": [json.dumps(r.reward.to_json() if r.reward else None) for r in rollouts],
        }

    @staticmethod
    def sample(trainer: Any, prompt_ids: list[list[int]]) -> tuple[list[list[int]], Any]:
        """One completion per tokenized prompt from the current policy: through the trainer's vLLM
        (``use_vllm``, its weights synced by TRL before the roll-outs; with the sampled tokens' log-probs) or with
        the model itself."""
        if getattr(trainer, "use_vllm", False):
            _, completion_ids, logprobs, _ = trainer.vllm_generation.generate(prompts=prompt_ids, images=None,
                                                                              num_generations=1)
            return completion_ids, [[lp[0] for lp in seq] for seq in logprobs]
        model = trainer.accelerator.unwrap_model(trainer.model)
        args = trainer.args
        return generate(model, trainer.processing_class, prompt_ids, args.temperature, args.max_completion_length), None

    def start(self, prompt: Any) -> Rollout:
        row = self.rows.get(prompt_key(prompt))
        if row is None:
            raise UgstError("multi-turn GRPO: a prompt that is not in the data set reached the roll-outs")
        return Rollout(row=row, env=self.environment(row), turns=row.prefix, states=[row.state])

    def play(self, rollouts: list[Rollout], first_texts: list[str], write: Any) -> None:
        """Play every roll-out to its end from the policy's first turns; ``write(list of chat prompts)`` gives
        the policy's later turns (raw completion texts). Fills each roll-out's ``reward``."""
        texts: dict[int, str] = dict(enumerate(first_texts))
        for step in range(self.options.turns):
            active = [k for k in texts if not rollouts[k].ended]
            self._user_turns(rollouts, {k: texts[k] for k in active}, first=step == 0)
            answering = [k for k in active if not rollouts[k].ended]
            self._concurrently(lambda k: self._agent_turn(rollouts[k]), answering)
            tracking = [k for k in active if not rollouts[k].malformed]
            self._concurrently(lambda k: self._track(rollouts[k]), tracking)
            going = [k for k in active if not rollouts[k].ended and len(rollouts[k].turns) < rollouts[k].row.max_turns]
            if step + 1 >= self.options.turns or not going:
                break
            prompts = [self.next_prompt(rollouts[k]) for k in going]
            texts = dict(zip(going, write(prompts)))
            with self._lock:
                self.stats["policy_turns"] += len(going)
        for rollout in rollouts:
            rollout.ended = True
            rollout.reward = self.score(rollout)
        with self._lock:
            self.stats["rollouts"] += len(rollouts)
            self.stats["malformed"] += sum(r.malformed for r in rollouts)

    def next_prompt(self, rollout: Rollout) -> list[dict[str, str]]:
        """The student prompt of the roll-out's next user turn (its behaviour too, for a record made with one)."""
        row = rollout.row
        program, plan = self.student(row.conversation)
        behaviour = plan.turn(len(rollout.turns) + 1) if plan is not None else None
        return student_messages(row.conversation.instruction, rollout.turns, row.max_turns, program,
                                self.adapter, behaviour=behaviour)

    def student(self, conversation: Conversation) -> tuple[Any, Any]:
        """``(student program, behaviour plan)`` of a record (:func:`~ugst_dspy.optimizers.layout.recorded_student`),
        made once per conversation: the plan is parsed and a program given behaviours copied only then."""
        from ugst_dspy.optimizers.layout import recorded_student

        with self._lock:
            found = self._students.get(conversation.key)
            if found is None:
                found = self._students[conversation.key] = recorded_student(conversation, self.program)
        return found

    def _user_turns(self, rollouts: list[Rollout], texts: Mapping[int, str], first: bool) -> None:
        for k, text in texts.items():
            rollout = rollouts[k]
            parsed = parse_completion(text, strict=True)
            if parsed is None and self.options.on_malformed == "score_text" and text.strip():
                parsed = StudentTurn(reply=text.strip(), stop=False)
            if parsed is None:  # the first turn scores 0; a later one ends the roll-out where it is
                rollout.ended = True
                rollout.malformed = rollout.malformed or first
                continue
            if parsed.stop and not parsed.reply:
                rollout.turns.append(Turn(user=STOP_MESSAGE))
                rollout.stopped = rollout.ended = True
                continue
            rollout.turns.append(Turn(user=parsed.reply))
            if parsed.stop:  # a stop in a message that still says something: the agent never answers it
                rollout.stopped = rollout.stop_with_request = rollout.ended = True

    def _agent_turn(self, rollout: Rollout) -> None:
        turn = rollout.turns[-1]
        history = rollout.turns[:-1]
        key = json.dumps([rollout.row.conversation.instruction, rollout.row.env,
                          [t.model_dump(mode="json", include={"user", "agent", "tool_calls"}) for t in rollout.turns]],
                         ensure_ascii=False, sort_keys=True) if self.cache_on else ""
        cached = None
        if self.cache_on:
            with self._lock:
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
                    self.stats["agent_cache_hits"] += 1
        if cached is not None:
            reply, env = copy.deepcopy(cached)
            rollout.env = env
        else:
            reply = self.agent.respond(history, turn.user, rollout.env)
            rollout.agent_calls += 1
            with self._lock:
                self.stats["agent_calls"] += 1
                if self.cache_on:
                    self._cache[key] = copy.deepcopy((reply, rollout.env))
                    while len(self._cache) > self.options.cache_size:
                        self._cache.popitem(last=False)
        turn.agent, turn.tool_calls = reply.text, list(reply.tool_calls)
        if reply.stop or getattr(rollout.env, "done", False):
            rollout.ended = True

    def _track(self, rollout: Rollout) -> None:
        if len(rollout.states) > len(rollout.new_turns) or rollout.turns[-1].user == STOP_MESSAGE:
            return  # nothing new to judge (the bare stop message changes no status)
        out = self.tracker(goal=rollout.row.conversation.instruction, state=rollout.states[-1], turns=rollout.turns)
        rollout.states.append(out.state)
        with self._lock:
            self.stats["tracker_calls"] += 1

    def _concurrently(self, work: Any, keys: list[int]) -> None:
        """``work(k)`` for every key, ``workers`` at a time, each under the run's DSPy adapter (a thread does
        not inherit the caller's DSPy context)."""
        import dspy

        def one(k: int) -> None:
            with dspy.context(**({"adapter": self.adapter} if self.adapter is not None else {})):
                work(k)

        if self.options.workers == 1 or len(keys) <= 1:
            for k in keys:
                one(k)
            return
        with ThreadPoolExecutor(max_workers=min(self.options.workers, len(keys))) as pool:
            list(pool.map(one, keys))

    def describe(self) -> dict[str, Any]:
        """What the run record says of the roll-outs: the options and what they cost."""
        from dataclasses import asdict

        return {**asdict(self.options), "agent_cache": self.cache_on, "tracker_mode": getattr(self.tracker, "mode", None),
                "agent": getattr(self.agent, "name", type(self.agent).__name__), **self.stats}

    def score(self, rollout: Rollout) -> TrajectoryReward | None:
        """The roll-out's reward (``None`` when its first turn broke the layout: every component scores 0)."""
        if rollout.malformed:
            return None
        return trajectory_reward(rollout.states, self.config, self.rules, stop_with_request=rollout.stop_with_request,
                                 stopped=rollout.stopped, at_turn_limit=rollout.at_turn_limit)


class RolloutRewardFunctions:
    """The six reward functions of multi-turn GRPO (five categories and termination), reading the value the
    roll-out computed (its ``rollout`` column); weights are the alphas and the termination weight."""

    def __init__(self, config: TrajectoryConfig) -> None:
        self.config = config
        self.names = config.names
        self.weights = config.weights
        self.functions = [self._function(name) for name in self.names]

    def describe(self) -> dict[str, Any]:
        return {**self.config.to_json(), "functions": self.names}

    def _function(self, name: str) -> Any:
        def reward(prompts: Any, completions: Any, completion_ids: Any = None, rollout: Any = None,
                   **_: Any) -> list[float]:
            values = []
            for item in rollout or [None] * len(completions):
                data = json.loads(item) if isinstance(item, str) else item
                values.append(float(data["values"][name]) if data else 0.0)
            return values

        reward.__name__ = name
        return reward


def prompt_token_ids(tokenizer: Any, messages: list[dict[str, str]]) -> list[int]:
    """The prompt's token ids as TRL would make them (the chat template with the generation prompt)."""
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    return list(ids["input_ids"] if isinstance(ids, Mapping) else ids)


def generate(model: Any, tokenizer: Any, encoded: list[list[int]], temperature: float,
             max_new_tokens: int) -> list[list[int]]:
    """Sample one completion per tokenized prompt in one left-padded batch; each up to and with its first EOS."""
    import torch

    width = max(len(ids) for ids in encoded)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in encoded], device=model.device)
    attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in encoded], device=model.device)
    sampling: dict[str, Any] = {"do_sample": False}
    if temperature > 0:
        sampling = {"do_sample": True, "temperature": temperature, "top_p": 1.0, "top_k": 0}
    with torch.no_grad():
        output = model.generate(input_ids=input_ids, attention_mask=attention, max_new_tokens=max_new_tokens,
                                pad_token_id=pad, **sampling)
    eos = {tokenizer.eos_token_id, *([model.generation_config.eos_token_id]
                                     if isinstance(model.generation_config.eos_token_id, int)
                                     else (model.generation_config.eos_token_id or []))}
    completions = []
    for row in output[:, width:].tolist():
        end = next((k for k, token in enumerate(row) if token in eos), None)
        completions.append(row if end is None else row[: end + 1])
    return completions


def rollout_rows(records: Sequence[Mapping[str, Any]], conversations: Sequence[Conversation],
                 env: str | None = None) -> dict[str, RolloutRow]:
    """The table of rows of the GRPO data set records (from :func:`~ugst_dspy.optimizers.grpo.grpo_records`):
    the conversation of each record (by ``conversation_id``, which must be unique), its turn and state; the
    environment is the record's ``meta.env`` unless ``env`` is given."""

    by_key: dict[str, Conversation] = {}
    for conversation in conversations:
        if conversation.key in by_key and by_key[conversation.key] is not conversation:
            raise UgstError(f"conversation id {conversation.key!r} appears twice in the data: multi-turn roll-outs "
                            "continue a conversation by its id (give each file's conversations their own ids)")
        by_key[conversation.key] = conversation
    rows: dict[str, RolloutRow] = {}
    for record in records:
        conversation = by_key[record["conversation_id"]]
        name = env or conversation.meta.env
        if not name:
            raise UgstError(f"conversation {conversation.key!r} names no environment (meta.env): give --env for "
                            "multi-turn roll-outs")
        rows[prompt_key(record["prompt"])] = RolloutRow(
            conversation=conversation, index=int(record["turn_index"]),
            state=GoalState.from_json(json.loads(record["state"])),
            max_turns=conversation.turn_limit(), env=name)
    return rows
