"""`adkstream serve | run`: host agents over HTTP, or run one prompt (here or on a server)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import shlex
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import ValidationError
from pydantic_settings import SettingsError

from adkstream import __version__
from adkstream.errors import AdkStreamError, ConfigurationError, RequestError
from adkstream.events import (
    AgentEscalated,
    AgentStarted,
    AgentTransfer,
    ArtifactSaved,
    CodeCall,
    CodeResult,
    InputRequest,
    InputRequested,
    MessageCompleted,
    MessageDelta,
    MessageFile,
    MessageSources,
    ReasoningCompleted,
    ReasoningDelta,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunQueued,
    RunWaiting,
    StreamEvent,
    ToolCall,
    ToolResult,
)
from adkstream.logs import configure as configure_logs
from adkstream.notebook.phrases import (
    base64_size,
    file_size,
    run_stop_notice,
    stop_notice,
    thought_for,
    usage_parts,
)
from adkstream.settings import Settings

if TYPE_CHECKING:  # ADK takes a second to import: `adkstream --help` stays fast
    from adkstream.agents.registry import AgentRegistry
    from adkstream.client import AsyncClient


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adkstream", description=__doc__)
    parser.add_argument("--version", action="version", version=f"adkstream {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve agents over HTTP (SSE, NDJSON, JSON)")
    serve.add_argument(
        "agents",
        nargs="*",
        metavar="AGENT_REF",
        help="an agent to serve, as package.module:attr (importable from the current "
        "directory); none: the built-in agents",
    )
    serve.add_argument(
        "--agents-dir",
        type=Path,
        help="serve every agent of an ADK agents directory (<name>/agent.py)",
    )
    serve.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve beyond loopback with authentication off (anyone can run agents)",
    )
    _add_settings_flags(serve)

    web = commands.add_parser(
        "web",
        help="as `adk web`: serve an ADK agents directory with ADK's dev UI at /dev-ui/",
    )
    web.add_argument(
        "agents_dir",
        type=Path,
        metavar="AGENTS_DIR",
        help="an ADK agents directory (<name>/agent.py), as `adk web` takes",
    )
    web.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve beyond loopback with authentication off (anyone can run agents)",
    )
    _add_settings_flags(web)

    run = commands.add_parser(
        "run", help="run one prompt (in this process, or on a server) and print the stream"
    )
    run.add_argument("prompt", help="what to say to the agent")
    run.add_argument("--agent", help="the agent's name (default: the first)")
    run.add_argument(
        "--url", help="run on the adkstream server at this URL instead of in this process"
    )
    run.add_argument("--api-key", help="the server's API key (with --url)")
    run.add_argument(
        "--agents-dir",
        type=Path,
        help="load the agents of an ADK agents directory (<name>/agent.py)",
    )
    run.add_argument(
        "--agent-ref",
        action="append",
        default=[],
        metavar="AGENT_REF",
        help="load an agent by reference, package.module:attr (repeatable; none and no "
        "--agents-dir: the built-in agents)",
    )
    return parser


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """A flag for every setting (`--rate-limit` for ADKSTREAM_RATE_LIMIT, ...): flags win.
    Its help is the field's description, the variable and the default."""
    group = parser.add_argument_group("settings (each also an ADKSTREAM_* variable)")
    for name, field in Settings.model_fields.items():
        default = "unset" if field.default is None else f"{field.default}"
        text = f"{field.description} ({env_name(name)}; default: {default})"
        group.add_argument(
            flag_name(name),
            dest=f"setting_{name}",
            metavar="VALUE",
            help=text.replace("%", "%%"),
        )


def flag_name(setting: str) -> str:
    """`--coalesce-ms` for `coalesce_ms`."""
    return "--" + setting.replace("_", "-")


def env_name(setting: str) -> str:
    """`ADKSTREAM_COALESCE_MS` for `coalesce_ms`."""
    return f"ADKSTREAM_{setting.upper()}"


_SECRET_SETTINGS = frozenset(
    {"api_keys", "jwt_secret", "database_url", "redis_url", "log_url", "limits_url"}
)


