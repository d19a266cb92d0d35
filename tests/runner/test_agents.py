"""The offline model through a real ADK Runner, the built-in agents' shape, and loading
agents from `package.module:attr` and from an ADK-style agents directory."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from google.adk.agents import LlmAgent
from google.adk.agents.run_config import RunConfig, StreamingMode
from google.adk.events.event import Event
from google.adk.runners import Runner
from google.adk.sessions import InMemorySessionService
from google.adk.workflow import Workflow

from adkstream.agents import OfflineModel, builtin_agents
from adkstream.agents.builtin import build_assistant, build_fanout, build_pipeline
from adkstream.agents.registry import (
    AgentRegistry,
    HostedAgent,
    load_agent_ref,
    load_agents_dir,
    resumable_app,
)
from adkstream.api import create_app
from adkstream.errors import AgentLoadError, NotFoundError
from adkstream.settings import Settings
from tests.runner.helpers import TIMEOUT_S, USER_ID, user_message
from tests.servers import serve_app

# --------------------------------------------------------------------------- OfflineModel


async def _run_adk(agent: LlmAgent, text: str) -> tuple[list[Event], dict[str, object]]:
    """Runs `agent` with ADK's own Runner (SSE streaming); returns its events and state."""
    service = InMemorySessionService()
    runner = Runner(app_name="app", agent=agent, session_service=service)
    session = await service.create_session(app_name="app", user_id=USER_ID)
    config = RunConfig(streaming_mode=StreamingMode.SSE)
    events = [
        event
        async for event in runner.run_async(
            user_id=USER_ID,
            session_id=session.id,
            new_message=user_message(text),
            run_config=config,
        )
    ]
    stored = await service.get_session(app_name="app", user_id=USER_ID, session_id=session.id)
    assert stored is not None
    return events, dict(stored.state)


def _text(event: Event) -> str:
    if event.content is None:
        return ""
    return "".join(p.text or "" for p in event.content.parts or [])


async def test_offline_model_streams_words_then_the_aggregate() -> None:
    model = OfflineModel(tokens_per_s=0, reply_tokens=7)
    agent = LlmAgent(name="talker", model=model, output_key="said")
    async with asyncio.timeout(TIMEOUT_S):
        events, state = await _run_adk(agent, "hello offline world")

    partials = [e for e in events if e.partial]
    [final] = [e for e in events if not e.partial and e.author == "talker"]
    assert len(partials) == 7
    streamed = "".join(_text(e) for e in partials)
    assert _text(final) == streamed
    assert len(streamed.split()) == 7
    assert streamed.startswith("You said: hello offline world.")
    assert {e.id for e in partials} == {final.id}
    assert final.is_final_response()
    assert state == {"said": streamed}
    usage = final.usage_metadata
    assert usage is not None
    assert usage.candidates_token_count == 7
    assert usage.total_token_count == (usage.prompt_token_count or 0) + 7


async def test_offline_model_calls_the_tool_the_prompt_names() -> None:
    agent = build_assistant(OfflineModel(tokens_per_s=0, reply_tokens=12))
    async with asyncio.timeout(TIMEOUT_S):
        events, state = await _run_adk(agent, "What does get_current_time say?")

    calls = [c for e in events if not e.partial for c in e.get_function_calls()]
    responses = [r for e in events for r in e.get_function_responses()]
    assert [(c.name, c.args) for c in calls] == [("get_current_time", {"timezone": "UTC"})]
    assert [r.name for r in responses] == ["get_current_time"]
    assert responses[0].response is not None
    assert responses[0].response["timezone"] == "UTC"
    final = events[-1]
    assert final.is_final_response()
    assert _text(final).startswith("The tool get_current_time returned")
    assert state["last_answer"] == _text(final)


@pytest.mark.parametrize(
    "prompt",
    [
        pytest.param("can you get current time for me?", id="spaced-name"),
        pytest.param("please use a tool", id="use-a-tool"),
    ],
)
async def test_offline_model_other_ways_to_ask_for_the_tool(prompt: str) -> None:
    agent = build_assistant(OfflineModel(tokens_per_s=0, reply_tokens=3))
    async with asyncio.timeout(TIMEOUT_S):
        events, _ = await _run_adk(agent, prompt)

    calls = [c.name for e in events if not e.partial for c in e.get_function_calls()]
    assert calls == ["get_current_time"]


async def test_offline_model_answers_without_a_tool_when_none_is_named() -> None:
    agent = build_assistant(OfflineModel(tokens_per_s=0, reply_tokens=4))
    async with asyncio.timeout(TIMEOUT_S):
        events, state = await _run_adk(agent, "hello")

    assert not [c for e in events for c in e.get_function_calls()]
    assert state["last_answer"] == "You said: hello. adkstream"


