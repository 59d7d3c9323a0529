"""The endpoint agent against a real HTTP server speaking the OpenAI chat API, and the human agent."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ugst_dspy.agents import EndpointAgent, HumanAgent
from ugst_dspy.conversation import ToolCall, Turn
from ugst_dspy.envs import make_env
from ugst_dspy.errors import UgstError


class FakeChatServer(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions: a tool call first, then a text reply quoting the tool result."""

    requests: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeChatServer.requests.append(body)
        last = body["messages"][-1]
        if last["role"] == "user":
            message = {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_a", "type": "function",
                "function": {"name": "find_user_id_by_name_zip",
                             "arguments": json.dumps({"first_name": "Yusuf", "last_name": "Rossi", "zip": "19122"})},
            }]}
        else:
            message = {"role": "assistant", "content": f"Your user id is {last['content']}."}
        payload = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                              "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeChatServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    FakeChatServer.requests = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_endpoint_agent_runs_tool_calls_on_the_environment(server):
    env = make_env("tau-retail")
    agent = EndpointAgent.from_spec(f"endpoint:my-agent@{server}")
    history = [Turn(user="Hello", agent="Hi! How can I help?", tool_calls=[ToolCall(id="c0", name="think", arguments={"thought": "x"}, result="")])]
    reply = agent.respond(history, "I'm Yusuf Rossi, 19122.", env)
    assert reply.text == "Your user id is yusuf_rossi_9620."
    assert [(c.name, c.result) for c in reply.tool_calls] == [("find_user_id_by_name_zip", "yusuf_rossi_9620")]
    first = FakeChatServer.requests[0]
    assert first["model"] == "my-agent" and first["messages"][0] == {"role": "system", "content": env.policy}
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert {t["function"]["name"] for t in first["tools"]} == set(env.tool_names)
    assert FakeChatServer.requests[1]["messages"][-1] == {"role": "tool", "tool_call_id": "call_a", "content": "yusuf_rossi_9620"}


def test_endpoint_agent_errors_are_one_line():
    with pytest.raises(UgstError, match="endpoint:MODEL@"):
        EndpointAgent.from_spec("endpoint:nothing")
    agent = EndpointAgent("http://127.0.0.1:9/v1", "m", max_retries=0, timeout=2)
    with pytest.raises(UgstError, match="agent endpoint http://127.0.0.1:9/v1 failed"):
        agent.respond([], "hi", make_env("tau-retail"))


def test_human_agent_reads_tools_and_replies():
    env = make_env("tau-retail")
    typed = iter(["/tools", '/tool find_user_id_by_name_zip {"first_name": "Yusuf", "last_name": "Rossi", "zip": "19122"}',
                  "", "Found you, Yusuf."])
    shown: list[str] = []
    reply = HumanAgent(read=lambda prompt: next(typed), show=shown.append).respond([], "I'm Yusuf.", env)
    assert reply.text == "Found you, Yusuf." and reply.tool_calls[0].result == "yusuf_rossi_9620"
    assert shown[0] == "\nUSER: I'm Yusuf." and "find_user_id_by_email(" in shown[1]
    ended = HumanAgent(read=lambda prompt: "/tool transfer_to_human_agents {\"summary\": \"x\"}", show=shown.append)
    assert ended.respond([], "help", env).stop is True
