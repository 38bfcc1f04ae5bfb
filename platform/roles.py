"""Roles: what a user or an API key may do in its workspace.

Three built-in roles, until custom roles arrive with the rest of the security issue:

- ``admin`` — everything: records, the data model, workflows, users and API keys;
- ``member`` — reads and writes records, reads the data model and workflow runs;
- ``viewer`` — reads records and the data model, changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from tessera.platform.errors import TesseraError


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    write_records: bool
    #: manage the data model, workflows, users and API keys
    administer: bool


ROLES = {
    role.name: role
    for role in (
        Role("admin", "everything, including the data model, workflows, users and API keys", True, True),
        Role("member", "reads and writes records; reads the data model and workflow runs", True, False),
        Role("viewer", "reads records and the data model; changes nothing", False, False),
    )
}


def role_named(name: str, path: tuple[str, ...] = ("role",)) -> Role:
    role = ROLES.get(name)
    if role is None:
        raise TesseraError.single(
            "UNKNOWN_ROLE", f"There is no role '{name}'; the roles are {', '.join(ROLES)}.", path
        )
    return role
