"""Rate limits: one contract suite for every limiter, then the limits over HTTP (429 with
Retry-After per API key and per user; login throttled after failed attempts)."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tessera.platform.app import create_app
from tessera.platform.identity import IdentityService
from tessera.platform.rate_limits import (
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    rate_limiter_from_url,
)
from tessera.platform.settings import Settings
from tests.conftest import unavailable

REDIS_URL = os.environ.get("TESSERA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery"


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        unavailable(f"Redis is not reachable at {REDIS_URL}: {exc}")
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"tessera-test:{uuid.uuid4().hex}:"
    yield prefix
    for key in redis_client.scan_iter(match=prefix + "*"):
        redis_client.delete(key)


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest, clock: FakeClock) -> RateLimiter:
    """Each contract test runs on every implementation, with a clock the test moves."""
    if request.param == "memory":
        return MemoryRateLimiter(clock)
    client: redis.Redis = request.getfixturevalue("redis_client")
    return RedisRateLimiter(client, prefix=request.getfixturevalue("redis_prefix"), clock=clock)


def test_allows_the_limit_then_says_how_long_to_wait(limiter: RateLimiter, clock: FakeClock):
    for offset in (0, 10, 20):
        clock.now = 1_000.0 + offset
        assert limiter.hit("key:a", 3, 60) is None
    clock.now = 1_030.0
    assert limiter.hit("key:a", 3, 60) == pytest.approx(30.0)  # until the hit at 1000 ages out
    clock.now = 1_060.0
    assert limiter.hit("key:a", 3, 60) is None  # the window slid past the first hit
    assert limiter.hit("key:a", 3, 60) == pytest.approx(10.0)  # now the hit at 1010 is the oldest


def test_refused_hits_are_not_counted(limiter: RateLimiter, clock: FakeClock):
    assert limiter.hit("key:a", 1, 60) is None
    for _ in range(5):
        clock.now += 10
        assert limiter.hit("key:a", 1, 60) is not None
    clock.now = 1_060.0
    assert limiter.hit("key:a", 1, 60) is None


def test_keys_are_counted_apart(limiter: RateLimiter):
    assert limiter.hit("key:a", 1, 60) is None
    assert limiter.hit("key:a", 1, 60) == pytest.approx(60.0)
    assert limiter.hit("key:b", 1, 60) is None


def test_retry_after_counts_nothing(limiter: RateLimiter, clock: FakeClock):
    for _ in range(5):
        assert limiter.retry_after("login:a", 2, 900) is None
    limiter.hit("login:a", 2, 900)
    clock.now += 100
    limiter.hit("login:a", 2, 900)
    assert limiter.retry_after("login:a", 2, 900) == pytest.approx(800.0)
    assert limiter.retry_after("login:a", 2, 900) == pytest.approx(800.0)


def test_a_limit_needs_at_least_one_hit_and_a_window(limiter: RateLimiter):
    with pytest.raises(ValueError, match="limit >= 1"):
        limiter.hit("key:a", 0, 60)
    with pytest.raises(ValueError, match="positive window"):
        limiter.hit("key:a", 1, 0)


def test_memory_limiter_counts_exactly_across_threads():
    limiter = MemoryRateLimiter()
    allowed: list[bool] = []

    def hammer() -> None:
        for _ in range(100):
            allowed.append(limiter.hit("key:a", 500, 60) is None)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 500


def test_memory_limiter_forgets_keys_whose_hits_aged_out(clock: FakeClock):
    limiter = MemoryRateLimiter(clock)
    limiter.SWEEP_EVERY = 3
    limiter.hit("key:old", 5, 60)
    clock.now += 61
    limiter.hit("key:a", 5, 60)
    limiter.hit("key:b", 5, 60)
    assert set(limiter.hits) == {"key:a", "key:b"}


def test_redis_limiters_share_their_counts(redis_client: redis.Redis, redis_prefix: str, clock: FakeClock):
    one, other = (RedisRateLimiter(redis_client, prefix=redis_prefix, clock=clock) for _ in range(2))
    assert one.hit("key:a", 2, 60) is None
    assert other.hit("key:a", 2, 60) is None
    assert one.hit("key:a", 2, 60) == pytest.approx(60.0)
    assert redis_client.pttl(f"{redis_prefix}key:a") > 0  # Redis forgets idle keys on its own


def test_an_unreachable_redis_allows_and_warns(caplog: pytest.LogCaptureFixture):
    limiter = rate_limiter_from_url("redis://127.0.0.1:1/0")
    try:
        with caplog.at_level(logging.WARNING, logger="tessera.rate_limits"):
            assert limiter.hit("key:a", 1, 60) is None
        assert "Redis unavailable" in caplog.text
    finally:
        limiter.close()


def test_the_url_chooses_the_limiter():
    assert isinstance(rate_limiter_from_url("memory://"), MemoryRateLimiter)
    shared = rate_limiter_from_url("redis://127.0.0.1:6379/0?prefix=crm:")
    try:
        assert isinstance(shared, RedisRateLimiter) and shared.prefix == "crm:"
    finally:
        shared.close()
    with pytest.raises(ValueError, match="memory:// or redis://"):
        rate_limiter_from_url("memcached://127.0.0.1")


# Over HTTP.


@pytest.fixture
def tight_app(engine: Engine, database_url: str, workspace: str) -> Callable[..., TestClient]:
    """Opens clients of an app whose limits are tiny: 3 requests a minute, 3 failed logins."""

    def make(per_minute: str = "3", login_attempts: str = "3") -> TestClient:
        settings = Settings.from_env(
            {
                "TESSERA_DATABASE_URL": database_url,
                "TESSERA_DEFAULT_WORKSPACE": workspace,
                "TESSERA_RATE_LIMIT_PER_MINUTE": per_minute,
                "TESSERA_LOGIN_ATTEMPTS_PER_15_MINUTES": login_attempts,
            }
        )
        return TestClient(create_app(settings, engine), follow_redirects=False)

    return make


@pytest.fixture
def anonymous(tight_app: Callable[..., TestClient]) -> Iterator[TestClient]:
    with tight_app() as client:
        yield client


def code_of(response: Any) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_key_over_its_limit_gets_429_with_retry_after(
    anonymous: TestClient, api_key_factory: Callable[..., str]
):
    busy, quiet = bearer(api_key_factory()), bearer(api_key_factory())
    for _ in range(3):
        assert anonymous.get("/auth/me", headers=busy).status_code == 200
    refused = anonymous.get("/auth/me", headers=busy)
    assert refused.status_code == 429 and code_of(refused) == "RATE_LIMITED"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "try again in" in refused.json()["errors"][0]["message"]
    assert anonymous.get("/auth/me", headers=quiet).status_code == 200


def test_a_signed_in_user_is_limited_per_user(anonymous: TestClient, engine: Engine, workspace: str):
    IdentityService(engine).create_user(workspace, "ada@example.com", PASSWORD, role="member")
    assert (
        anonymous.post("/auth/login", json={"email": "ada@example.com", "password": PASSWORD}).status_code
        == 200
    )
    for _ in range(3):
        assert anonymous.get("/auth/me").status_code == 200
    refused = anonymous.get("/auth/me")
    assert refused.status_code == 429 and code_of(refused) == "RATE_LIMITED"
    assert "user" in refused.json()["errors"][0]["message"] and refused.headers["retry-after"]


def test_failed_logins_throttle_the_email_even_with_the_right_password(
    anonymous: TestClient, engine: Engine, workspace: str
):
    IdentityService(engine).create_user(workspace, "ada@example.com", PASSWORD, role="member")
    for _ in range(3):
        wrong = anonymous.post("/auth/login", json={"email": "ada@example.com", "password": "not it at all"})
        assert wrong.status_code == 401 and code_of(wrong) == "LOGIN_FAILED"
    throttled = anonymous.post("/auth/login", json={"email": "ADA@example.com", "password": PASSWORD})
    assert throttled.status_code == 429 and code_of(throttled) == "LOGIN_THROTTLED"
    assert 1 <= int(throttled.headers["retry-after"]) <= 15 * 60
    assert "set-cookie" not in throttled.headers


def test_failed_logins_throttle_the_client_address(
    tight_app: Callable[..., TestClient], engine: Engine, workspace: str
):
    IdentityService(engine).create_user(workspace, "ada@example.com", PASSWORD, role="member")
    with tight_app(login_attempts="2") as client:
        for email in ("a@example.com", "b@example.com"):
            assert (
                client.post("/auth/login", json={"email": email, "password": "guess guess"}).status_code
                == 401
            )
        # Another email, but the same address (the test client's).
        throttled = client.post("/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
        assert code_of(throttled) == "LOGIN_THROTTLED"


def test_successful_logins_do_not_count(anonymous: TestClient, engine: Engine, workspace: str):
    IdentityService(engine).create_user(workspace, "ada@example.com", PASSWORD, role="member")
    right = {"email": "ada@example.com", "password": PASSWORD}
    for _ in range(2):
        assert anonymous.post("/auth/login", json={**right, "password": "not it at all"}).status_code == 401
    for _ in range(3):
        assert anonymous.post("/auth/login", json=right).status_code == 200


def test_zero_turns_the_limits_off(tight_app: Callable[..., TestClient], api_key_factory: Callable[..., str]):
    key = bearer(api_key_factory())
    with tight_app(per_minute="0", login_attempts="0") as client:
        for _ in range(5):
            assert client.get("/auth/me", headers=key).status_code == 200
            wrong = client.post("/auth/login", json={"email": "a@example.com", "password": "guess guess"})
            assert code_of(wrong) == "LOGIN_FAILED"
