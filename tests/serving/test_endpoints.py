"""One model on several servers (``vllm:MODEL@URL1,URL2``): parsing, spreading by least requests in flight,
conversation affinity, failover when a server is down, and the per-server counts, against two fake
OpenAI-compatible servers on 127.0.0.1 (:mod:`faults.fake_openai`)."""

from __future__ import annotations

import asyncio
import copy
import pickle
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import dspy
import pytest
from dspy.utils.exceptions import LMError, LMInvalidRequestError, LMServerError, LMTransportError

from faults.fake_openai import FakeOpenAI, FakeProcess, pong
from ugst_dspy.config import UGSTConfig
from ugst_dspy.engines.affinity import conversation_affinity, current_affinity, open_conversations
from ugst_dspy.engines.endpoints import EndpointRouter, MultiEndpointLM, home_index
from ugst_dspy.engines.spec import ModelPool, ModelSpec, configure_adapter
from ugst_dspy.errors import UgstError
from ugst_dspy.modules import DecomposeGoal
from ugst_dspy.serving.provider import parse_base_urls, vllm_lm
from ugst_dspy.serving.vllm_server import free_port
from ugst_dspy.usage import UsageRecorder

GOAL = "You are Yusuf Rossi in 19122. Exchange the keyboard of order #W2378156 for a clicky one."


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """DSPy's retry loop sleeps 10 ms between attempts instead of 1, 2, 4... s."""
    import dspy.clients.execution as execution

    monkeypatch.setattr(execution, "_delay", lambda exc, attempt: 0.01)


def raises(call):
    """A responder that fails: the fake server answers HTTP 400 (an error of the request)."""
    raise RuntimeError("this request is bad everywhere")


def two(mode: str = "good", second_mode: str | None = None, *, responder=pong, delay: float = 2.0,
        ) -> tuple[FakeOpenAI, FakeOpenAI]:
    """Two fake servers of the model ``fake`` (not started); the first answers with ``responder``."""
    return (FakeOpenAI(mode, responder=responder, delay=delay),
            FakeOpenAI(second_mode or mode, responder=pong, delay=delay))


def key_at(home: int, prefix: str) -> str:
    """A conversation key (``prefix`` and a number) whose home among two servers is ``home``."""
    return next(f"{prefix}{i}" for i in range(100) if home_index(f"{prefix}{i}", 2) == home)


def served(server: FakeOpenAI) -> list[str]:
    """The prompts a fake server was sent (the text of each request's last message)."""
    return [body["messages"][-1]["content"] for body in server.bodies]


def keys_of(server: FakeOpenAI) -> set[str]:
    return {prompt.split()[0] for prompt in served(server)}


def multi(a: FakeOpenAI, b: FakeOpenAI, **kwargs) -> MultiEndpointLM:
    lm = vllm_lm([a.url, b.url], "fake", **{"timeout": 5.0, "num_retries": 1, **kwargs})
    assert isinstance(lm, MultiEndpointLM)
    return lm


def conversation(lm, key: str, calls: int) -> list[str]:
    with conversation_affinity(key):
        return [lm(f"{key} call {i}")[0] for i in range(calls)]


# -- parsing --------------------------------------------------------------------------------------------


def test_a_spec_lists_several_servers_and_one_server_is_as_before():
    spec = ModelSpec.parse("vllm:smol@http://127.0.0.1:8000/v1, http://127.0.0.1:8001/v1")
    assert spec.kind == "vllm" and spec.target == "smol"
    assert spec.base_urls == ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8001/v1")
    assert str(spec) == "vllm:smol@http://127.0.0.1:8000/v1,http://127.0.0.1:8001/v1"
    assert ModelSpec.parse(str(spec)) == spec
    one = ModelSpec.parse("vllm:smol@http://127.0.0.1:8000/v1")
    assert one == ModelSpec("vllm", "smol", "http://127.0.0.1:8000/v1") and one.base_urls == (one.base_url,)
    assert ModelSpec.parse("openai/gpt-4o-mini").base_urls == ()
    assert parse_base_urls("http://h:1,http://h:2/v1/") == ("http://h:1/v1", "http://h:2/v1")
    assert parse_base_urls(["http://h:1/v1"]) == ("http://h:1/v1",)


