"""The Host allowlist: the names this server answers to (`ADKSTREAM_ALLOWED_HOSTS`).

DNS rebinding: a page on `evil.example` points its name at 127.0.0.1 once loaded, and
the browser then sends its requests to a server on the user's loopback as if it were
evil.example's own (same origin: it may read the answers). Those requests carry
`Host: evil.example`; a server that answers only the names it is known by refuses them.
With authentication off the default is loopback names only; with it on, any name (a
rebinding page has no credentials to send). A request without a Host header (HTTP/1.0
tools) is let through: a browser always sends one.

WebSocket origins are checked against the same list (`origin_allowed`): a browser page
may open a socket to any site, and the only mark of where it came from is `Origin`.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from adkstream import metrics
from adkstream.api.errors import error_body, send_json

logger = logging.getLogger("adkstream.api")

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
MISDIRECTED = 421
"""The status of a request for a name the server does not answer to (RFC 9110 15.5.20)."""


def host_name(authority: str) -> str:
    """The lower-case name of a Host value or an origin's authority: no port, no IPv6
    brackets, no trailing dot (`[::1]:8000` -> `::1`, `Example.COM.:80` -> `example.com`)."""
    value = authority.strip().lower()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


@dataclass(frozen=True)
class AllowedHosts:
    """Host names (exact, or `*.example.com` for its subdomains), or any (`*`)."""

    names: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    any: bool = False

    @classmethod
    def of(cls, names: Iterable[str]) -> AllowedHosts:
        listed = [name.strip() for name in names if name.strip()]
        if "*" in listed:
            return cls(any=True)
        suffixes = tuple(host_name(n[2:]) for n in listed if n.startswith("*."))
        exact = frozenset(host_name(n) for n in listed if not n.startswith("*."))
        return cls(names=exact, suffixes=tuple(f".{s}" for s in suffixes))

    @classmethod
    def from_setting(cls, spec: str | None, *, auth_enabled: bool) -> AllowedHosts:
        """`ADKSTREAM_ALLOWED_HOSTS` (comma-separated), or the default for the auth mode."""
        if spec is not None and spec.strip():
            return cls.of(spec.split(","))
        return cls(any=True) if auth_enabled else cls.of(LOOPBACK_NAMES)

    def allows(self, authority: str) -> bool:
        """Whether a Host value (or an origin's authority) names an allowed host."""
        if self.any:
            return True
        name = host_name(authority)
        return bool(name) and (name in self.names or name.endswith(self.suffixes))


def startup_warnings(allowed_hosts: str | None, *, auth_enabled: bool, bind: str) -> list[str]:
    """What an operator serving on `bind` with authentication off should know."""
    if auth_enabled:
        return []
    if allowed_hosts is not None and allowed_hosts.strip():
        if AllowedHosts.from_setting(allowed_hosts, auth_enabled=False).any:
            return [
                "ADKSTREAM_ALLOWED_HOSTS=* with authentication off: any web page the users "
                "of this machine open can reach the server through DNS rebinding"
            ]
        return []
    if is_loopback(bind):
        return []
    return [
        f"serving on {bind} with authentication off and ADKSTREAM_ALLOWED_HOSTS unset: only "
        "requests addressed to localhost, 127.0.0.1 or [::1] are answered (421 for any "
        "other name); set ADKSTREAM_ALLOWED_HOSTS to the names clients use (e.g. "
        "myhost.lan,192.168.1.20)"
    ]


def is_loopback(address: str) -> bool:
    """`localhost`, or a loopback IP address (127.0.0.0/8, ::1)."""
    name = host_name(address)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def origin_allowed(
    origin: str, *, host: str, hosts: AllowedHosts, cors_origins: frozenset[str]
) -> bool:
    """Whether a WebSocket from a page at `origin` may connect.

    Allowed: an origin of `ADKSTREAM_CORS_ORIGINS`, or a page served from an allowed host
    name (any port). With any host allowed, a name says nothing: then only the server's
    own origin (its authority is the request's Host) is.
    """
    if origin in cors_origins or "*" in cors_origins:
        return True
    scheme, separator, authority = origin.partition("://")
    if not separator or scheme.lower() not in ("http", "https"):
        return False  # `null` (a sandboxed page, a file) and the like
    if hosts.any:
        return authority.lower() == host.lower()
    return hosts.allows(authority)


class HostGuard:
    """Answers requests and WebSocket handshakes for a name not allowed with 421.

    A pure ASGI middleware, outermost: nothing else (CORS, authentication, routes) runs
    for such a request. A WebSocket gets the same JSON answer to its handshake where the
    server can send one (ASGI's `websocket.http.response`), else the close code 1008.
    """

    def __init__(self, app: ASGIApp, *, hosts: AllowedHosts) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.hosts.any:
            await self.app(scope, receive, send)
            return
        host = next((v for k, v in scope["headers"] if k == b"host"), None)
        if host is None or self.hosts.allows(host.decode("latin-1")):
            await self.app(scope, receive, send)
            return
        metrics.REJECTED.labels("host_not_allowed").inc()
        name = host_name(host.decode("latin-1"))[:100]
        logger.info("refused a request for host %r", name, extra={"path": scope["path"]})
        body = error_body(
            "host_not_allowed",
            f"this server does not answer to the host {name!r}: "
            "ADKSTREAM_ALLOWED_HOSTS lists the names it answers to",
            field="Host",
        )
        if scope["type"] == "http":
            await send_json(send, MISDIRECTED, body)
        elif "websocket.http.response" in scope.get("extensions", {}):
            await send_json(send, MISDIRECTED, body, prefix="websocket.")
        else:
            await send({"type": "websocket.close", "code": 1008, "reason": "host not allowed"})
