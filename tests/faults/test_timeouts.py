"""Every model and agent request has a timeout and bounded retries with backoff: the per-role settings, and
what a call does against a server that hangs, fails, is slow, drops the connection, answers garbage or dies
(the fake server of :mod:`faults.fake_openai`, on 127.0.0.1)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import dspy
import pytest
from dspy.utils.exceptions import LMError, LMServerError

from faults.fake_openai import AGENT_REPLY, FakeOpenAI, FakeProcess, pong
from ugst_dspy.config import UGSTConfig
from ugst_dspy.engines.spec import ModelPool, configure_adapter
from ugst_dspy.errors import UgstError
from ugst_dspy.modules import DecomposeGoal
from ugst_dspy.runner.simulate import make_agent

GOAL = "You are Yusuf Rossi in 19122. Exchange the keyboard of order #W2378156 for a clicky one."


def pool(spec: str, *, timeout: float = 3.0, retries: int = 1, role: str = "tracker") -> ModelPool:
    """A pool whose ``role`` plays ``spec`` with these request limits."""
    settings = {"model": spec, "timeout": timeout, "retries": retries}
    return ModelPool(UGSTConfig.from_dict({"roles": {role: settings}}))


def timed_failure(call, expected: type[BaseException] = LMError) -> tuple[BaseException, float]:
    start = time.monotonic()
    with pytest.raises(expected) as caught:
        call()
    return caught.value, time.monotonic() - start


# -- configuration --------------------------------------------------------------------------------------


def test_role_timeouts_and_retries_are_read_from_toml(tmp_path: Path):
    path = tmp_path / "run.toml"
    path.write_text("num_retries = 4\n[roles.tracker]\nmodel = 'openai/x'\ntimeout = 60\nretries = 1\n"
                    "[roles.agent]\ntimeout = 2.5\nretries = 0\n")
    config = UGSTConfig.load(path)
    assert config.role("tracker").timeout == 60 and config.retries("tracker") == 1
    assert config.role("agent").timeout == 2.5 and config.retries("agent") == 0
    assert config.role("simulator").timeout == 300.0 and config.role("simulator").retries is None
    assert config.retries("simulator") == 4  # unset: the run's num_retries
    assert config.to_json()["roles"]["tracker"]["timeout"] == 60


@pytest.mark.parametrize("setting, value", [
    ("timeout", 0), ("timeout", -1), ("timeout", "'soon'"), ("timeout", "true"), ("timeout", "inf"),
    ("retries", -1), ("retries", 1.5), ("retries", "'twice'"), ("retries", "false"),
])
def test_a_bad_timeout_or_retry_count_is_one_line(tmp_path: Path, setting: str, value: object):
    path = tmp_path / "run.toml"
    path.write_text(f"[roles.tracker]\n{setting} = {value}\n")
    with pytest.raises(UgstError, match=rf"roles\.tracker\.{setting} must be") as err:
        UGSTConfig.load(path)
    assert "\n" not in str(err.value)


def test_the_built_lms_and_agents_carry_their_roles_limits():
    with FakeOpenAI("good") as server:
        config = UGSTConfig.from_dict({"num_retries": 4, "roles": {
            "tracker": {"model": f"vllm:fake@{server.url}", "timeout": 1.5, "retries": 2},
            "simulator": {"model": "openai/fake-model", "timeout": 7},
            "agent": {"timeout": 3, "retries": 1},
        }})
        models = ModelPool(config)
        tracker, simulator = models.lm("tracker"), models.lm("simulator")
        agent = make_agent(f"endpoint:fake@{server.url}", models)
    assert tracker.kwargs["timeout"] == 1.5 and tracker.num_retries == 2
    assert simulator.kwargs["timeout"] == 7.0 and simulator.num_retries == 4
    assert agent.timeout == 3.0 and agent.max_retries == 1
    assert agent.client().timeout == 3.0 and agent.client().max_retries == 1


def test_the_model_check_of_a_vllm_spec_waits_at_most_the_timeout():
    """A server that accepts connections and never answers (a listening socket nobody serves)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
        error, elapsed = timed_failure(lambda: pool(f"vllm:fake@{url}", timeout=0.5).lm("tracker"), UgstError)
    assert "unreachable" in str(error) and "\n" not in str(error) and elapsed < 2.0


