"""The service's refusals: an HTTP status, a stable code, a message and, for a document, its
diagnostics. Both adapters render them (JSON for the API, a page for the portal); nothing else
escapes as a 500 with a traceback."""

from __future__ import annotations

from govcloud.diagnostics import Diagnostic


class ServiceError(Exception):
    def __init__(self, status: int, code: str, message: str, diagnostics: list[Diagnostic] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.diagnostics = diagnostics or []
        self.headers = headers or {}

    def as_dict(self) -> dict:
        out: dict = {"error": self.code, "message": self.message}
        if self.diagnostics:
            out["diagnostics"] = [d.as_dict() for d in self.diagnostics]
        return out


def unauthenticated(message: str = "sign in: Authorization: Bearer TOKEN") -> ServiceError:
    return ServiceError(401, "unauthenticated", message, headers={"WWW-Authenticate": 'Bearer realm="govcloud"'})


def forbidden(message: str) -> ServiceError:
    return ServiceError(403, "forbidden", message)


def not_found(what: str) -> ServiceError:
    return ServiceError(404, "not_found", f"no {what}")


def conflict(message: str) -> ServiceError:
    return ServiceError(409, "conflict", message)


class Stale(ServiceError):
    """A decision about content that is no longer the submission's: the approver saw another
    revision (or the submission was withdrawn, applied or rejected meanwhile). Nothing was signed
    or written; ``current`` says what the submission is now, so the approver can review it again
    (the API returns it in the problem body, the portal shows the current content)."""

    def __init__(self, message: str, current: dict, submission=None):
        super().__init__(409, "stale", message)
        self.current = current
        self.submission = submission

    def as_dict(self) -> dict:
        return {**super().as_dict(), "current": self.current}