@pytest.mark.parametrize(("spec", "message"), [
    ("vllm:m@http://h:1/v1,,http://h:2/v1", "URL #2 of 3 is empty"),
    ("vllm:m@http://h:1/v1,", "URL #2 of 2 is empty"),
    ("vllm:m@,http://h:1/v1", "URL #1 of 2 is empty"),
    ("vllm:m@http://h:1/v1,h:2", "URL #2 of 2 'h:2' is not an http"),
    ("vllm:m@http://h:1/v1;http://h:2/v1", "it holds two"),
    ("vllm:m@http://h:port/v1,http://h:2/v1", "URL #1 of 2 'http://h:port/v1' is not an http"),
    ("vllm:m@http://h:1/v1,http://h:1", r"same server as #1 \(http://h:1/v1\)"),
    ("vllm:m@http://h:1/v1,http://h:2 /v1", "contains a space"),
    ("vllm:m@", "a vLLM model is vllm:MODEL@"),
    ("vllm:@http://h:1/v1,http://h:2/v1", "a vLLM model is vllm:MODEL@"),
])
def test_a_malformed_server_list_is_one_line(spec: str, message: str):
    with pytest.raises(UgstError, match=message) as err:
        ModelSpec.parse(spec)
    assert "\n" not in str(err.value) and str(err.value).startswith(f"bad model spec {spec!r}: ")
    assert "vllm:MODEL@URL1,URL2" in str(err.value)


def test_a_toml_role_takes_the_same_string(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[roles.tracker]\nmodel = "vllm:m@http://127.0.0.1:8000/v1,http://127.0.0.1:8001/v1"\n')
    assert ModelPool(UGSTConfig.load(path)).spec("tracker").base_urls == (
        "http://127.0.0.1:8000/v1", "http://127.0.0.1:8001/v1")


def test_every_server_is_checked_before_the_first_call():
    with FakeOpenAI("good") as a, FakeOpenAI("good", model="other") as b:
        with pytest.raises(UgstError, match=f"vLLM server at {b.url} serves 'other', not 'fake'"):
            vllm_lm([a.url, b.url], "fake")
        url = b.url
    with FakeOpenAI("good") as a, pytest.raises(UgstError, match=f"{url} is unreachable"):
        vllm_lm(f"{a.url},{url}", "fake")


# -- the pool -------------------------------------------------------------------------------------------


def test_the_pool_builds_one_router_per_set_of_servers_with_each_roles_limits():
    a, b = two()
    with a, b:
        servers = f"vllm:fake@{a.url},{b.url}"
        config = UGSTConfig.from_dict({"roles": {
            "tracker": {"model": servers, "timeout": 1.5, "retries": 2},
            "simulator": {"model": servers.replace(",", ", "), "timeout": 7, "retries": 0},
            "agent": {"model": f"vllm:fake@{a.url}"},
        }})
        models = ModelPool(config)
        tracker, simulator, agent = models.lm("tracker"), models.lm("simulator"), models.lm("agent")
        assert isinstance(tracker, MultiEndpointLM) and not isinstance(agent, MultiEndpointLM)
        assert tracker.kwargs["timeout"] == 1.5 and tracker.num_retries == 2
        assert simulator.kwargs["timeout"] == 7.0 and simulator.num_retries == 0
        assert tracker.router is simulator.router and tracker.endpoints == (a.url, b.url)
        with conversation_affinity("g1"):
            tracker("g1 tracked"), simulator("g1 simulated")
        stats = models.endpoint_stats()
        where = models.servers_for("g1")
    assert where == dict.fromkeys(["tracker", "simulator"], (a.url, b.url)[home_index("g1", 2)])
    assert list(stats) == [f"{a.url},{b.url}"]
    assert stats[f"{a.url},{b.url}"]["roles"] == ["tracker", "simulator"]
    requests = [e["requests"] for e in stats[f"{a.url},{b.url}"]["endpoints"]]
    assert requests[home_index("g1", 2)] == 2 and sum(requests) == 2  # one conversation, one server


def test_structured_outputs_reach_every_server_and_the_modules_work():
    a, b = two(responder="scripted_world:respond")
    with a, b:
        b.responder = "scripted_world:respond"
        models = ModelPool(UGSTConfig.from_dict({"roles": {"decomposer": {"model": f"vllm:fake@{a.url},{b.url}"}}}))
        lm = models.lm("decomposer")
        decomposer = DecomposeGoal()
        decomposer.set_lm(lm)
        states = {}

        def decompose(key: str) -> None:
            with conversation_affinity(key), dspy.context(adapter=configure_adapter(models.config)):
                states[key] = decomposer(goal=GOAL).state

        lm.router.acquire(None)  # a request in flight on server 0: the next conversation goes to server 1
        decompose("second")
        lm.router.finish(0, "ok")
        decompose(key_at(0, "third"))  # nothing in flight now: it goes to its home, server 0
        assert a.counts["good"] == 1 and b.counts["good"] == 1
        for body in a.bodies + b.bodies:
            assert body["response_format"]["type"] == "json_schema"
    assert all(len(state.task_objectives) == 1 for state in states.values())


# -- spreading and affinity -----------------------------------------------------------------------------


def test_concurrent_conversations_use_both_servers_and_each_stays_on_one():
    a, b = two("slow", delay=0.05)
    with a, b:
        lm = multi(a, b)
        keys = [f"conv{i}" for i in range(12)]
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda key: conversation(lm, key, 4), keys))
        assert all(answer == ["pong"] * 4 for answer in answers)
        on_a, on_b = keys_of(a), keys_of(b)
        stats = lm.endpoint_stats()
    assert on_a and on_b and on_a | on_b == set(keys)
    assert not on_a & on_b  # affinity: no conversation was served by both
    for server in (a, b):  # every call of a conversation went where its first call went
        assert all(n == 4 for n in Counter(prompt.split()[0] for prompt in served(server)).values())
    assert [e["requests"] for e in stats["endpoints"]] == [4 * len(on_a), 4 * len(on_b)]
    assert [e["conversations"] for e in stats["endpoints"]] == [len(on_a), len(on_b)]
    assert all(e["in_flight"] == 0 and e["open"] == 0 and e["failed"] == 0 for e in stats["endpoints"])
    assert stats["conversations"] == 12 and stats["moved"] == stats["failovers"] == 0