def test_dspy_backs_off_exponentially_up_to_a_minute():
    """The schedule ``fast_backoff`` shortens: DSPy's own, between the attempts of its retry loop."""
    from dspy.clients.execution import _delay

    assert [_delay(RuntimeError("x"), attempt) for attempt in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


# -- a model call against a failing server ---------------------------------------------------------------


def test_a_hanging_server_fails_the_call_within_its_timeout(fast_backoff):
    with FakeOpenAI("hang") as server:
        lm = pool(f"vllm:fake@{server.url}", timeout=0.5, retries=1).lm("tracker")
        error, elapsed = timed_failure(lambda: lm("ping"))
        assert server.counts["hang"] == 2  # the first try and one retry, each cut at the timeout
    assert "timed out" in str(error)
    assert 1.0 <= elapsed < 4.0
    assert fast_backoff == [1]


def test_server_errors_are_retried_exactly_retries_times_then_raise(fast_backoff):
    with FakeOpenAI("error500") as server:
        lm = pool(f"vllm:fake@{server.url}", retries=2).lm("tracker")
        error, elapsed = timed_failure(lambda: lm("ping"), LMServerError)
        assert server.counts["error500"] == 3
    assert "fake error500 failure #3" in str(error) and elapsed < 2.0
    assert fast_backoff == [1, 2]  # exponential backoff between the attempts


def test_no_retries_means_one_attempt(fast_backoff):
    with FakeOpenAI("error500") as server:
        lm = pool(f"vllm:fake@{server.url}", retries=0).lm("tracker")
        timed_failure(lambda: lm("ping"), LMServerError)
        assert server.counts["error500"] == 1 and fast_backoff == []


def test_a_flaky_server_succeeds_after_retries_and_our_modules_work(fast_backoff):
    with FakeOpenAI("flaky", fail_first=2) as server:
        models = pool(f"vllm:fake@{server.url}", retries=2, role="decomposer")
        decomposer = DecomposeGoal()
        decomposer.set_lm(models.lm("decomposer"))
        with dspy.context(adapter=configure_adapter(models.config)):
            state = decomposer(goal=GOAL).state
        assert server.counts["flaky"] == 3
        assert server.bodies[-1]["response_format"]["type"] == "json_schema"  # the schema reached the server
    assert [item.text for item in state.task_objectives] == ["Exchange the mechanical keyboard in order #W2378156."]


def test_a_dropped_connection_is_retried_then_raises(fast_backoff):
    with FakeOpenAI("drop") as server:
        lm = pool(f"vllm:fake@{server.url}", retries=1).lm("tracker")
        error, elapsed = timed_failure(lambda: lm("ping"))
        assert server.counts["drop"] == 2
    assert "connection closed" in str(error) and elapsed < 2.0


def test_a_reply_that_is_not_json_raises_a_clear_error(fast_backoff):
    with FakeOpenAI("malformed") as server:
        lm = pool(f"vllm:fake@{server.url}", retries=2).lm("tracker")
        error, elapsed = timed_failure(lambda: lm("ping"))
        assert server.counts["malformed"] == 1  # an HTTP 200 is not retried: the server may have done the work
    assert "is not JSON" in str(error) and elapsed < 2.0


def test_a_reply_that_is_not_a_completion_fails_the_module_call(fast_backoff):
    with FakeOpenAI("wrongshape") as server:
        models = pool(f"vllm:fake@{server.url}", role="decomposer")
        decomposer = DecomposeGoal()
        decomposer.set_lm(models.lm("decomposer"))
        start = time.monotonic()
        with dspy.context(adapter=configure_adapter(models.config)), pytest.raises(Exception) as caught:
            decomposer(goal=GOAL)
        assert server.counts["wrongshape"] >= 1
    assert "parse" in str(caught.value).lower() and time.monotonic() - start < 3.0


def test_a_slow_server_fails_past_the_timeout_and_answers_within_it(fast_backoff):
    with FakeOpenAI("slow", delay=2.0, responder=pong) as server:
        lm = pool(f"vllm:fake@{server.url}", timeout=0.3, retries=0).lm("tracker")
        error, elapsed = timed_failure(lambda: lm("ping"))
        assert "timed out" in str(error) and elapsed < 1.5
        server.delay = 0.2
        patient = pool(f"vllm:fake@{server.url}", timeout=2.0, retries=0).lm("tracker")
        assert patient("ping") == ["pong"]


def test_a_server_killed_mid_request_fails_the_call_at_once():
    with FakeProcess("hang") as server:
        lm = pool(f"vllm:fake@{server.url}", timeout=30.0, retries=0).lm("tracker")
        errors: list[BaseException] = []

        def call() -> None:
            try:
                lm("ping")
            except BaseException as err:  # noqa: BLE001 - handed to the test thread
                errors.append(err)

        worker = threading.Thread(target=call)
        start = time.monotonic()
        worker.start()
        deadline = start + 10
        while server.stats()["counts"].get("hang", 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()
        worker.join(timeout=10)
        elapsed = time.monotonic() - start
    assert not worker.is_alive() and len(errors) == 1 and isinstance(errors[0], LMError)
    assert elapsed < 10  # the connection closed: no waiting for the 30 s timeout


def test_a_dead_server_is_retried_with_backoff_then_raises(fast_backoff):
    with FakeProcess("good", responder="faults.fake_openai:pong") as server:
        lm = pool(f"vllm:fake@{server.url}", retries=2).lm("tracker")
        assert lm("ping") == ["pong"]
        assert server.stats()["counts"] == {"models": 1, "good": 1}
        server.kill()
        error, elapsed = timed_failure(lambda: lm("ping"))
    assert fast_backoff == [1, 2] and elapsed < 3.0


@pytest.mark.slow
def test_an_api_model_through_litellm_has_the_timeout_and_retries(fast_backoff, monkeypatch: pytest.MonkeyPatch):
    """``provider/model`` with ``OPENAI_API_BASE`` goes through LiteLLM (its import alone takes ~8 s)."""
    with FakeOpenAI("hang") as server:
        monkeypatch.setenv("OPENAI_API_BASE", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "none")
        lm = pool("openai/fake", timeout=0.5, retries=1).lm("tracker")
        error, _ = timed_failure(lambda: lm("ping"))
        assert server.counts["hang"] == 2
        assert "timed out" in str(error).lower()
        server.mode = "error500"
        timed_failure(lambda: lm("ping"), LMServerError)
        assert server.counts["error500"] == 2
        server.mode = "good"  # and a module works on that route (without a schema, the fake reads the fields)
        models = pool("openai/fake", role="decomposer")
        decomposer = DecomposeGoal()
        decomposer.set_lm(models.lm("decomposer"))
        with dspy.context(adapter=configure_adapter(models.config)):
            assert decomposer(goal=GOAL).state.task_objectives
        assert server.counts["good"] >= 1


# -- the endpoint agent ----------------------------------------------------------------------------------


def endpoint_agent(url: str, *, timeout: float, retries: int):
    models = ModelPool(UGSTConfig.from_dict({"roles": {"agent": {"timeout": timeout, "retries": retries}}}))
    agent = make_agent(f"endpoint:fake@{url}", models)
    agent.client().chat.completions  # imports the OpenAI SDK and its chat resources (seconds) before any timing
    return agent


@pytest.fixture(scope="module")
def retail():
    from ugst_dspy.envs import make_env

    return make_env("tau-retail")


def test_the_endpoint_agent_fails_within_its_timeout_on_a_hanging_server(retail):
    with FakeOpenAI("hang") as server:
        agent = endpoint_agent(server.url, timeout=0.5, retries=0)
        error, elapsed = timed_failure(lambda: agent.respond([], "Hello", retail), UgstError)
        assert server.counts["hang"] == 1
    assert "timed out" in str(error).lower() and "\n" not in str(error)
    assert elapsed < 3.0


def test_the_endpoint_agent_retries_server_errors_with_backoff(retail):
    with FakeOpenAI("error500") as server:
        agent = endpoint_agent(server.url, timeout=2.0, retries=1)
        error, elapsed = timed_failure(lambda: agent.respond([], "Hello", retail), UgstError)
        assert server.counts["error500"] == 2
    assert "InternalServerError" in str(error)
    assert 0.3 <= elapsed < 3.0  # the OpenAI client slept ~0.5 s (jittered) before its retry


def test_the_endpoint_agent_gets_a_plain_reply_from_the_fake(retail):
    with FakeOpenAI("flaky", fail_first=1) as server:
        reply = endpoint_agent(server.url, timeout=2.0, retries=1).respond([], "Hello", retail)
        assert server.counts["flaky"] == 2 and server.bodies[-1]["tools"]
    assert reply.text == AGENT_REPLY and reply.tool_calls == []