async def test_offline_model_non_streaming_yields_one_response() -> None:
    from google.adk.models.llm_request import LlmRequest

    model = OfflineModel(tokens_per_s=0, reply_tokens=5)
    request = LlmRequest(model="offline", contents=[user_message("one two")])
    async with asyncio.timeout(TIMEOUT_S):
        responses = [r async for r in model.generate_content_async(request, stream=False)]

    [response] = responses
    assert response.partial is False
    assert response.content is not None
    assert response.content.parts is not None
    assert response.content.parts[0].text == "You said: one two. adkstream"


# --------------------------------------------------------------------------- built-in agents


def test_builtin_agents_hosted_with_their_output_keys() -> None:
    model = OfflineModel(tokens_per_s=0, reply_tokens=3)
    assistant = HostedAgent.of(build_assistant(model))
    pipeline = HostedAgent.of(build_pipeline(model))
    fanout = HostedAgent.of(build_fanout(model))

    assert (assistant.name, assistant.output_keys) == ("assistant", {"assistant": "last_answer"})
    assert pipeline.output_keys == {"writer": "draft", "editor": "final"}
    assert fanout.output_keys == {"optimist": "optimist_take", "skeptic": "skeptic_take"}
    for hosted in (assistant, pipeline):
        app = resumable_app(hosted, plugins=[])
        assert (app.name, app.root_agent) == (hosted.name, hosted.root)
        assert app.resumability_config is not None and app.resumability_config.is_resumable
    assert isinstance(pipeline.root, Workflow)
    assert assistant.description


def test_builtin_agents_offline_without_api_key() -> None:
    registry = builtin_agents()

    assert [a.name for a in registry] == ["assistant", "pipeline", "fanout"]
    assert registry.default.name == "assistant"
    assert isinstance(registry.default.root.model, OfflineModel)


def test_agent_registry_lookup_and_duplicates() -> None:
    model = OfflineModel(tokens_per_s=0, reply_tokens=3)
    assistant = HostedAgent.of(build_assistant(model))
    registry = AgentRegistry([assistant, HostedAgent.of(build_pipeline(model))])

    assert registry.get(None) is assistant
    assert registry.get("assistant") is assistant
    assert "pipeline" in registry
    assert len(registry) == 2
    with pytest.raises(NotFoundError) as info:
        registry.get("nope")
    assert (info.value.code, info.value.field) == ("unknown_agent", "agent")
    with pytest.raises(AgentLoadError):
        registry.add(HostedAgent.of(build_assistant(model)))


# --------------------------------------------------------------------------- loading


_AGENT_MODULE = """
from google.adk.agents import LlmAgent
from adkstream.agents import OfflineModel

root_agent = LlmAgent(
    name="{name}",
    description="loaded from a module",
    model=OfflineModel(tokens_per_s=0, reply_tokens=3),
    output_key="out",
)
not_an_agent = "a string"


def build():
    return LlmAgent(name="built", model=OfflineModel(tokens_per_s=0, reply_tokens=3))


def broken():
    raise RuntimeError("factory exploded")
"""


