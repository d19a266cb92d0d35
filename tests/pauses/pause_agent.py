"""An agent whose tools pause a run, for the pause tests (in process and served).

`bank` has a tool that needs a person's confirmation (`transfer`), a long-running tool
whose result comes later (`ask_manager`) and a tool that asks for an OAuth token
(`read_calendar`). `TOOL_RUNS` counts what each tool really did, per process.
"""

from __future__ import annotations

import os
from collections import Counter

from fastapi.openapi.models import OAuth2, OAuthFlowAuthorizationCode, OAuthFlows
from google.adk.agents import LlmAgent
from google.adk.auth.auth_credential import AuthCredential, AuthCredentialTypes, OAuth2Auth
from google.adk.auth.auth_tool import AuthConfig
from google.adk.models.base_llm import BaseLlm
from google.adk.tools import FunctionTool, LongRunningFunctionTool
from google.adk.tools.tool_context import ToolContext

TOOL_RUNS: Counter[str] = Counter()

CALENDAR_AUTH = AuthConfig(
    auth_scheme=OAuth2(
        flows=OAuthFlows(
            authorizationCode=OAuthFlowAuthorizationCode(
                authorizationUrl="https://auth.example/authorize",
                tokenUrl="https://auth.example/token",
                scopes={"calendar": "read your calendar"},
            )
        )
    ),
    raw_auth_credential=AuthCredential(
        auth_type=AuthCredentialTypes.OAUTH2,
        oauth2=OAuth2Auth(client_id="client", client_secret="secret"),
    ),
)


def transfer(amount: int) -> dict[str, object]:
    """Transfers money (a person must confirm it first).

    Args:
        amount: how much.
    """
    TOOL_RUNS["transfer"] += 1
    return {"transferred": amount}


def ask_manager(question: str) -> dict[str, object]:
    """Asks a manager; the answer comes later.

    Args:
        question: what to ask.
    """
    TOOL_RUNS["ask_manager"] += 1
    return {"status": "asked, waiting for the manager"}


def read_calendar(tool_context: ToolContext) -> dict[str, object]:
    """Reads the user's calendar (needs their OAuth token)."""
    credential = tool_context.get_auth_response(CALENDAR_AUTH)
    token = credential.oauth2.access_token if credential and credential.oauth2 else None
    if not token:
        tool_context.request_credential(CALENDAR_AUTH)
        return {"status": "waiting for the user's credentials"}
    TOOL_RUNS["read_calendar"] += 1
    return {"events": ["standup"], "token_used": token}


def build_bank(model: BaseLlm | str) -> LlmAgent:
    return LlmAgent(
        name="bank",
        model=model,
        instruction="Help with money and the calendar.",
        tools=[
            FunctionTool(transfer, require_confirmation=True),
            LongRunningFunctionTool(ask_manager),
            read_calendar,
        ],
    )


def _served_model() -> BaseLlm | str:
    """ADK's Gemini class on the test's fake Gemini server (its URL in the environment)."""
    from google.adk.models.google_llm import Gemini

    return Gemini(model="gemini-2.5-flash", base_url=os.environ.get("FAKE_GEMINI_URL"))


root_agent = build_bank(_served_model())
"""`adkstream serve tests.pauses.pause_agent:root_agent`, with FAKE_GEMINI_URL set."""
