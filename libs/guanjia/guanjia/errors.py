"""Domain-level problems that the web layer turns into RFC 9457 problem+json responses."""

from __future__ import annotations


class ProblemError(Exception):
    """An error a client can act on: status, a short title, and an `errors` map naming the fields."""

    status = 400
    title = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: dict | None = None,
        title: str | None = None,
        status: int | None = None,
        extra: dict | None = None,
    ):
        super().__init__(detail or title or self.title)
        self.detail = detail
        self.errors = errors or {}
        self.extra = extra or {}
        if title:
            self.title = title
        if status:
            self.status = status


class Invalid(ProblemError):
    status = 422
    title = "Invalid input"

    def __init__(self, field: str, message: str, **kwargs):
        super().__init__(f"{field}: {message}", errors={field: [message]}, **kwargs)


class NotFound(ProblemError):
    status = 404
    title = "Not found"


class Forbidden(ProblemError):
    status = 403
    title = "Forbidden"


class Conflict(ProblemError):
    status = 409
    title = "Conflict"


class Unauthorized(ProblemError):
    status = 401
    title = "Unauthorized"


class UpstreamUnavailable(ProblemError):
    status = 503
    title = "Service unavailable"


class TooManyRequests(ProblemError):
    """A rate limit was reached: 429 with `retry_after` seconds (the web layer also sends it as Retry-After)."""

    status = 429
    title = "Too Many Requests"

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail, extra={"retry_after": retry_after})
        self.retry_after = retry_after