def test_calls_without_a_conversation_shift_to_the_faster_server():
    slow, fast = two("slow", delay=1.0)
    fast.delay = 0.01
    with slow, fast:
        lm = multi(slow, fast)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda i: lm(f"free{i} call"), range(48)))
        stats = lm.endpoint_stats()
    on_slow, on_fast = (e["requests"] for e in stats["endpoints"])
    assert on_slow + on_fast == 48 and on_slow >= 1
    assert on_fast > 3 * on_slow, (on_slow, on_fast)
    assert stats["conversations"] == 0


def test_new_conversations_go_where_fewer_requests_wait():
    slow, fast = two("slow", delay=0.5)
    fast.delay = 0.01
    with slow, fast:
        lm = multi(slow, fast)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda i: conversation(lm, f"c{i}", 3), range(24)))
        on_slow, on_fast = keys_of(slow), keys_of(fast)
    assert not on_slow & on_fast and len(on_slow | on_fast) == 24
    assert len(on_fast) > 2 * len(on_slow), (len(on_slow), len(on_fast))


def test_without_any_load_a_conversation_goes_to_its_home_server():
    a, b = two()
    x, y, z = key_at(0, "x"), key_at(1, "y"), key_at(0, "z")
    with a, b:
        lm = multi(a, b)
        for key in (x, y):
            conversation(lm, key, 2)
        with conversation_affinity(x):
            lm(f"{x} again")
            with conversation_affinity(z):  # z's home is a, but x is open there: z goes to b
                lm(f"{z} call")
                assert current_affinity() == z
            assert current_affinity() == x
        assert current_affinity() is None
        assert keys_of(a) == {x} and keys_of(b) == {y, z}


