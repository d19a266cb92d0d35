"""Test doubles that speak real wire protocols (e.g. a fake Gemini HTTP server)."""
