"""Per-role quality of the candidate embedded models on a small, fixed, hand-checked task set.

Each model plays every role through the library's own modules, built and configured as ``ugst simulate``
builds them: one :class:`ModelPool` over ``UGSTConfig`` with every role on the model (the roles' default
sampling: decomposer, tracker and agent greedy, simulator at temperature 0.7, seed 0), the run's adapter
(``dspy.context(adapter=configure_adapter(config))``), GGUF models on llama.cpp. One model is loaded at a
time. The tasks (all τ-bench retail):

- **decomposition** (:class:`DecomposeGoal`) of ``--goals`` goals. *Coverage*: the share of the goal's
  sentences (split as :func:`ugst_dspy.modules.goal_pieces.sentences` splits them) whose hand-set key terms
  all appear in the sub-components (each term in some sub-component; case, punctuation and word endings
  ignored: a term matches at the start of a word). *Duplicates*: sub-components whose text (lower-cased,
  punctuation removed) repeats an earlier one's. A decomposition that fails to parse covers nothing.
- **customer turns** (the main job's :class:`StateSteeredSimulator`, on a hand-written goal state): the
  user's first message, then its second after a fixed agent reply asking for name and zip code. *In role*:
  no agent phrasing (:data:`AGENT_PHRASES`: offering help, claiming to look up, find or process something,
  thanking for contacting) and not empty. *Expected*: the first message names the task (a hand-set
  pattern), the second gives the zip code.
- **judge verdicts** (:class:`GoalStateTracker` in the run's evaluation mode, per component): hand-written
  one- or two-turn conversations over a hand-written goal state; every sub-component of the state has a
  status set by hand. *Agreement*: judged statuses equal to the hand-set ones. (Keeping every initial
  status scores :data:`JUDGE_BASELINE`.)
- **agent tool calls** (:class:`DSPyToolAgent` on the τ-retail environment): a first user message giving
  name and zip code; the agent's first step must call ``find_user_id_by_name_zip`` with exactly those
  arguments (values compared case-insensitively). The agent runs its own ``forward``; the environment
  ends the turn after the first tool call.

    python -m bench.roles                          # both models, a subset: 2 goals, 2 customers, 4 judge cases, 2 agent messages
    python -m bench.roles --all                    # every task: 3 goals, 3 customers (6 messages), 8 cases (13 statuses), 3 agent messages
    python -m bench.roles --rescore                # score the saved outputs again (after changing a check)
    python -m bench.roles --models qwen --goals 0 --customers 0 --judge 8 --agent 0 --name roles-judge
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections.abc import Callable
from typing import Any

from bench.common import save, table

MODELS = {"smollm2": "embedded:smollm2", "qwen": "embedded:qwen"}

# -- decomposition ---------------------------------------------------------------------------------------
# Per goal, per sentence: the key terms that must appear in the sub-components ("a|b": either).
DECOMPOSITION: list[tuple[str, list[list[str]]]] = [
    ("retail-test-0", [
        ["yusuf rossi", "19122"],
        ["w2378156", "keyboard", "clicky", "thermostat", "google home"],
        ["rgb", "full size|full-size", "no backlight|without backlight"],
        ["detail"],
    ]),
    ("retail-test-5", [
        ["mei kovacs|mei_kovacs", "28236", "water bottle", "desk lamp"],
        ["bigger|larger", "less bright|dimmer", "battery"],
        ["confirm", "only", "desk lamp"],
        ["again|second", "return", "water bottle"],
    ]),
    ("retail-test-3", [
        ["yusuf rossi", "19122"],
        ["tshirt|t shirt|t-shirt", "how many|number"],
        ["purple", "v neck|v-neck", "polyester"],
        ["private|reveal"],
    ]),
]

# -- customer turns --------------------------------------------------------------------------------------
AGENT_ASKS = ("I can help with that. Could you please tell me your first name, last name and zip code, so that I "
              "can find your account?")
AGENT_PHRASES = [
    # offering help, service phrases
    r"how (can|may|could) i (help|assist)", r"\b(i|we)('d| would)? be (happy|glad) to (help|assist)",
    r"what can i do for you", r"anything else i can", r"\bcan i (help|assist)\b", r"\bi can help you\b",
    r"\bthank you for (contacting|reaching out|calling|choosing)", r"\bdear customer\b",
    # claiming to look something up or to act on the account
    r"\blet me (check|look|find|see|pull|verify|process)", r"\bi('ll| will) (check|look|find|verify|process|pull)",
    r"\bi(| have|'ve) (found|located|checked|processed|updated|initiated|cancell?ed) (your|the customer)",
    r"\byour (order|account|request|exchange|return) (has been|is being|is now)",
    # asking the customer for their details, refusing as an assistant, speaking of "your goal"
    r"\b(provide|give|tell|share)( me)?( with)? your (name|full name|first name|zip|order|email|account|user|address|payment)", r"please provide (me )?(with )?the (order|zip|name|email)",
    r"\bi('m| am) sorry,? but i (can't|cannot|can not|am unable|'m unable|don't have|do not have)",
    r"\bi (can't|cannot|am unable to) (assist|help)\b", r"\bi (don't|do not) have the ability",
    r"\bas an ai\b", r"\byour goal\b",
]
# goal id, the goal state as the simulator sees it, the first message's expected pattern, the zip code
CUSTOMER: list[tuple[str, dict[str, Any], str, str]] = [
    ("retail-test-0", {
        "user_profile": ["You are Yusuf Rossi in 19122."],
        "user_policy": ["You are detail-oriented and want everything addressed in one go."],
        "task_objectives": [
            {"text": "Exchange the mechanical keyboard of order #W2378156 for a similar one with clicky switches.",
             "requirements": ["The new keyboard has clicky switches."],
             "preferences": ["If no clicky, RGB-backlit, full-size keyboard exists, you'd go for no backlight."]},
            {"text": "Exchange the smart thermostat for one compatible with Google Home instead of Apple HomeKit."},
        ]}, r"exchang|keyboard|thermostat", "19122"),
    ("retail-test-5", {
        "user_profile": ["You are mei_kovacs_8020 (zip code 28236)."],
        "task_objectives": [
            {"text": "Exchange the water bottle for a bigger one and the desk lamp for a less bright one.",
             "preferences": ["For the lamp, prefer battery > USB > AC."]},
        ]}, r"exchang|water bottle|lamp", "28236"),
    ("retail-test-3", {
        "user_profile": ["You are Yusuf Rossi in 19122."],
        "user_policy": ["You are a private person that does not want to reveal much about yourself."],
        "task_objectives": [
            {"text": "Know how many tshirt options are available in the online store right now."},
            {"text": "Modify all your pending small tshirts to purple, same size, same v-neck.",
             "preferences": ["You prefer polyester."]},
        ]}, r"t-?shirt|shirt", "19122"),
]

# -- judge verdicts --------------------------------------------------------------------------------------
G0_PROFILE = "You are Yusuf Rossi in 19122."
G0_KEYBOARD = "Exchange the mechanical keyboard of order #W2378156 for a similar one with clicky switches."
G0_CLICKY = "The new keyboard has clicky switches."
G0_BACKLIGHT = "If no clicky, RGB-backlit, full-size keyboard exists, you'd go for no backlight."
G0_THERMOSTAT = "Exchange the smart thermostat for one compatible with Google Home instead of Apple HomeKit."
G3_POLICY = "You are a private person that does not want to reveal much about yourself."
G3_COUNT = "Know how many tshirt options are available in the online store right now."
FOUND = {"name": "find_user_id_by_name_zip", "arguments": {"first_name": "Yusuf", "last_name": "Rossi", "zip": "19122"},
         "result": "yusuf_rossi_9620"}
EXCHANGED = {"name": "exchange_delivered_order_items",
             "arguments": {"order_id": "#W2378156", "item_ids": ["1151293680"], "new_item_ids": ["7706410293"],
                           "payment_method_id": "credit_card_9513926"},
             "result": '{"order_id": "#W2378156", "status": "exchange requested"}'}
# (name, goal id, state, turns as (user, agent, tool calls), hand-set status per address); the cheapest first
# (one judge call per sub-component and turn), so a shorter run (--judge N) keeps the one-call cases
JUDGE: list[tuple[str, str, dict[str, Any], list[tuple[str, str, list[dict[str, Any]]]], dict[str, str]]] = [
    ("another identity", "retail-test-0",
     {"user_profile": [G0_PROFILE]},
     [("Hello, my name is John Smith and my zip code is 10001. I want to exchange a keyboard.",
       "Thanks, John. Let me look up your account.", [])],
     {"user_profile[0]": "MISALIGNED"}),
    ("private person overshares", "retail-test-3",
     {"user_policy": [G3_POLICY]},
     [("Hi! I'm Yusuf Rossi, I'm 34, I live alone with my cat Max, my birthday is May 3rd, I work night shifts as a "
       "nurse at the city hospital and I just went through a divorce. How many t-shirt options do you have?",
       "We have several t-shirt options. May I have your zip code to find your account?", [])],
     {"user_policy[0]": "MISALIGNED"}),
    ("identity given, task just started", "retail-test-0",
     {"user_profile": [G0_PROFILE], "task_objectives": [{"text": G0_KEYBOARD}]},
     [("Hi, I'm Yusuf Rossi, zip code 19122. I'd like to exchange the mechanical keyboard from my order #W2378156.",
       "I found your account, Yusuf. Which keyboard would you like instead?", [FOUND])],
     {"user_profile[0]": "ALIGNED", "task_objectives[0]": "INCOMPLETE"}),
    ("exchange impossible", "retail-test-0",
     {"task_objectives": [{"text": G0_THERMOSTAT}]},
     [("Please exchange the smart thermostat in order #W2378156 for one that works with Google Home.",
       "I'm sorry, no smart thermostat compatible with Google Home is available, so I can't make this exchange.", []),
      ("Are you sure? Could you check again, please?",
       "I checked again: none is available, and the exchange is not possible.", [])],
     {"task_objectives[0]": "ATTEMPTED"}),
    ("preference stated", "retail-test-0",
     {"task_objectives": [{"text": G0_KEYBOARD, "preferences": [G0_BACKLIGHT]}]},
     [("If there is no clicky keyboard with RGB backlight in full size, I'd go for one with no backlight.",
       "Understood. Let me check the options for you.", [])],
     {"task_objectives[0]": "INCOMPLETE", "task_objectives[0].preferences[0]": "ALIGNED"}),
    ("exchange done", "retail-test-0",
     {"task_objectives": [{"text": G0_KEYBOARD, "requirements": [G0_CLICKY]}]},
     [("I'm Yusuf Rossi, 19122. Please exchange the mechanical keyboard in order #W2378156 for one with clicky "
       "switches.", "I found it. The clicky, RGB, full-size version (item 7706410293) is available. Shall I exchange "
       "it and charge the price difference to credit_card_9513926?", [FOUND]),
      ("Yes, please go ahead.", "Done: the keyboard in order #W2378156 is being exchanged for the clicky one. You "
       "will receive an email with the return instructions.", [EXCHANGED])],
     {"task_objectives[0]": "COMPLETE", "task_objectives[0].requirements[0]": "COMPLETE"}),
    ("preference not stated yet", "retail-test-0",
     {"task_objectives": [{"text": G0_KEYBOARD, "preferences": [G0_BACKLIGHT]}]},
     [("Hi, I'm Yusuf Rossi from 19122 and I want to exchange my keyboard.", "Sure. Which order is it?", [FOUND])],
     {"task_objectives[0]": "INCOMPLETE", "task_objectives[0].preferences[0]": "MISALIGNED"}),
    ("private person stays brief", "retail-test-3",
     {"user_policy": [G3_POLICY], "task_objectives": [{"text": G3_COUNT}]},
     [("Hi, how many t-shirt options are available in your store right now?",
       "We currently have 12 t-shirt options available.", [])],
     {"user_policy[0]": "ALIGNED", "task_objectives[0]": "COMPLETE"}),
]
JUDGE_BASELINE = "the share of hand-set statuses equal to the initial status"

# -- agent tool calls ------------------------------------------------------------------------------------
AGENT: list[tuple[str, dict[str, str]]] = [
    ("Hi, I'm Yusuf Rossi and my zip code is 19122. I want to exchange a keyboard I received.",
     {"first_name": "Yusuf", "last_name": "Rossi", "zip": "19122"}),
    ("Hello, this is Mei Kovacs, zip 28236. I'd like to exchange a water bottle and a desk lamp.",
     {"first_name": "Mei", "last_name": "Kovacs", "zip": "28236"}),
    ("Hi there. My name is Fatima Johnson, I live in 78712, and I want to change the size of the boots I ordered.",
     {"first_name": "Fatima", "last_name": "Johnson", "zip": "78712"}),
]


# -- scoring helpers -------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def has_term(texts: list[str], term: str) -> bool:
    """Whether one alternative of ``term`` ("a|b") starts a word in one of ``texts`` (normalised)."""
    for alternative in term.split("|"):
        pattern = re.compile(r"(?<![a-z0-9])" + re.escape(normalise(alternative)))
        if any(pattern.search(normalise(text)) for text in texts):
            return True
    return False


STOP_WORDS = frozenset("must have with that this your want wants would will from they them their there then than what "
                       "which when where should also only very into onto been being does were".split())


def foreign(text: str, goal: str) -> bool:
    """Whether fewer than half of a sub-component's content words (4+ letters, not in :data:`STOP_WORDS`)
    occur in the goal: an item the model added (e.g. copied from the prompt's examples), not the goal's."""
    words = [w for w in normalise(text).split() if len(w) >= 4 and w not in STOP_WORDS]
    goal_words = set(normalise(goal).split())
    return bool(words) and sum(w in goal_words for w in words) < len(words) / 2


def repeated(texts: list[str]) -> int:
    """How many of ``texts`` repeat an earlier one (normalised)."""
    seen: set[str] = set()
    count = 0
    for text in texts:
        key = normalise(text)
        count += key in seen
        seen.add(key)
    return count


def decomposition_scores(texts: list[str], sentences: list[list[str]], goal: str = "") -> dict[str, Any]:
    covered = [all(has_term(texts, term) for term in terms) for terms in sentences]
    duplicates = repeated(texts)
    added = [text for text in texts if goal and foreign(text, goal)]
    return {"items": len(texts), "covered": sum(covered), "sentences": len(sentences),
            "uncovered": [i + 1 for i, ok in enumerate(covered) if not ok], "duplicates": duplicates,
            "not_from_goal": len(added), "not_from_goal_texts": added}


def out_of_role(message: str) -> list[str]:
    """The agent phrases a user message holds (empty: in role)."""
    text = message.lower().replace("\u2019", "'")
    return [p for p in AGENT_PHRASES if re.search(p, text)]


def customer_expectation(goal_id: str, message: int) -> str:
    """The pattern the user's message ``message`` (1 or 2) of goal ``goal_id`` must hold."""
    _, _, first_pattern, zip_code = next(c for c in CUSTOMER if c[0] == goal_id)
    return first_pattern if message == 1 else re.escape(zip_code)


def customer_scores(goal_id: str, message: int, reply: str) -> dict[str, Any]:
    phrases = out_of_role(reply)
    return {"in_role": bool(reply.strip()) and not phrases, "agent_phrases": phrases,
            "expected": bool(re.search(customer_expectation(goal_id, message), reply.lower()))}


class FirstCallOnly:
    """The τ-retail environment, ending the agent's turn after its first tool call (``done`` then)."""

    def __init__(self, env: Any) -> None:
        self.env, self.calls = env, 0
        self.policy, self.schemas = env.policy, env.schemas

    @property
    def done(self) -> bool:
        return self.calls > 0 or self.env.done

    def call(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        self.calls += 1
        return self.env.call(name, arguments)


# -- the tasks -------------------------------------------------------------------------------------------


def run_decomposition(config: Any, pool: Any, goals: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    from ugst_dspy.modules.decompose import DecomposeGoal
    from ugst_dspy.modules.goal_pieces import sentences
    from ugst_dspy.rules import get_rules

    decomposer = DecomposeGoal(get_rules(config.rules))
    decomposer.set_lm(pool.lm("decomposer"))
    rows = []
    for goal_id, terms in DECOMPOSITION[:limit]:
        goal = goals[goal_id].instruction
        assert len(sentences(goal)) == len(terms), f"{goal_id}: the goal's sentences changed"
        started = time.perf_counter()
        try:
            state = decomposer(goal=goal).state
            texts = [located.text for located in state.items()]
            categories = [located.category.value for located in state.items()]
            error = None
        except Exception as err:  # a failed decomposition covers nothing
            texts, categories, error = [], [], f"{type(err).__name__}: {str(err)[:200]}"
        row = {"goal": goal_id, **decomposition_scores(texts, terms, goal), "texts": texts, "categories": categories,
               "error": error, "seconds": time.perf_counter() - started}
        print(f"    decomposition {goal_id}: {row['covered']}/{row['sentences']} covered, {row['items']} items, "
              f"{row['duplicates']} repeated, {row['not_from_goal']} not from the goal", flush=True)
        rows.append(row)
    return rows


def run_customer(config: Any, pool: Any, goals: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    from ugst_dspy.conversation import Turn
    from ugst_dspy.modules.simulators import make_simulator
    from ugst_dspy.rules import get_rules

    rules = get_rules(config.rules)
    simulator = make_simulator("state-steered", config.max_turns)
    simulator.set_lm(pool.lm("simulator"))
    rows = []
    for goal_id, state_spec, _, _ in CUSTOMER[:limit]:
        goal = goals[goal_id].instruction
        state = rules.new_state(state_spec.get("user_profile", ()), state_spec.get("user_policy", ()),
                                state_spec.get("task_objectives", ()))
        started = time.perf_counter()
        first = simulator(goal=goal, turns=[], state=state, max_turns=config.max_turns)
        second = simulator(goal=goal, turns=[Turn(user=first.reply, agent=AGENT_ASKS)], state=state,
                           max_turns=config.max_turns)
        for n, said in ((1, first), (2, second)):
            reply = str(said.reply or "")
            rows.append({"goal": goal_id, "message": n, "reply": reply, "stop": bool(said.stop),
                         **customer_scores(goal_id, n, reply), "seconds": time.perf_counter() - started})
            print(f"    customer {goal_id} #{n}: in role {rows[-1]['in_role']}, expected {rows[-1]['expected']}: "
                  f"{reply[:120]!r}", flush=True)
    return rows


def run_judge(config: Any, pool: Any, goals: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    from ugst_dspy.conversation import ToolCall, Turn
    from ugst_dspy.modules.tracker import GoalStateTracker
    from ugst_dspy.rules import get_rules

    rules = get_rules(config.rules)
    tracker = GoalStateTracker(mode=config.tracker_mode, rules=rules)  # type: ignore[arg-type]
    tracker.set_lm(pool.lm("tracker"))
    rows = []
    for name, goal_id, spec, turns_spec, expected in JUDGE[:limit]:
        state = rules.new_state(spec.get("user_profile", ()), spec.get("user_policy", ()), spec.get("task_objectives", ()))
        initial = {str(located.address): located.status.value for located in state.items()}
        assert set(initial) == set(expected), f"{name}: every sub-component needs a hand-set status"
        turns: list[Turn] = []
        unusable: dict[str, int] = {}
        started = time.perf_counter()
        for user, agent, calls in turns_spec:  # tracked turn by turn, as a run tracks
            turns.append(Turn(user=user, agent=agent, tool_calls=[ToolCall(**call) for call in calls]))
            out = tracker(goal=goals[goal_id].instruction, state=state, turns=turns)
            state = out.state
            for illegal in out.illegal:  # an unusable judge answer (unparsed, cut off) leaves the status as it was
                unusable[illegal.update.address] = unusable.get(illegal.update.address, 0) + 1
        judged = {str(located.address): located.status.value for located in state.items()}
        reasons = {str(located.address): located.item.reason for located in state.items()}
        for address, status in expected.items():
            rows.append({"case": name, "address": address, "expected": status, "judged": judged[address],
                         "initial": initial[address], "agree": judged[address] == status,
                         "unusable_answers": unusable.get(address, 0), "reason": reasons[address],
                         "seconds": time.perf_counter() - started})
            print(f"    judge {name} / {address}: expected {status}, judged {judged[address]}", flush=True)
    return rows


def run_agent(config: Any, pool: Any, limit: int) -> list[dict[str, Any]]:
    from ugst_dspy.envs.registry import make_env
    from ugst_dspy.runner.simulate import make_agent

    agent = make_agent("dspy", pool)
    rows = []
    for message, arguments in AGENT[:limit]:
        env = FirstCallOnly(make_env("tau-retail"))
        started = time.perf_counter()
        reply = agent.respond([], message, env)
        call = reply.tool_calls[0] if reply.tool_calls else None
        got = call.arguments if call is not None and isinstance(call.arguments, dict) else {}
        right_tool = call is not None and call.name == "find_user_id_by_name_zip"
        right_args = right_tool and {k: str(v).strip().lower() for k, v in got.items()} == {
            k: v.lower() for k, v in arguments.items()}
        rows.append({"message": message, "tool": call.name if call else None, "arguments": call.arguments if call else None,
                     "reply": reply.text if call is None else "", "right_tool": right_tool, "right_arguments": right_args,
                     "seconds": time.perf_counter() - started})
        print(f"    agent: {rows[-1]['tool']} {rows[-1]['arguments']} (right tool {right_tool}, arguments {right_args})",
              flush=True)
    return rows


def run_model(model: str, limits: dict[str, int]) -> dict[str, Any]:
    import dspy

    from ugst_dspy.config import UGSTConfig
    from ugst_dspy.engines.spec import ModelPool, configure_adapter
    from ugst_dspy.envs.registry import default_goals_path
    from ugst_dspy.files.goals import read_goals

    config = UGSTConfig.resolve(None, {"all": MODELS[model]}, env={})
    pool = ModelPool(config)
    goals = {goal.id: goal for goal in read_goals(default_goals_path("tau-retail"))}
    result: dict[str, Any] = {"model": model, "spec": MODELS[model], "load_average_start": os.getloadavg()[0]}
    tasks: list[tuple[str, Callable[[], list[dict[str, Any]]]]] = [
        ("decomposition", lambda: run_decomposition(config, pool, goals, limits["goals"])),
        ("customer", lambda: run_customer(config, pool, goals, limits["customers"])),
        ("judge", lambda: run_judge(config, pool, goals, limits["judge"])),
        ("agent", lambda: run_agent(config, pool, limits["agent"])),
    ]
    try:
        with dspy.context(adapter=configure_adapter(config)):
            for name, task in tasks:
                started = time.perf_counter()
                result[name] = task()
                result[f"{name}_seconds"] = time.perf_counter() - started
    finally:
        for engine in pool.engines().values():
            engine.close()
    result["engine"] = sorted(type(engine).__name__ for engine in pool.engines().values())
    result["load_average_end"] = os.getloadavg()[0]
    return result


def summary(r: dict[str, Any]) -> dict[str, Any]:
    dec, cus, jud, age = r["decomposition"], r["customer"], r["judge"], r["agent"]
    return {
        "coverage": (sum(d["covered"] for d in dec), sum(d["sentences"] for d in dec)),
        "duplicates": (sum(d["duplicates"] for d in dec), sum(d["items"] for d in dec)),
        "not_from_goal": (sum(d.get("not_from_goal", 0) for d in dec), sum(d["items"] for d in dec)),
        "judge_unusable": (sum(1 for j in jud if j.get("unusable_answers")) if all("unusable_answers" in j for j in jud)
                           else None, len(jud)),
        "failed_decompositions": sum(d["error"] is not None for d in dec),
        "in_role": (sum(c["in_role"] for c in cus), len(cus)),
        "expected": (sum(c["expected"] for c in cus), len(cus)),
        "agreement": (sum(j["agree"] for j in jud), len(jud)),
        "baseline": (sum(j["expected"] == j["initial"] for j in jud), len(jud)),
        "right_tool": (sum(a["right_tool"] for a in age), len(age)),
        "right_arguments": (sum(a["right_arguments"] for a in age), len(age)),
    }


def fraction(pair: tuple[int, int]) -> str:
    done, total = pair
    return f"{100 * done / total:.0f}% ({done}/{total})" if total else "n/a"


def render(results: list[dict[str, Any]]) -> str:
    head = ["model", "decomposition coverage", "repeated items", "items not from the goal", "customer in role",
            "customer as expected", "judge agreement (unusable answers)", "agent right tool", "agent right arguments",
            "seconds"]
    rows = []
    for r in results:
        s = summary(r)
        seconds = sum(r[f"{name}_seconds"] for name in ("decomposition", "customer", "judge", "agent"))
        failed = f", {s['failed_decompositions']} unparsed" if s["failed_decompositions"] else ""
        unusable = s["judge_unusable"][0]
        rows.append([r["model"], fraction(s["coverage"]) + failed, f"{s['duplicates'][0]} of {s['duplicates'][1]}",
                     f"{s['not_from_goal'][0]} of {s['not_from_goal'][1]}",
                     fraction(s["in_role"]), fraction(s["expected"]),
                     fraction(s["agreement"]) + ("" if unusable is None else f" ({unusable})"),
                     fraction(s["right_tool"]), fraction(s["right_arguments"]), round(seconds)])
    baseline = summary(results[0])["baseline"] if results else (0, 0)
    return table(head, rows) + f"\n\nJudge baseline ({JUDGE_BASELINE}): {fraction(baseline)}"


def llama_cpp_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        return None


def rescore(name: str) -> dict[str, Any]:
    """Score the saved outputs of ``bench/results/NAME.json`` again with the current checks (decompositions and
    customer replies; judge verdicts and agent calls need no text checks)."""
    import json

    from bench.common import RESULTS

    from ugst_dspy.envs.registry import default_goals_path
    from ugst_dspy.files.goals import read_goals

    goals = {goal.id: goal.instruction for goal in read_goals(default_goals_path("tau-retail"))}
    terms = dict(DECOMPOSITION)
    saved = json.loads((RESULTS / f"{name}.json").read_text())
    for result in saved["models"]:
        for row in result["decomposition"]:
            row.update(decomposition_scores(row["texts"], terms[row["goal"]], goals[row["goal"]]))
        for row in result["customer"]:
            row.update(customer_scores(row["goal"], row["message"], row["reply"]))
    print(render(saved["models"]))
    saved["summary"] = {r["model"]: summary(r) for r in saved["models"]}
    saved["rescored"] = True
    measured = saved.get("measured") or {k: saved.get(k) for k in ("date", "machine", "versions")}
    keep = {k: v for k, v in saved.items() if k not in ("date", "machine", "versions", "measured")}
    save(name, {**keep, "measured": measured})
    return saved


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="smollm2,qwen", help="comma-separated: smollm2, qwen")
    parser.add_argument("--goals", type=int, default=2, help=f"goals to decompose (of {len(DECOMPOSITION)})")
    parser.add_argument("--customers", type=int, default=2,
                        help=f"goals whose first two user messages are checked (of {len(CUSTOMER)})")
    parser.add_argument("--judge", type=int, default=4, help=f"judge cases (of {len(JUDGE)})")
    parser.add_argument("--agent", type=int, default=2, help=f"agent first messages (of {len(AGENT)})")
    parser.add_argument("--all", action="store_true", help="every task of the set")
    parser.add_argument("--name", help="results file bench/results/NAME.json (default: roles, with --all roles-all)")
    parser.add_argument("--rescore", action="store_true",
                        help="score the saved outputs of bench/results/roles.json (with --all: roles-all.json) again, no model runs")
    args = parser.parse_args(argv)
    name = args.name or ("roles-all" if args.all else "roles")
    if args.rescore:
        return rescore(name)
    limits = {"goals": args.goals, "customers": args.customers, "judge": args.judge, "agent": args.agent}
    if args.all:
        limits = {"goals": len(DECOMPOSITION), "customers": len(CUSTOMER), "judge": len(JUDGE), "agent": len(AGENT)}
    results = []
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        print(f"  {model}...", flush=True)
        results.append(run_model(model, limits))
    print(render(results))
    save(name, {"settings": {**vars(args), **limits}, "llama_cpp_python": llama_cpp_version(), "models": results,
                   "summary": {r["model"]: summary(r) for r in results}})
    return {"models": results}


if __name__ == "__main__":
    main()