def _settings(args: argparse.Namespace) -> Settings:
    """The settings from the environment, with the flags given on top (validated alike).

    Raises:
        ConfigurationError: a value is wrong; the message names the flag, or the
            variable, that gave it.
    """
    overrides = {
        name: value
        for name in Settings.model_fields
        if (value := getattr(args, f"setting_{name}", None)) is not None
    }
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            name = str(error["loc"][0]) if error["loc"] else ""
            source = flag_name(name) if name in overrides else env_name(name)
            given = overrides.get(name, _environ(env_name(name), error["input"]))
            value = "" if name in _SECRET_SETTINGS else f"={given!r}"
            problems.append(f"{source}{value}: {error['msg']}")
        raise ConfigurationError("; ".join(problems)) from None
    except SettingsError as exc:  # a variable pydantic-settings cannot even decode
        raise ConfigurationError(str(exc)) from None


def _environ(variable: str, default: object) -> object:
    """The variable's value as set (pydantic-settings reads names in any case)."""
    found = [v for k, v in os.environ.items() if k.upper() == variable]
    return found[0] if found else default


def _import_from_here() -> None:
    """Agent references import from the current directory, as with `python -m` and
    uvicorn (the `adkstream` script's own directory is on the path instead)."""
    here = os.getcwd()
    if "" not in sys.path and here not in sys.path:
        sys.path.insert(0, here)


def _agents(refs: Sequence[str], agents_dir: Path | None, settings: Settings) -> AgentRegistry:
    from adkstream.agents import AgentRegistry, builtin_agents, load_agent_ref, load_agents_dir

    if not refs and agents_dir is None:
        return builtin_agents(settings)
    _import_from_here()
    registry = AgentRegistry([load_agent_ref(ref) for ref in refs])
    if agents_dir is not None:
        for agent in load_agents_dir(agents_dir):
            registry.add(agent)
    return registry


def serve(args: argparse.Namespace) -> None:
    from adkstream.agents import describe_model
    from adkstream.agents.models import CREDENTIALS_HINT, models_without_credentials
    from adkstream.api import create_app
    from adkstream.api.hosts import is_loopback, startup_warnings
    from adkstream.api.server import run_server

    settings = _settings(args)
    if (
        not settings.auth_enabled
        and not is_loopback(settings.host)
        and not args.allow_unauthenticated
    ):
        raise ConfigurationError(
            f"refusing to serve on {settings.host} with authentication off: set "
            "ADKSTREAM_API_KEYS or ADKSTREAM_JWT_SECRET, or pass --allow-unauthenticated"
        )
    configure_logs(settings.log_level)
    logger = logging.getLogger("adkstream.server")
    for warning in startup_warnings(
        settings.allowed_hosts, auth_enabled=settings.auth_enabled, bind=settings.host
    ):
        logger.warning(warning)
    agents = _agents(args.agents, args.agents_dir, settings)
    for agent in agents:
        for name, model_name in models_without_credentials(agent.root):
            logger.warning(
                "agent %r: its model %s (Gemini) has no credentials, its runs will fail "
                "with model_auth_error: %s",
                name,
                model_name,
                CREDENTIALS_HINT,
                extra={"agent": agent.name, "model": model_name, "event": "model_credentials"},
            )
    app = create_app(settings, agents)
    model = next(
        (
            describe_model(m)
            for a in agents
            if (m := getattr(a.root, "model", None)) is not None and not isinstance(m, str)
        ),
        "from the agents",
    )

    url = f"http://{_url_host(settings.host)}:{settings.port}"
    where = f"{url}/dev-ui/ (chat page: {url}/chat)" if settings.dev_ui else url

    def banner() -> None:  # once the socket listens: storage opened as the settings say
        print(
            f"adkstream on {where} · agents: "
            f"{', '.join(a.name for a in agents)} · model: {model} · "
            f"storage: {storage(settings)}",
            flush=True,
        )

    run_server(app, settings, on_listening=banner)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


_DATABASES = {"postgresql": "PostgreSQL", "sqlite": "SQLite", "mysql": "MySQL"}
_LOGS = {**_DATABASES, "postgres": "PostgreSQL", "redis": "Redis", "rediss": "Redis"}


