"""Domain errors: what went wrong in the user's terms, with no HTTP knowledge (the web edge maps them)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a use case raises on purpose; `detail` is shown to the person."""

    title = "Request refused"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotAuthenticated(DomainError):
    title = "Not logged in"


class PermissionDenied(DomainError):
    title = "Not allowed"


class NotFound(DomainError):
    title = "Not found"

    def __init__(self, entity: str, key: object) -> None:
        super().__init__(f"{entity} {key} does not exist or is not visible to you", entity=entity, key=str(key))


class Conflict(DomainError):
    """The request contradicts what is already stored (duplicate, overlap, wrong state)."""

    title = "Conflict with stored records"


class RuleViolation(DomainError):
    """Well-formed input that a business rule forbids (no quorum, term ends before it starts, ...)."""

    title = "Business rule violated"


class InvalidInput(DomainError):
    title = "Invalid input"


class TooLarge(DomainError):
    title = "Too large"


class Unavailable(DomainError):
    """Something this installation lacks (a font, a service) keeps the request from being answered now."""

    title = "Unavailable"