@pytest.fixture
def module_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A uniquely named agent module in tmp_path, importable for this test only."""
    name = f"adkstream_test_agent_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(_AGENT_MODULE.format(name="from_module"))
    (tmp_path / f"{name}_raises.py").write_text("raise RuntimeError('import exploded')\n")
    (tmp_path / f"{name}_syntax.py").write_text("def broken(:\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for key in [k for k in sys.modules if k.startswith(name)]:
        del sys.modules[key]


def test_load_agent_ref_agent_attribute(module_name: str) -> None:
    hosted = load_agent_ref(f"{module_name}:root_agent")

    assert hosted.name == "from_module"
    assert hosted.description == "loaded from a module"
    assert hosted.output_keys == {"from_module": "out"}
    assert isinstance(hosted.root, LlmAgent)


def test_load_agent_ref_zero_argument_factory(module_name: str) -> None:
    hosted = load_agent_ref(f"{module_name}:build")

    assert hosted.name == "built"


@pytest.mark.parametrize(
    "ref",
    [
        pytest.param("{m}", id="no-colon"),
        pytest.param(":root_agent", id="no-module"),
        pytest.param("{m}:", id="no-attr"),
        pytest.param("{m}_missing:root_agent", id="missing-module"),
        pytest.param("{m}:missing", id="missing-attr"),
        pytest.param("{m}:not_an_agent", id="not-an-agent"),
    ],
)
def test_load_agent_ref_bad_refs(module_name: str, ref: str) -> None:
    with pytest.raises(AgentLoadError):
        load_agent_ref(ref.format(m=module_name))


@pytest.mark.parametrize(
    "ref",
    [
        pytest.param("{m}:broken", id="factory-raises"),
        pytest.param("adkstream.agents.builtin:build_assistant", id="factory-needs-argument"),
        pytest.param("{m}_raises:root_agent", id="module-raises-on-import"),
        pytest.param("{m}_syntax:root_agent", id="module-syntax-error"),
    ],
)
def test_load_agent_ref_failing_code_is_an_agent_load_error(module_name: str, ref: str) -> None:
    with pytest.raises(AgentLoadError):
        load_agent_ref(ref.format(m=module_name))


def _agent_package(directory: Path, name: str, body: str) -> None:
    (directory / name).mkdir(parents=True)
    (directory / name / "__init__.py").write_text("from . import agent\n")
    (directory / name / "agent.py").write_text(textwrap.dedent(body))


@pytest.fixture
def agents_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """An empty agents directory and a unique package-name prefix; sys.path/modules restored."""
    prefix = f"adkstream_test_pkg_{uuid.uuid4().hex[:8]}"
    directory = tmp_path / "agents"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    yield directory, prefix
    for key in [k for k in sys.modules if k.startswith(prefix)]:
        del sys.modules[key]


def test_load_agents_dir_loads_each_package(agents_dir: tuple[Path, str]) -> None:
    directory, prefix = agents_dir
    _agent_package(directory, f"{prefix}_b", _AGENT_MODULE.format(name="bee"))
    _agent_package(directory, f"{prefix}_a", _AGENT_MODULE.format(name="ay"))
    (directory / "not_a_package").mkdir()
    (directory / "notes.txt").write_text("ignored")

    agents = load_agents_dir(directory)

    assert [a.name for a in agents] == [f"{prefix}_a", f"{prefix}_b"]
    assert [a.root.name for a in agents] == ["ay", "bee"]
    assert agents[0].output_keys == {"ay": "out"}


def test_load_agents_dir_root_agent_factory(agents_dir: tuple[Path, str]) -> None:
    directory, prefix = agents_dir
    _agent_package(
        directory,
        f"{prefix}_f",
        """
        from google.adk.agents import LlmAgent
        from adkstream.agents import OfflineModel

        def root_agent():
            return LlmAgent(name="made", model=OfflineModel(tokens_per_s=0))
        """,
    )

    [hosted] = load_agents_dir(directory)

    assert (hosted.name, hosted.root.name) == (f"{prefix}_f", "made")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("x = 1\n", id="no-root-agent"),
        pytest.param("root_agent = 'text'\n", id="not-an-agent"),
        pytest.param("raise RuntimeError('boom')\n", id="import-fails"),
        pytest.param("import adkstream_no_such_module_xyz\n", id="missing-dependency"),
        pytest.param("def root_agent():\n    raise RuntimeError('boom')\n", id="factory-raises"),
    ],
)
def test_load_agents_dir_bad_package(agents_dir: tuple[Path, str], body: str) -> None:
    directory, prefix = agents_dir
    _agent_package(directory, f"{prefix}_bad", body)
    (directory / f"{prefix}_bad" / "__init__.py").write_text("")

    with pytest.raises(AgentLoadError):
        load_agents_dir(directory)


def test_load_agents_dir_missing_or_empty(tmp_path: Path) -> None:
    with pytest.raises(AgentLoadError):
        load_agents_dir(tmp_path / "does-not-exist")
    with pytest.raises(AgentLoadError):
        load_agents_dir(tmp_path)


def test_load_agents_dir_takes_adk_agent_configs(agents_dir: tuple[Path, str]) -> None:
    """`<name>/root_agent.yaml`, as `adk web` loads it, beside Python packages."""
    directory, prefix = agents_dir
    _agent_package(directory, f"{prefix}_py", _AGENT_MODULE.format(name="py"))
    (directory / "from_yaml").mkdir()
    (directory / "from_yaml" / "root_agent.yaml").write_text(
        "name: configured\nmodel: gemini-2.5-flash\ninstruction: Answer briefly.\n"
    )

    agents = load_agents_dir(directory)

    assert [(a.name, a.root.name) for a in agents] == [
        (f"{prefix}_py", "py"),
        ("from_yaml", "configured"),
    ]


def test_load_agents_dir_bad_agent_config(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "root_agent.yaml").write_text("agent_class: NoSuchAgent\n")
    with pytest.raises(AgentLoadError, match=r"broken/root_agent\.yaml"):
        load_agents_dir(tmp_path)


_APP_MODULE = """
from google.adk.agents import LlmAgent
from google.adk.apps import App
from google.adk.plugins.base_plugin import BasePlugin
from adkstream.agents import OfflineModel