def storage(settings: Settings) -> str:
    """Where sessions and the run log are, for the banner: `sessions SQLite, log SQLite
    in .adkstream/`, `sessions SQLite in .adkstream/, log Redis at redis://host:6379/0`."""
    from sqlalchemy.engine import make_url

    from adkstream.runner.host import redact_url
    from adkstream.runner.storage import scheme

    here = f"in {settings.data_dir}/"
    if settings.database_url:
        backend = make_url(settings.database_url).get_backend_name()
        sessions = f"sessions {_DATABASES.get(backend, backend)} at "
        sessions += redact_url(settings.database_url)
    else:
        sessions = "sessions SQLite"
    url = settings.run_log_url
    if url:
        log = f"log {_LOGS.get(scheme(url), scheme(url))} at {redact_url(url)}"
        if not settings.database_url:
            sessions += f" {here}"
        return f"{sessions}, {log}"
    return f"{sessions}, log SQLite {here}"


def run(args: argparse.Namespace) -> int:
    if not args.prompt.strip():
        raise RequestError("the prompt is empty: say something to the agent", field="prompt")
    if args.url is not None:
        if args.agent_ref or args.agents_dir is not None:
            raise ConfigurationError(
                "--url runs the server's agents: drop --agent-ref/--agents-dir"
            )
        return asyncio.run(_run_remote(args.url, args.api_key, args.agent, args.prompt))
    settings = _settings(args)
    configure_logs("warning")  # a failed run's log record: one JSON line, not a traceback
    agents = _agents(args.agent_ref, args.agents_dir, settings)
    return asyncio.run(_run_in_process(agents, args.agent, args.prompt))


async def _run_in_process(agents: AgentRegistry, agent_name: str | None, prompt: str) -> int:
    from adkstream.runner.local import InProcess

    local = InProcess(agents)
    try:
        run = await local.start(prompt, agent=agent_name)
        while True:
            printer = await _print(local.events(run.run_id), sys.stdout)
            if printer.waiting is None:
                return printer.code
            answers = await _answers_or_explain(printer.waiting, url=None, api_key=None)
            if answers is None:
                return 0
            run = await local.answer(printer.waiting.run_id, answers)
    finally:
        await local.aclose()


async def _run_remote(url: str, api_key: str | None, agent: str | None, prompt: str) -> int:
    """Streams a run of the server at `url` (closing early, e.g. on Ctrl-C, cancels it)."""
    from adkstream.client import AsyncClient
    from adkstream.client.errors import APIConnectionError

    try:
        return await _follow_remote(AsyncClient(url, api_key=api_key), url, api_key, agent, prompt)
    except APIConnectionError as exc:
        reason = _root_reason(exc)
        if exc.run_id is None:
            raise AdkStreamError(f"could not reach {url}: {reason}", code=exc.code) from None
        raise AdkStreamError(
            f"lost the connection to {url} (run {exc.run_id}, after event {exc.last_seq}): "
            f"{reason}",
            code=exc.code,
        ) from None


def _root_reason(exc: BaseException) -> str:
    """The innermost cause's message, on one line (`[Errno 111] Connection refused`)."""
    seen: list[BaseException] = [exc]
    while (cause := seen[-1].__cause__ or seen[-1].__context__) is not None and cause not in seen:
        seen.append(cause)
    for error in reversed(seen):
        if text := " ".join(str(error).split()):
            return text
    return type(exc).__name__


async def _follow_remote(
    client: AsyncClient, url: str, api_key: str | None, agent: str | None, prompt: str
) -> int:
    async with client:
        stream = client.stream(prompt, agent=agent)
        while True:
            async with stream as events:
                printer = await _print(events, sys.stdout)
            if printer.waiting is None:
                return printer.code
            answers = await _answers_or_explain(printer.waiting, url=url, api_key=api_key)
            if answers is None:
                return 0
            stream = client.answer(printer.waiting.run_id, answers)


async def _answers_or_explain(
    waiting: RunWaiting, *, url: str | None, api_key: str | None
) -> dict[str, dict[str, Any]] | None:
    """On a terminal, asks for each pending request's answer; otherwise prints how to
    answer and returns None."""
    if not sys.stdin.isatty():
        sys.stdout.write(how_to_answer(waiting, url=url, with_key=api_key is not None))
        return None
    return {
        request.request_id: await asyncio.to_thread(_ask, request) for request in waiting.pending
    }