def test_async_calls_route_by_the_same_key():
    a, b = two("slow", delay=0.05)
    with a, b:
        lm = multi(a, b)

        async def one(key: str) -> None:
            with conversation_affinity(key):
                for i in range(3):
                    await lm.acall(f"{key} call {i}")
                await asyncio.to_thread(lm, f"{key} from a thread")  # the key follows into to_thread

        async def main() -> None:
            await asyncio.gather(*(one(f"k{i}") for i in range(6)))

        asyncio.run(main())
        on_a, on_b = keys_of(a), keys_of(b)
    assert on_a and on_b and not on_a & on_b and len(on_a | on_b) == 6


def test_copies_share_the_router_and_a_pickled_lm_starts_afresh():
    a, b = two()
    with a, b:
        lm = multi(a, b, temperature=0.0)
        assert lm.copy(temperature=0.5).router is lm.router
        assert copy.deepcopy(lm).router is lm.router
        restored = pickle.loads(pickle.dumps(lm))
        assert restored.router is not lm.router and restored.endpoints == lm.endpoints
        assert restored.dump_state()["endpoints"] == [a.url, b.url]
        conversation(restored, key_at(0, "p"), 1)
        assert keys_of(a) == {key_at(0, "p")}


def test_one_usage_count_per_call():
    a, b = two()
    with a, b:
        lm = multi(a, b)
        recorder = UsageRecorder()
        with recorder.role("tracker"), conversation_affinity("u"):
            lm("u one"), lm("u two")
    usage = recorder.to_json()["tracker"]
    assert usage["calls"] == 2 and usage["prompt_tokens"] == 4 and usage["completion_tokens"] == 2


# -- the router alone -----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def call(router: EndpointRouter, key: str | None) -> int:
    """One successful request of conversation ``key`` (its block opened and closed around it)."""
    if key is None:
        index = router.acquire(None)
    else:
        with conversation_affinity(key):
            index = router.acquire(key)
    router.finish(index, "ok")
    return index


def test_a_call_after_its_block_ended_does_not_count_as_open():
    router = EndpointRouter(["u0", "u1"])
    router.finish(router.acquire("late"), "ok")  # no block of "late" is open
    assert router.where("late") is not None
    assert [e["open"] for e in router.stats()["endpoints"]] == [0, 0]


def test_the_router_forgets_the_least_recently_used_keys():
    router = EndpointRouter(["u0", "u1"], max_conversations=3)
    assert [call(router, key) for key in "abc"] == [home_index(key, 2) for key in "abc"]  # no load: home
    call(router, "a")  # a is used again: b is now the oldest
    call(router, "d")
    assert router.where("b") is None and router.where("a") == f"u{home_index('a', 2)}"
    stats = router.stats()
    assert stats["conversations"] == 3 and stats["forgotten"] == 1


def test_open_conversations_count_until_their_block_ends():
    router = EndpointRouter(["u0", "u1"])
    a, b = key_at(0, "a"), key_at(0, "b")
    with conversation_affinity(a):
        router.finish(router.acquire(a), "ok")
        assert open_conversations() >= 1
        with conversation_affinity(b):
            router.finish(router.acquire(b), "ok")  # nothing in flight: fewer open conversations beats home
            assert router.where(b) == "u1"
        assert [e["open"] for e in router.stats()["endpoints"]] == [1, 0]
    assert [e["open"] for e in router.stats()["endpoints"]] == [0, 0]
    with conversation_affinity(a):  # the same conversation again (a retry): still on its server, open again
        router.finish(router.acquire(a), "ok")
        assert [e["open"] for e in router.stats()["endpoints"]] == [1, 0]
    assert [e["open"] for e in router.stats()["endpoints"]] == [0, 0]


