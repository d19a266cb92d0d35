"""`keyless`: an agent on ADK's Gemini, for the tests of a model with no credentials
(served without GOOGLE_API_KEY / GEMINI_API_KEY: google-genai raises before any request).
Serve it as `tests.api.keyless_agent:root_agent`."""

from __future__ import annotations

from google.adk.agents import LlmAgent

root_agent = LlmAgent(name="keyless", model="gemini-2.5-flash", instruction="Be brief.")