def _ask(request: InputRequest) -> dict[str, Any]:
    """One request's answer, asked on the terminal (a blocking read: run in a thread)."""
    print(f"\n? {_request_line(request)}", flush=True)
    if request.kind == "confirmation":
        return {"confirmed": input("  approve? [y/N] ").strip().lower() in ("y", "yes")}
    if request.kind == "credential":
        return {"access_token": getpass.getpass("  access token: ")}
    if request.kind == "input":
        return {"value": input("  answer: ")}
    while True:
        line = input("  result (one line of JSON): ")
        try:
            return {"result": json.loads(line)}
        except json.JSONDecodeError as exc:
            print(f"  not JSON ({exc.msg}); try again", flush=True)


_ANSWER_FIELDS: dict[str, dict[str, Any]] = {
    "confirmation": {"confirmed": True},
    "tool_result": {"result": "..."},
    "client_tool": {"result": "..."},
    "credential": {"access_token": "..."},
    "input": {"value": "..."},
}


def how_to_answer(waiting: RunWaiting, *, url: str | None, with_key: bool = False) -> str:
    """What a run waits for, and the request that answers it (a curl command for a run on a
    server; a run in this process ends with the process, so only the terminal can answer).

    Args:
        waiting: the run's `run.waiting` event.
        url: the server's URL; None for a run in this process.
        with_key: the server wants an API key (the command reads `$ADKSTREAM_API_KEY`).
    """
    lines = [f"\nrun {waiting.run_id} waits for {len(waiting.pending)} answer(s):"]
    lines.extend(f"  ? {_request_line(request)}" for request in waiting.pending)
    if url is None:
        lines.append("run it from a terminal to answer (the run ends with this process)")
        return "\n".join(lines) + "\n"
    answers = [
        {"request_id": r.request_id, **_ANSWER_FIELDS.get(r.kind, {"value": "..."})}
        for r in waiting.pending
    ]
    body = json.dumps({"answers": answers})
    endpoint = f"{url.rstrip('/')}/v1/runs/{waiting.run_id}/answers"
    command = ["curl", "-N", "-X", "POST", shlex.quote(endpoint)]
    command += ["-H", "'Content-Type: application/json'"]
    if with_key:
        command += ["-H", '"Authorization: Bearer $ADKSTREAM_API_KEY"']
    command += ["-d", shlex.quote(body)]
    lines += ["answer with (edit the values):", "  " + " ".join(command)]
    return "\n".join(lines) + "\n"


def _request_line(request: InputRequest) -> str:
    hint = f" · {request.hint}" if request.hint else ""
    return f"{request.kind}: {request.name}({_args(request.args)}) [{request.request_id}]{hint}"


async def print_stream(events: AsyncIterator[StreamEvent], out: TextIO = sys.stdout) -> int:
    """Prints a run as it streams: agent names, text, thinking (dimmed on a terminal), tool
    calls, code and its output, files, sources, artifacts, escalations, answers cut or
    stopped by a filter, what a paused run waits for, and the tokens used; returns an
    exit code (0 for a run that ends waiting)."""
    return (await _print(events, out)).code


async def _print(events: AsyncIterator[StreamEvent], out: TextIO) -> _Printer:
    printer = _Printer(out)
    async for event in events:
        printer.print(event)
        out.flush()
    return printer


# ADK's own calls that carry a pause: the `input.requested` event says it instead.
_PAUSE_CALLS = frozenset({"adk_request_confirmation", "adk_request_credential"})
_OUTCOMES = {"ok": "done", "failed": "failed", "deadline_exceeded": "timed out"}