SEEN = []


class Recorder(BasePlugin):
    async def on_user_message_callback(self, *, invocation_context, user_message):
        SEEN.append(user_message.parts[0].text)


root_agent = LlmAgent(name="not_this_one", model=OfflineModel(tokens_per_s=0))
app = App(
    name="its_own_name",
    root_agent=LlmAgent(name="inner", model=OfflineModel(tokens_per_s=0), output_key="said"),
    plugins=[Recorder(name="recorder")],
)
"""


def test_load_agents_dir_prefers_an_app(agents_dir: tuple[Path, str]) -> None:
    """As ADK's loader: an `App` named `app` wins over `root_agent`; the hosted name is
    the directory's (ADK's `app_name`), and the App comes along for its plugins."""
    directory, prefix = agents_dir
    _agent_package(directory, f"{prefix}_app", _APP_MODULE)

    [hosted] = load_agents_dir(directory)

    assert (hosted.name, hosted.root.name, hosted.output_keys) == (
        f"{prefix}_app",
        "inner",
        {"inner": "said"},
    )
    assert hosted.app is not None
    app = resumable_app(hosted, plugins=[])
    assert app.name == f"{prefix}_app"
    assert [p.name for p in app.plugins] == ["recorder"]
    assert app.resumability_config is not None and app.resumability_config.is_resumable


async def test_an_apps_plugins_run_on_every_api(
    agents_dir: tuple[Path, str], tmp_path: Path
) -> None:
    directory, prefix = agents_dir
    _agent_package(directory, f"{prefix}_app", _APP_MODULE)
    registry = AgentRegistry(load_agents_dir(directory))
    name = f"{prefix}_app"
    app = create_app(Settings(data_dir=tmp_path / "data"), registry)
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(app) as url,
        httpx.AsyncClient(base_url=url, timeout=TIMEOUT_S) as client,
    ):
        native = await client.post("/v1/runs", json={"agent": name, "message": "native"})
        assert native.status_code == 200, native.text
        session = (await client.post(f"/apps/{name}/users/u/sessions", json={})).json()
        adk = await client.post(
            "/run",
            json={
                "appName": name,
                "userId": "u",
                "sessionId": session["id"],
                "newMessage": {"role": "user", "parts": [{"text": "adk"}]},
            },
        )
        assert adk.status_code == 200, adk.text
    assert sys.modules[f"{name}.agent"].SEEN == ["native", "adk"]


def test_load_agents_dir_package_root_and_single_agent_dir(agents_dir: tuple[Path, str]) -> None:
    """`<name>/__init__.py` with the agent itself; and a directory that is one agent."""
    directory, prefix = agents_dir
    package = directory / f"{prefix}_init"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from google.adk.agents import LlmAgent\nroot_agent = LlmAgent(name='in_init')\n"
    )
    [hosted] = load_agents_dir(directory)
    assert (hosted.name, hosted.root.name) == (f"{prefix}_init", "in_init")

    _agent_package(directory, f"{prefix}_one", _AGENT_MODULE.format(name="one"))
    [single] = load_agents_dir(directory / f"{prefix}_one")
    assert (single.name, single.root.name) == (f"{prefix}_one", "one")


def test_load_agents_dir_skips_shared_code(agents_dir: tuple[Path, str]) -> None:
    """A package beside the agents that exports no agent (shared tools, prompts) is not
    one: it neither fails the load nor becomes an app."""
    directory, prefix = agents_dir
    _agent_package(directory, f"{prefix}_real", _AGENT_MODULE.format(name="real"))
    (directory / f"{prefix}_common").mkdir()
    (directory / f"{prefix}_common" / "__init__.py").write_text("PROMPT = 'Answer.'\n")

    assert [a.name for a in load_agents_dir(directory)] == [f"{prefix}_real"]


def test_an_app_without_a_root_agent_is_a_load_error(agents_dir: tuple[Path, str]) -> None:
    directory, prefix = agents_dir
    _agent_package(
        directory, f"{prefix}_empty", "from google.adk.apps import App\napp = App(name='x')\n"
    )
    with pytest.raises(AgentLoadError, match=rf"(?s){prefix}_empty.*root_agent"):
        load_agents_dir(directory)