def test_a_failed_server_rests_then_comes_back():
    clock = Clock()
    router = EndpointRouter(["u0", "u1"], cooldown=30, clock=clock)
    a = key_at(0, "a")
    assert call(router, a) == 0
    assert router.acquire(None) == 0
    router.finish(0, "down", "LMTransportError: refused")
    assert [e["resting"] for e in router.stats()["endpoints"]] == [True, False]
    assert call(router, a) == 1 and router.stats()["moved"] == 1  # the key moved off the resting server
    assert call(router, "new") == 1 and call(router, None) == 1
    router.finish(router.acquire(None, exclude=frozenset({0})), "down")  # now both rest
    assert call(router, key_at(0, "b")) == 0  # all rest: the least loaded is used anyway; its success clears it
    assert [e["resting"] for e in router.stats()["endpoints"]] == [False, True]
    clock.now = 31.0
    assert not any(e["resting"] for e in router.stats()["endpoints"])
    assert router.where(a) == "u1" and call(router, a) == 1  # a moved key stays where it went
    assert router.stats()["failovers"] == 1


# -- failures -------------------------------------------------------------------------------------------


def test_a_server_that_is_down_fails_over_once_and_then_rests(fast_backoff):
    down = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens: connection refused
    with FakeOpenAI("good", responder=pong) as up:
        lm = vllm_lm([down, up.url], "fake", timeout=5.0, num_retries=2, check=False)
        x, y = key_at(0, "x"), key_at(0, "y")
        assert conversation(lm, x, 2) == ["pong", "pong"]  # x starts on the first server, which refuses
        assert conversation(lm, y, 1) == ["pong"]  # the first server rests: a new conversation goes to up
        assert lm.router.where(x) == lm.router.where(y) == up.url
        stats = lm.endpoint_stats()
    first, second = stats["endpoints"]
    assert first["requests"] == 1 and first["ok"] == 0 and first["failed"] == 1 and first["resting"]
    assert "Connection refused" in first["last_error"]
    assert second["requests"] == 3 and second["ok"] == 3 and second["failovers_in"] == 1
    assert stats["failovers"] == 1 and stats["moved"] == 1
    assert keys_of(up) == {x, y}


def test_a_server_killed_mid_run_moves_its_conversations(fast_backoff):
    """A real server process dies (its connections with it); its conversations go on on the other one."""
    with FakeProcess("good", responder="faults.fake_openai:pong") as doomed, FakeOpenAI("good", responder=pong) as up:
        lm = vllm_lm([doomed.url, up.url], "fake", timeout=5.0, num_retries=1)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda i: conversation(lm, f"c{i}", 2), range(8)))
        before = doomed.stats()["counts"].get("good", 0)
        assert before > 0 and keys_of(up)
        doomed.kill()
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(lambda i: conversation(lm, f"c{i}", 2), range(8)))
        stats = lm.endpoint_stats()
    assert all(answer == ["pong", "pong"] for answer in answers)  # no call was lost
    assert all(lm.router.where(f"c{i}") == up.url for i in range(8))
    first, second = stats["endpoints"]
    assert first["ok"] == before and first["failed"] >= 1 and first["resting"]
    assert stats["failovers"] == first["failed"] and second["failovers_in"] == first["failed"]
    assert 1 <= stats["moved"] <= 8


def test_server_errors_after_retries_fail_over(fast_backoff):
    a, b = two("error500", second_mode="good")
    with a, b:
        lm = multi(a, b, num_retries=1)
        assert conversation(lm, key_at(0, "x"), 1) == ["pong"]
        assert a.counts["error500"] == 2 and b.counts["good"] == 1  # the retries on a, then b once
        assert lm.endpoint_stats()["endpoints"][0]["last_error"].startswith("LMServerError")


def test_when_every_server_fails_the_call_fails_naming_both(fast_backoff):
    a, b = two("error500")
    with a, b:
        lm = multi(a, b, num_retries=1)
        with pytest.raises(LMServerError) as caught:
            conversation(lm, key_at(0, "x"), 1)
        assert a.counts["error500"] + b.counts["error500"] == 4  # 2 attempts on each, no third server
    message = str(caught.value)
    assert "\n" not in message and f"model servers {a.url}, then {b.url} after it failed" in message
    stats = lm.endpoint_stats()
    assert [e["failed"] for e in stats["endpoints"]] == [1, 1] and stats["failovers"] == 1
    assert all(e["in_flight"] == 0 for e in stats["endpoints"])


