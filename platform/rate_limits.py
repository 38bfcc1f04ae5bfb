"""Rate limiters: how many hits a key may make in a sliding window of time.

``memory://`` counts in this process (one server process, tests); ``redis://…`` counts in
Redis, shared by every process of the deployment. Both keep the time of each counted hit
in the window (a sliding log), so they answer alike: a hit is refused while ``limit`` hits
are younger than ``window_seconds``, and the answer says how long until the oldest ages out.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import redis

logger = logging.getLogger("tessera.rate_limits")

Clock = Callable[[], float]


class RateLimiter:
    """Counts hits per key. Subclasses implement :meth:`check`."""

    def hit(self, key: str, limit: int, window_seconds: float) -> float | None:
        """Count a hit of ``key``: ``None`` when it is allowed, else the seconds to wait
        (a refused hit is not counted)."""
        return self.check(key, limit, window_seconds, count=True)

    def retry_after(self, key: str, limit: int, window_seconds: float) -> float | None:
        """What :meth:`hit` would answer, without counting anything."""
        return self.check(key, limit, window_seconds, count=False)

    def check(self, key: str, limit: int, window_seconds: float, *, count: bool) -> float | None:
        """``None`` when a hit is allowed (and counted, with ``count``), else the wait."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections, if any."""


class MemoryRateLimiter(RateLimiter):
    """Counts in this process (thread-safe): each process of a deployment counts on its own."""

    #: how many hits between two sweeps of keys that have no hit left in their window
    SWEEP_EVERY = 10_000

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.hits: dict[str, tuple[deque[float], float]] = {}
        self.since_sweep = 0

    def check(self, key: str, limit: int, window_seconds: float, *, count: bool) -> float | None:
        check_limit(limit, window_seconds)
        now = self.clock()
        with self.lock:
            times = self.hits[key][0] if key in self.hits else deque()
            while times and times[0] <= now - window_seconds:
                times.popleft()
            if len(times) >= limit:
                return times[-limit] + window_seconds - now
            if count:
                times.append(now)
                self.hits[key] = (times, window_seconds)
                self.since_sweep += 1
                if self.since_sweep >= self.SWEEP_EVERY:
                    self.sweep(now)
            return None

    def sweep(self, now: float) -> None:
        """Forget keys whose hits have all aged out (called with the lock held)."""
        self.since_sweep = 0
        for key, (times, window) in list(self.hits.items()):
            if not times or times[-1] <= now - window:
                del self.hits[key]


# KEYS[1]: the sorted set of the key's hits (score: time). ARGV: now, window, limit,
# a unique member, "1" to count the hit. Answers nil (allowed) or the wait as a string
# (Lua numbers come back truncated to integers).
SLIDING_LOG = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[1], -limit, -limit, 'WITHSCORES')
    return tostring(tonumber(oldest[2]) + window - now)
end
if ARGV[5] == '1' then
    redis.call('ZADD', KEYS[1], now, ARGV[4])
    redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
end
return false
"""


class RedisRateLimiter(RateLimiter):
    """Counts in Redis, shared by every process; each check is one atomic Lua script.

    The processes' clocks stand for Redis's, so they should agree (NTP). When Redis cannot
    be reached the hit is allowed and a warning logged: an outage of the limiter must not
    take the API down with it.
    """

    def __init__(self, client: redis.Redis, prefix: str = "tessera:rate:", clock: Clock = time.time) -> None:
        self.client = client
        self.prefix = prefix
        self.clock = clock
        self.script = client.register_script(SLIDING_LOG)

    def check(self, key: str, limit: int, window_seconds: float, *, count: bool) -> float | None:
        check_limit(limit, window_seconds)
        args: list[str | int] = [
            repr(self.clock()),
            repr(float(window_seconds)),
            limit,
            uuid.uuid4().hex,
            "1" if count else "0",
        ]
        try:
            wait = self.script(keys=[self.prefix + key], args=args)
        except redis.RedisError as exc:
            logger.warning("rate limiter: Redis unavailable, %s allowed: %s", key, exc)
            return None
        return None if wait is None else float(wait)

    def close(self) -> None:
        self.client.close()


def check_limit(limit: int, window_seconds: float) -> None:
    if limit < 1 or window_seconds <= 0:
        raise ValueError(
            f"A rate limit needs limit >= 1 and a positive window, not {limit} per {window_seconds} s."
        )


def rate_limiter_from_url(url: str, clock: Clock | None = None) -> RateLimiter:
    """``memory://`` (this process) or ``redis://host:6379/0`` (``rediss://`` for TLS;
    ``?prefix=…`` sets the key prefix, default ``tessera:rate:``)."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryRateLimiter(clock or time.monotonic)
    if scheme in ("redis", "rediss", "unix"):
        query = parse_qs(urlsplit(url).query)
        prefix = query.pop("prefix", ["tessera:rate:"])[0]
        client = redis.Redis.from_url(
            url.split("?", 1)[0] + ("?" + urlencode(query, doseq=True) if query else "")
        )
        return RedisRateLimiter(client, prefix=prefix, clock=clock or time.time)
    raise ValueError(f"Unknown rate limiter URL {url!r}: use memory:// or redis://host:6379/0.")
