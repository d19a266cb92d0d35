"""Authentication: who is calling. Identity decides the ADK `user_id`; a body never does.

Built-in schemes: API keys (`ADKSTREAM_API_KEYS`: `KEY=USER,KEY=USER`, or `@FILE` with one
`KEY USER` per line; sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`) and JWT
bearer tokens (`ADKSTREAM_JWT_SECRET` for HS256, or `ADKSTREAM_JWT_PUBLIC_KEY_FILE` for
RS256/ES256; `sub` is the user; `exp`, `nbf`, and when configured `aud` and `iss` are
checked; `exp`, `nbf` and `iat` must be JSON numbers). `ADKSTREAM_AUTHENTICATOR=module:attr`
names a custom one: a callable taking the request headers and returning the user id (or
None), sync or async.
With none configured, auth is off and every caller is the single local user.

A request that sends both `X-API-Key` and `Authorization` is identified from each alone:
when the two name different users (or either is not valid) it is refused, rather than
one of them silently winning.
"""

from __future__ import annotations

import hmac
import importlib
import inspect
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import jwt

from adkstream.errors import ConfigurationError
from adkstream.settings import Settings

LOCAL_USER = "local"

Authenticator = Callable[[Mapping[str, str]], Awaitable[str | None]]
"""Takes the request headers (lower-case names); returns the user id, or None if they
carry no credentials this scheme knows. Raises AuthenticationFailed for bad ones."""


class AuthenticationFailed(Exception):
    """Credentials were given but are not valid (wrong, expired, not yet valid)."""


def bearer_token(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


@dataclass(frozen=True)
class ApiKeys:
    """API keys mapped to users; compared in constant time."""

    keys: Mapping[str, str]

    @classmethod
    def parse(cls, spec: str) -> ApiKeys:
        """`KEY=USER,KEY=USER` or `@FILE` (one `KEY USER` per line, `#` comments)."""
        pairs: list[tuple[str, str]] = []
        if spec.startswith("@"):
            path = Path(spec[1:])
            try:
                lines = path.read_text().splitlines()
            except OSError as exc:
                raise ConfigurationError(f"cannot read API keys file {str(path)!r}: {exc}") from exc
            for number, line in enumerate(lines, 1):
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                key, _, user = line.partition(" ")
                if not key or not user.strip():
                    raise ConfigurationError(f"{path}:{number}: expected 'KEY USER'")
                pairs.append((key, user.strip()))
        else:
            for item in spec.split(","):
                key, sep, user = item.strip().partition("=")
                if not sep or not key or not user:
                    raise ConfigurationError("ADKSTREAM_API_KEYS must be KEY=USER,KEY=USER")
                pairs.append((key, user))
        return cls(dict(pairs))

    async def __call__(self, headers: Mapping[str, str]) -> str | None:
        given = headers.get("x-api-key") or bearer_token(headers)
        if given is None:
            return None
        user = None
        for key, owner in self.keys.items():
            if hmac.compare_digest(key.encode(), given.encode()):
                user = owner
        if user is None:
            raise AuthenticationFailed("unknown API key")
        return user


@dataclass(frozen=True)
class JwtBearer:
    """JWT bearer tokens: HS256 with a shared secret, or RS256/ES256 with a public key."""

    key: str
    algorithms: tuple[str, ...]
    audience: str | None = None
    issuer: str | None = None

    async def __call__(self, headers: Mapping[str, str]) -> str | None:
        token = bearer_token(headers)
        if token is None or token.count(".") != 2:
            return None
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["sub", "exp"], "verify_aud": self.audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(f"invalid token: {type(exc).__name__}") from exc
        except RecursionError:  # a header nested past the limit (older PyJWT releases)
            raise AuthenticationFailed("invalid token: malformed") from None
        _check_time_claims(claims)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthenticationFailed("the token has no subject")
        return subject


_TIME_CLAIMS = ("exp", "nbf", "iat")


def _check_time_claims(claims: Mapping[str, object]) -> None:
    """`exp`, `nbf` and `iat` are NumericDates (RFC 7519): JSON numbers.

    PyJWT takes whatever `int()` takes, so `"exp": "99999999999"` (a string) or `true`
    would pass its checks: a token some other verifier refuses, or one whose expiry is
    not what its issuer meant.
    """
    for name in _TIME_CLAIMS:
        value = claims.get(name)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise AuthenticationFailed(f"invalid token: {name} is not a number")


def load_custom(ref: str) -> Authenticator:
    """A custom authenticator from `module:attr` (sync or async callable)."""
    module_name, _, attr = ref.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(f"cannot load authenticator {ref!r}: {exc}") from exc
    if not callable(func):
        raise ConfigurationError(f"authenticator {ref!r} is not callable")

    async def call(headers: Mapping[str, str]) -> str | None:
        result = func(headers)
        if inspect.isawaitable(result):
            result = await result
        if result is not None and not isinstance(result, str):
            raise ConfigurationError(f"authenticator {ref!r} returned {type(result).__name__}")
        return result

    return call


def authenticators(settings: Settings) -> list[Authenticator]:
    """The configured schemes, tried in order: custom, API keys, JWT."""
    schemes: list[Authenticator] = []
    if settings.authenticator:
        schemes.append(load_custom(settings.authenticator))
    if settings.api_keys:
        schemes.append(ApiKeys.parse(settings.api_keys))
    if settings.jwt_secret:
        schemes.append(
            JwtBearer(settings.jwt_secret, ("HS256",), settings.jwt_audience, settings.jwt_issuer)
        )
    if settings.jwt_public_key_file:
        try:
            public_key = settings.jwt_public_key_file.read_text()
        except OSError as exc:
            raise ConfigurationError(f"cannot read the JWT public key: {exc}") from exc
        schemes.append(
            JwtBearer(public_key, ("RS256", "ES256"), settings.jwt_audience, settings.jwt_issuer)
        )
    return schemes


async def identify(schemes: list[Authenticator], headers: Mapping[str, str]) -> str | None:
    """The user the headers prove, None when they carry no credentials.

    With both `X-API-Key` and `Authorization`, each is tried alone (the other left out):
    both must be valid, and name one user when both name one.

    Raises:
        AuthenticationFailed: credentials that no scheme accepts, or two that conflict.
    """
    if "x-api-key" not in headers or "authorization" not in headers:
        return await _first_user(schemes, headers)
    by_key = await _first_user(schemes, _without(headers, "authorization"))
    by_authorization = await _first_user(schemes, _without(headers, "x-api-key"))
    if by_key is not None and by_authorization is not None and by_key != by_authorization:
        raise AuthenticationFailed("X-API-Key and Authorization name different users")
    return by_key or by_authorization


def _without(headers: Mapping[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key != name}


async def _first_user(schemes: list[Authenticator], headers: Mapping[str, str]) -> str | None:
    """The user of the first scheme that knows the credentials (see `identify`)."""
    failure: AuthenticationFailed | None = None
    for scheme in schemes:
        try:
            user = await scheme(headers)
        except AuthenticationFailed as exc:
            failure = exc
            continue
        if user is not None:
            return user
    if failure is not None:
        raise failure
    return None