def test_both_servers_down_is_a_transport_error(fast_backoff):
    urls = [f"http://127.0.0.1:{free_port()}/v1" for _ in range(2)]
    lm = vllm_lm(urls, "fake", timeout=5.0, num_retries=1, check=False)
    with pytest.raises(LMTransportError, match=f"model servers {urls[0]}, then {urls[1]} after it failed"):
        lm("nobody home")
    assert [e["requests"] for e in lm.endpoint_stats()["endpoints"]] == [1, 1]


def test_an_error_of_the_request_does_not_fail_over(fast_backoff):
    a, b = two(responder=raises)
    with a, b:
        lm = multi(a, b, num_retries=2)
        with pytest.raises(LMInvalidRequestError) as caught:
            conversation(lm, key_at(0, "x"), 1)
        assert a.counts["good"] == 1 and b.counts["good"] == 0  # 400 is not retried, not sent elsewhere
        stats = lm.endpoint_stats()
    assert f"(model server {a.url})" in str(caught.value)
    assert stats["failovers"] == 0 and not stats["endpoints"][0]["resting"]


def test_a_failover_is_one_call_for_usage(fast_backoff):
    down = f"http://127.0.0.1:{free_port()}/v1"
    with FakeOpenAI("good", responder=pong) as up:
        lm = vllm_lm([down, up.url], "fake", timeout=5.0, num_retries=0, check=False)
        recorder = UsageRecorder()
        with recorder.role("tracker"), conversation_affinity(key_at(0, "u")):
            lm("u one")
    assert lm.endpoint_stats()["failovers"] == 1
    assert recorder.to_json()["tracker"]["calls"] == 1
    assert recorder.to_json()["tracker"]["prompt_tokens"] == 2


def test_hung_servers_time_out_on_each_and_leave_nothing_in_flight():
    a, b = two("hang")
    with a, b:
        lm = multi(a, b, timeout=0.3, num_retries=0)
        with pytest.raises(LMError, match=f"read timed out.*model servers {a.url}, then {b.url}"):
            lm("hangs")  # times out on a (lm15 calls it a transport error), fails over, times out on b
        assert a.counts["hang"] == b.counts["hang"] == 1
        stats = lm.endpoint_stats()
    assert [e["in_flight"] for e in stats["endpoints"]] == [0, 0] and stats["failovers"] == 1


def test_an_interrupted_call_is_not_a_failure_of_the_server(monkeypatch: pytest.MonkeyPatch):
    import ugst_dspy.engines.endpoints as endpoints

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    a, b = two()
    with a, b:
        lm = multi(a, b)
    monkeypatch.setattr(endpoints, "_CALL", interrupted)
    with pytest.raises(KeyboardInterrupt):
        lm("stop")
    stats = lm.endpoint_stats()
    assert stats["failovers"] == 0
    assert [(e["in_flight"], e["failed"], e["resting"]) for e in stats["endpoints"]] == [(0, 0, False)] * 2


# -- a whole run ----------------------------------------------------------------------------------------


def test_ugst_simulate_runs_with_every_role_on_two_servers(tmp_path):
    from ugst_dspy.cli.app import main
    from ugst_dspy.files.conversations import read_conversations

    out = tmp_path / "runs.jsonl"
    a, b = two(responder="scripted_world:respond")
    with a, b:
        b.responder = "scripted_world:respond"
        spec = f"vllm:fake@{a.url}, {b.url}"
        roles = "".join(f'[roles.{role}]\nmodel = "{spec}"\ntimeout = 5\nretries = 1\n'
                        for role in ("decomposer", "tracker", "simulator", "agent"))
        config = tmp_path / "two.toml"
        config.write_text(roles, encoding="utf-8")
        args = ["simulate", "--env", "tau-retail", "--limit", "4", "--turns", "2", "--workers", "2",
                "--config", str(config), "--out", str(out)]
        assert main(args) == 0
        assert a.counts["good"] > 0 and b.counts["good"] > 0
    records = read_conversations(out)
    assert len(records) == 4 and all(r.ended_by != "error" for r in records)
    assert records[0].meta.models["tracker"] == spec  # the spec as written
