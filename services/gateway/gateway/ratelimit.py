"""Rate limits of the gateway: in Redis shared by every gateway worker (distributed), in-process when embedded.

Sign-in and SMS-code limits are *moving windows* (the `limits` library; sliding-window counters above
MOVING_WINDOW_MAX): no window boundary lets twice the limit through. The per-principal API limits in distributed
mode are counted in batches per worker (a fixed window, see BATCH_DIVISOR) to spare Redis a round trip per request.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from guanjia.errors import TooManyRequests

log = logging.getLogger("gateway.ratelimit")

# Up to this many requests a window is counted exactly, one entry per request (moving window); above it a
# sliding-window counter (two counters per key, weighted) keeps memory and Redis work constant.
MOVING_WINDOW_MAX = 1000
# name → (requests, window seconds). Overridden with GUANJIA_RATE_LIMITS="login=20/60,api=600/60".
DEFAULT_LIMITS = {
    "login": (20, 60),  # password sign-ins per IP
    "code_ip": (20, 3600),  # SMS codes requested per IP
    "code_phone": (5, 3600),  # SMS codes requested per phone
    "code_verify": (10, 600),  # code sign-in attempts per IP
    "api": (600, 60),  # API requests per principal (user or service)
    "api_key": (300, 60),  # API requests per integrator key
}


class MemoryStore:
    def __init__(self):
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    batched = False

    def incr(self, key: str, ttl: int, amount: int = 1) -> int:
        now = time.monotonic()
        with self._lock:
            if len(self._counts) > 100_000:
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            count, expires = self._counts.get(key, (0, now + ttl))
            if expires <= now:
                count, expires = 0, now + ttl
            self._counts[key] = (count + amount, expires)
            return count + amount


class RedisStore:
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    # Shared between gateway workers: a busy principal's requests are counted locally and sent in batches.
    batched = True

    def incr(self, key: str, ttl: int, amount: int = 1) -> int:
        pipe = self.client.pipeline(transaction=False)
        pipe.incrby(key, amount)
        pipe.expire(key, ttl)
        return int(pipe.execute()[0])

    def ping(self) -> None:
        self.client.ping()


# Large limits are counted in batches of limit/BATCH_DIVISOR (a Redis round trip every few requests of a principal
# instead of every one); each worker may then admit up to one batch more than the limit. Small limits (sign-in,
# codes) are exact.
BATCH_DIVISOR = 50
# Only the per-principal API limits are batched; sign-in and SMS limits are always exact moving windows.
BATCHED = frozenset(["api", "api_key"])


class RateLimiter:
    """hit(name, key) → None when allowed, else the seconds until a request would be allowed (for Retry-After)."""

    def __init__(self, settings, gateway, store=None):
        """`settings`: the shared Settings (city, queue prefix, embedded); `gateway`: GatewaySettings (limits, Redis)."""
        self.limits = {**DEFAULT_LIMITS, **(gateway.rate_limits or {})}
        # Keys carry the queue prefix, so test sessions (and cities sharing one Redis) never count together.
        self.prefix = f"{settings.queue_prefix}{settings.city}:rl:"
        self.store = store or (MemoryStore() if settings.embedded else RedisStore(gateway.redis_url))
        self._local: dict[str, list] = {}  # key → [slot, pending, last known shared count]
        self._lock = threading.Lock()
        self._windows = _window_strategies(self.store, gateway.redis_url)
        self._items: dict[tuple[int, int], object] = {}

    def check(self, name: str, key: str, detail: str = "too many requests; slow down") -> None:
        """Count a request against `name`'s limit for `key`; over it, the one 429 problem (TooManyRequests, whose
        `retry_after` every answer also carries as Retry-After)."""
        retry_after = self.hit(name, key)
        if retry_after is not None:
            raise TooManyRequests(detail, retry_after)

    def hit(self, name: str, key: str) -> int | None:
        limit, window = self.limits[name]
        batch = max(1, limit // BATCH_DIVISOR) if self.store.batched and name in BATCHED else 1
        if batch == 1:
            return self._hit_window(name, key, limit, window)
        now = time.time()
        slot = int(now // window)
        full_key = f"{self.prefix}{name}:{key}:{slot}"
        try:
            count = self._count(full_key, slot, batch, window + 1)
        except Exception as exc:
            # The store being down must not take sign-in or the API down with it; lockouts still hold.
            log.warning("rate-limit store unavailable; request allowed", extra={"error": exc.__class__.__name__})
            return None
        if count <= limit:
            return None
        return max(1, math.ceil((slot + 1) * window - now))

    def _hit_window(self, name: str, key: str, limit: int, window: int) -> int | None:
        from limits import RateLimitItemPerSecond

        item = self._items.get((limit, window))
        if item is None:
            item = self._items[(limit, window)] = RateLimitItemPerSecond(limit, window)
        strategy = self._windows[0] if limit <= MOVING_WINDOW_MAX else self._windows[1]
        try:
            if strategy.hit(item, self.prefix, name, key):
                return None
            reset_at = strategy.get_window_stats(item, self.prefix, name, key).reset_time
        except Exception as exc:
            log.warning("rate-limit store unavailable; request allowed", extra={"error": exc.__class__.__name__})
            return None
        return max(1, math.ceil(reset_at - time.time()))

    def _count(self, key: str, slot: int, batch: int, ttl: int) -> int:
        if batch == 1:
            return self.store.incr(key, ttl)
        with self._lock:
            if len(self._local) > 100_000:
                self._local = {k: v for k, v in self._local.items() if v[0] == slot}
            state = self._local.setdefault(key, [slot, 0, 0])
            state[1] += 1
            estimate = state[2] + state[1]
            flush = state[1] if state[1] >= batch else 0
            if flush:
                state[1] = 0
        if flush:
            try:
                state[2] = self.store.incr(key, ttl, flush)
            except Exception:
                with self._lock:
                    state[1] += flush  # counted again at the next flush
                raise
            estimate = max(estimate, state[2])
        return estimate

    def ping(self) -> None:
        if hasattr(self.store, "ping"):
            self.store.ping()


def _window_strategies(store, redis_url: str):
    """(moving window, sliding-window counter) over the same storage as `store`: in-process or Redis."""
    from limits.storage import MemoryStorage, RedisStorage
    from limits.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

    if isinstance(store, RedisStore):
        # The same connection pool (and its short timeouts) as the batched counters.
        storage = RedisStorage(redis_url, connection_pool=store.client.connection_pool, key_prefix="guanjia")
    else:
        storage = MemoryStorage()
    return MovingWindowRateLimiter(storage), SlidingWindowCounterRateLimiter(storage)