class _Printer:
    """What `print_stream` remembers between events: whose line is open, when each piece
    of thinking began, and the last message's finish reason (not said twice)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.code = 0
        self.author: str | None = None
        self.dim = out.isatty()
        self.thinking: dict[str, float] = {}  # message_id -> ts of its first delta
        self.noted: str | None = None
        self.waiting: RunWaiting | None = None

    def print(self, event: StreamEvent) -> None:
        write = self.out.write
        if isinstance(event, AgentStarted | MessageDelta | ReasoningDelta | ReasoningCompleted):
            self._line_of(event.author)
        match event:
            case MessageDelta():
                write(event.text)
            case MessageCompleted():
                write("\n")
                self.author, self.noted = None, event.finish_reason
                if notice := stop_notice(event.finish_reason):
                    write(f"  ({notice})\n")
            case ReasoningDelta():
                if event.message_id not in self.thinking:
                    self.thinking[event.message_id] = event.ts
                    write(self._dimmed("thinking: "))
                write(self._dimmed(event.text))
            case ReasoningCompleted():
                started = self.thinking.pop(event.message_id, None)
                if started is None:  # it came whole: no time to tell
                    write(self._dimmed(f"thinking: {event.text}") + "\n")
                else:
                    took = thought_for(started, event.ts).lower()
                    write(self._dimmed(f" ({took})") + "\n")
                self.author = None
            case CodeCall():
                write(f"\n  code ({event.language}):\n{_indent(event.code)}\n")
            case CodeResult():
                status = _OUTCOMES.get(event.outcome, event.outcome)
                label = "output" if event.outcome == "ok" else f"output ({status})"
                write(f"  {label}:\n{_indent(event.output or '(no output)')}\n")
                self.author = None
            case MessageFile():
                size = file_size(base64_size(event.data))
                write(f"  file: {event.name or event.file_id} · {event.mime_type} · {size}\n")
            case MessageSources():
                for index, source in enumerate(event.sources, start=1):
                    where = f" <{source.url}>" if source.url else ""
                    write(f"  [{index}] {source.title or source.id}{where}\n")
                if event.queries:
                    write(f"  searched for: {', '.join(event.queries)}\n")
            case ArtifactSaved():
                facts = [f"version {event.version}", event.mime_type or "type unknown"]
                if event.size is not None:
                    facts.append(file_size(event.size))
                write(f"\n  artifact: {event.name} · {' · '.join(facts)} · {event.url}\n")
                self.author = None
            case AgentEscalated():
                write(f"\n  ^ {event.author} escalated\n")
                self.author = None
            case ToolCall() | ToolResult() if event.name in _PAUSE_CALLS:
                pass  # the `input.requested` says it
            case ToolCall():
                write(f"\n  -> {event.name}({_args(event.args)})")
            case ToolResult():
                write(f"\n  <- {event.name}: {event.result}\n")
                self.author = None
            case AgentTransfer():
                write(f"\n  => transfer {event.from_agent} -> {event.to_agent}\n")
            case RunCompleted():
                if notice := run_stop_notice(event.finish_reason, noted=self.noted):
                    write(f"\n({notice})")
                parts = "".join(f", {part}" for part in usage_parts(event.usage))
                write(f"\n(done: {event.usage.total_tokens} tokens{parts})\n")
            case RunFailed():
                write(f"\n(failed: {event.error.code}: {event.error.message})\n")
                self.code = 1
            case RunCancelled():
                write(f"\n(cancelled: {event.reason})\n")
                self.code = 130
            case RunQueued():
                write(f"(waiting for the session's run in progress, {event.behind}, to end)\n")
            case InputRequested():
                hint = f"\n     {event.hint}" if event.hint else ""
                write(f"\n  ? {event.kind}: {event.name}({_args(event.args)}){hint}\n")
                self.author = None
            case RunWaiting():
                write(f"\n(waiting for {len(event.pending)} answer(s): run {event.run_id})\n")
                self.waiting = event
            case _:
                pass  # state, agents' ends and live-only events: not printed

    def _line_of(self, author: str) -> None:
        if author != self.author:
            self.author = author
            self.out.write(f"\n[{author}] ")

    def _dimmed(self, text: str) -> str:
        return f"\x1b[2m{text}\x1b[0m" if self.dim else text


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines() or [""])


def _args(args: dict[str, object]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; 2 for a usage or start-up error (one line on stderr)."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "web":
            args.agents = []
            if args.setting_dev_ui is None:
                args.setting_dev_ui = "true"
        if args.command in ("serve", "web"):
            serve(args)
            return 0
        return run(args)
    except AdkStreamError as exc:
        print(f"adkstream: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
