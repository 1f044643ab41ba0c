"""Sign-in limits are moving windows: a window boundary never lets twice the limit through (memory and Redis)."""

import time
import uuid

import pytest

from gateway.config import GatewaySettings
from gateway.ratelimit import MemoryStore, RateLimiter
from guanjia.config import Settings


def _limiter(mode: str, limit: int, window: int) -> RateLimiter:
    settings = Settings(
        service="gateway",
        database_url="sqlite://",
        embedded=mode == "memory",
        queue_prefix=f"t{uuid.uuid4().hex[:8]}.",
    )
    gateway = GatewaySettings(rate_limits={"login": (limit, window)})
    if mode == "redis":
        limiter = RateLimiter(settings, gateway)
        try:
            limiter.ping()
        except Exception:
            pytest.skip("no Redis on 127.0.0.1:6379")
        return limiter
    return RateLimiter(settings, gateway, MemoryStore())


@pytest.mark.parametrize("mode", ["memory", "redis"])
def test_a_window_boundary_does_not_let_twice_the_limit_through(mode):
    limiter = _limiter(mode, 3, 2)
    # Start late in a 2-second fixed window, so a fixed-window counter would reset 0.2-0.4 s later.
    while not 1.6 <= time.time() % 2 <= 1.8:
        time.sleep(0.02)
    first = [limiter.hit("login", "203.0.113.9") for _ in range(3)]
    assert first == [None, None, None]
    time.sleep(0.5)  # the fixed window has turned over; the moving window has not
    assert limiter.hit("login", "203.0.113.9") is not None
    assert limiter.hit("login", "198.51.100.1") is None  # another address has its own window


@pytest.mark.parametrize("mode", ["memory", "redis"])
def test_the_window_frees_as_the_oldest_attempt_ages_out(mode):
    limiter = _limiter(mode, 2, 1)
    assert limiter.hit("login", "k") is None
    assert limiter.hit("login", "k") is None
    retry_after = limiter.hit("login", "k")
    assert retry_after == 1
    time.sleep(1.05)
    assert limiter.hit("login", "k") is None


def test_large_exact_limits_use_a_sliding_window_counter_in_constant_memory():
    limiter = _limiter("memory", 5000, 60)
    admitted = sum(limiter.hit("login", "busy") is None for _ in range(5100))
    assert 4990 <= admitted <= 5000
