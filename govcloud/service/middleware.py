"""Cross-cutting protections: request size limit, rate limits, security headers, an access log
without secrets, and the CSRF checks the portal's forms use.

- **Size**: bodies over the limit (256 KiB by default) are refused with 413 before they are read
  in full, whether announced by Content-Length or streamed (chunked).
- **Rate limits**: in-process token buckets, one per (client address, principal or "anonymous"),
  for sign-in attempts and for API calls. In-process means per service process: two processes
  give a client twice the rate; a reverse proxy in front should carry the global limit.
- **Logs**: method, path (never the query string: an OAuth ``code`` travels there), status,
  duration and the principal id. Never a token, cookie or client secret.
- **CSRF**: the OWASP CSRF Prevention Cheat Sheet's synchronizer token bound to the session for
  signed-in forms, and a double-submit cookie for the sign-in form (login CSRF), both compared in
  constant time; plus SameSite=Lax cookies as defence in depth.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field

from govcloud.service.config import RateLimit
from govcloud.service.errors import ServiceError

log = logging.getLogger("govcloud.service")


class BodyLimit:
    """ASGI middleware: 413 for a body larger than ``limit`` bytes."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.limit
            except ValueError:
                too_big = True
            if too_big:
                return await _json(send, 413, {"error": "too_large", "message": f"request bodies are limited to {self.limit} bytes"})
        seen = 0
        started = False

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge()
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _json(send, 413, {"error": "too_large", "message": f"request bodies are limited to {self.limit} bytes"})


class _TooLarge(Exception):
    pass


async def _json(send, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


class SecurityHeaders:
    """Headers every response carries: no framing, no sniffing, no referrer leaks, a strict CSP
    (the portal has no external assets and no inline script)."""

    HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                     b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
        (b"cache-control", b"no-store"),
    ]

    def __init__(self, app, hsts: bool):
        self.app, self.hsts = app, hsts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        started = time.monotonic()
        status = {"code": 0}

        async def wrapped(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.HEADERS if k not in names]
                if self.hsts:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        finally:
            state = scope.get("state") or {}
            log.info("%s %s %s %.0fms %s", scope.get("method"), path, status["code"],
                     (time.monotonic() - started) * 1000, state.get("principal", "-"))


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimiter:
    """Token buckets keyed by (client, who): ``burst`` at once, ``per_second`` sustained."""

    rate: RateLimit
    buckets: dict[tuple, _Bucket] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, key: tuple) -> None:
        """Refuse (429) when the bucket is empty, without taking from it."""
        with self.lock:
            b = self.buckets.get(key)
            if b is None:
                return
            level = min(self.rate.burst, b.tokens + (time.monotonic() - b.stamp) * self.rate.per_second)
        if level < 1:
            wait = max(1, int((1 - level) / self.rate.per_second + 0.999))
            raise ServiceError(429, "rate_limited", "too many requests; try again later",
                               headers={"Retry-After": str(wait)})

    def take(self, key: tuple) -> None:
        now = time.monotonic()
        with self.lock:
            b = self.buckets.get(key)
            if b is None:
                if len(self.buckets) > 10_000:     # bounded memory: forget full buckets
                    self.buckets = {k: v for k, v in self.buckets.items() if v.tokens < self.rate.burst - 1}
                b = self.buckets[key] = _Bucket(self.rate.burst, now)
            b.tokens = min(self.rate.burst, b.tokens + (now - b.stamp) * self.rate.per_second)
            b.stamp = now
            if b.tokens < 1:
                wait = max(1, int((1 - b.tokens) / self.rate.per_second + 0.999))
                raise ServiceError(429, "rate_limited", "too many requests; try again later",
                                   headers={"Retry-After": str(wait)})
            b.tokens -= 1


class SharedRateLimiter:
    """The same token buckets, kept in the service's database so that every process draws from
    one budget (for sign-in attempts and bad bearer tokens, where the bound matters: N processes
    with their own buckets allowed N times the guesses). Each take is one atomic UPDATE, so two
    processes cannot both spend the last token."""

    def __init__(self, rate: RateLimit, Session, clock=time.time):
        self.rate, self.Session, self.clock = rate, Session, clock

    def _level(self, now: float):
        from sqlalchemy import case, literal

        from govcloud.service.db import RateBucket

        refilled = RateBucket.tokens + (literal(now) - RateBucket.stamp) * self.rate.per_second
        return case((refilled > self.rate.burst, literal(float(self.rate.burst))), else_=refilled)

    def _refuse(self, tokens: float) -> None:
        wait = max(1, int((1 - tokens) / self.rate.per_second + 0.999))
        raise ServiceError(429, "rate_limited", "too many requests; try again later", headers={"Retry-After": str(wait)})

    @staticmethod
    def _key(key: tuple) -> str:
        return "|".join(str(part) for part in key)[:200]

    def check(self, key: tuple) -> None:
        from sqlalchemy import select

        from govcloud.service.db import RateBucket

        now = self.clock()
        with self.Session() as s:
            level = s.scalar(select(self._level(now)).where(RateBucket.key == self._key(key)))
        if level is not None and level < 1:
            self._refuse(level)

    def take(self, key: tuple, _again: bool = True) -> None:
        from sqlalchemy import delete, select, update
        from sqlalchemy.exc import IntegrityError

        from govcloud.service.db import RateBucket

        name, now = self._key(key), self.clock()
        level = self._level(now)
        with self.Session.begin() as s:
            done = s.execute(update(RateBucket).where(RateBucket.key == name, level >= 1)
                             .values(tokens=level - 1, stamp=now).execution_options(synchronize_session=False))
            if done.rowcount == 1:
                return
            left = s.scalar(select(level).where(RateBucket.key == name))
        if left is not None:
            self._refuse(left)
        try:
            with self.Session.begin() as s:
                # Buckets full again are forgotten (bounded table), then this one starts.
                s.execute(delete(RateBucket).where(RateBucket.stamp < now - self.rate.burst / self.rate.per_second))
                s.add(RateBucket(key=name, tokens=self.rate.burst - 1, stamp=now))
        except IntegrityError:           # another process started it meanwhile: take from it
            if not _again:
                raise ServiceError(429, "rate_limited", "too many requests; try again later",
                                   headers={"Retry-After": "1"}) from None
            self.take(key, False)


def client_address(request, trust_proxy: bool) -> str:
    """The address rate limits are keyed on. Behind our own proxy: the right-most X-Forwarded-For
    entry, which that proxy appended (the entries left of it are whatever the client sent, so a
    client could pick a fresh bucket for every request)."""
    if trust_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()[:64]
    return request.client.host if request.client else "?"
