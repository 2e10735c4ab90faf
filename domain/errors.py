"""Domain errors; the HTTP layer maps each to CVAT's status code and body shape."""
from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, detail):
        super().__init__(detail)
        self.detail = detail


class Invalid(DomainError):
    """Bad input. `detail` is a field dict ({"name": ["msg"]}) or a message."""
    status = 400


class NotFound(DomainError):
    status = 404

    def __init__(self, detail="Not found."):
        super().__init__(detail)


class Forbidden(DomainError):
    status = 403

    def __init__(self, detail="You do not have permission to perform this action."):
        super().__init__(detail)


class Conflict(DomainError):
    status = 409


class Unauthenticated(DomainError):
    status = 401

    def __init__(self, detail="Authentication credentials were not provided."):
        super().__init__(detail)
