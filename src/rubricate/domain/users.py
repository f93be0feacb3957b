"""People who use the web UI and the API, and what their role lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rubricate.domain.errors import Forbidden


class Role(StrEnum):
    REVIEWER = "reviewer"  # reads everything, annotates rows, starts and reviews runs
    ADMIN = "admin"  # also resolves rows, applies policies, accepts and rejects runs


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def require_admin(self, action: str) -> None:
        """Refuse ``action`` (e.g. "resolve a row") unless this user is an admin."""
        if not self.is_admin:
            raise Forbidden(f"only an admin can {action}; {self.name} is a {self.role.value}")


LOCAL = User("local", Role.ADMIN)  # the one user of a single-user server on localhost
