"""Organizations, memberships and invitations.

Roles, strongest first: owner > maintainer > supervisor > worker. The creator
of an organization is its owner. An invitation is a membership that is not
active yet plus a random key; accepting activates it, declining removes it.
"""
from __future__ import annotations

import re
import secrets

from domain import clock, projects, tasks
from domain.errors import Forbidden, Invalid, NotFound

ROLES = ("worker", "supervisor", "maintainer", "owner")
_SLUG_RE = re.compile(r"^[a-zA-Z0-9_-]+$")


def rank(role: str | None) -> int:
    return ROLES.index(role) + 1 if role in ROLES else 0


# -- lookups ----------------------------------------------------------------------------
def by_slug(store, slug: str):
    index = store.derived("organizations", "by_slug", lambda docs: {d["slug"]: d for d in docs})
    return index.get(slug)


def _active_roles(store) -> dict[tuple[int, int], str]:
    return store.derived("memberships", "active_roles", lambda docs: {
        (m["organization_id"], m["user_id"]): m["role"] for m in docs if m["is_active"]})


def role_of(store, user_id: int, org_id) -> str | None:
    if org_id is None:
        return None
    return _active_roles(store).get((org_id, user_id))


def orgs_of(store, user_id: int) -> dict[int, str]:
    """{organization id: role} of the user's active memberships."""
    return {org: role for (org, uid), role in _active_roles(store).items() if uid == user_id}


def invitation_by_key(store, key: str):
    index = store.derived("memberships", "by_key", lambda docs: {
        m["invitation_key"]: m for m in docs if m.get("invitation_key")})
    return index.get(key)


def context(store, user: dict, slug: str | None = None, org_id=None):
    """The organization a request acts in (given by slug or id), checked: 404
    if it does not exist, 403 if the user is not an active member."""
    org = by_slug(store, slug) if slug else store.peek("organizations", org_id)
    if org is None:
        raise NotFound("Organization not found.")
    if not user.get("is_superuser") and role_of(store, user["id"], org["id"]) is None:
        raise Forbidden("You are not a member of this organization.")
    return org


# -- organizations --------------------------------------------------------------------------
def _check_slug(store, slug: str, own_id=None) -> None:
    if not _SLUG_RE.match(slug or ""):
        raise Invalid({"slug": ["Enter a valid slug: letters, digits, underscores or hyphens."]})
    other = by_slug(store, slug)
    if other is not None and other["id"] != own_id:
        raise Invalid({"slug": ["organization with this slug already exists."]})


def create_org(store, owner: dict, data: dict) -> dict:
    now = clock.now()
    with store.transaction():
        _check_slug(store, data["slug"])
        org = store.insert("organizations", {
            "slug": data["slug"], "name": data.get("name") or "", "description": data.get("description") or "",
            "contact": data.get("contact") or {}, "owner_id": owner["id"], "created_date": now, "updated_date": now,
        })
        store.insert("memberships", {"user_id": owner["id"], "organization_id": org["id"], "role": "owner",
                                     "is_active": True, "joined_date": now, "invitation_key": None,
                                     "invited_by": None, "created_date": now})
        return org


def update_org(store, org_id: int, data: dict) -> dict:
    with store.transaction():
        if "slug" in data:
            _check_slug(store, data["slug"], org_id)
        change = {k: data[k] for k in ("slug", "name", "description", "contact") if k in data}
        change["updated_date"] = clock.now()
        org = store.update("organizations", org_id, lambda o: o.update(change))
    if org is None:
        raise NotFound()
    return org


def delete_org(store, layout, org_id: int) -> None:
    """Deletes the organization with its projects, tasks, memberships and invitations."""
    with store.transaction():
        if store.peek("organizations", org_id) is None:
            raise NotFound()
        for project in [p for p in store.scan("projects") if p.get("organization_id") == org_id]:
            projects.delete_project(store, layout, project["id"])
        for task in [t for t in store.scan("tasks") if t.get("organization_id") == org_id]:
            tasks.delete_task(store, layout, task["id"])
        store.delete("memberships", [m["id"] for m in store.scan("memberships") if m["organization_id"] == org_id])
        store.delete("organizations", [org_id])


# -- memberships ------------------------------------------------------------------------------
def change_role(store, actor: dict, membership_id: int, role: str) -> dict:
    with store.transaction():
        membership = store.get("memberships", membership_id)
        if membership is None:
            raise NotFound()
        actor_rank = 5 if actor.get("is_superuser") else rank(role_of(store, actor["id"], membership["organization_id"]))
        if actor_rank < rank("maintainer"):
            raise Forbidden()
        if membership["role"] == "owner" or role == "owner":
            raise Forbidden("The owner's role cannot be given or taken this way.")
        if membership["user_id"] == actor["id"] and not actor.get("is_superuser"):
            raise Forbidden("You cannot change your own role.")
        if actor_rank < rank("owner") and rank(membership["role"]) >= actor_rank:
            raise Forbidden()
        membership["role"] = role
        return store.replace("memberships", membership)


def remove_membership(store, actor: dict, membership_id: int) -> None:
    """A member leaves (their own membership) or is removed by a maintainer/owner."""
    with store.transaction():
        membership = store.peek("memberships", membership_id)
        if membership is None:
            raise NotFound()
        if membership["role"] == "owner":
            raise Forbidden("The owner cannot leave or be removed; delete the organization instead.")
        if membership["user_id"] != actor["id"] and not actor.get("is_superuser"):
            actor_rank = rank(role_of(store, actor["id"], membership["organization_id"]))
            if actor_rank < rank("maintainer") or rank(membership["role"]) >= actor_rank and actor_rank < rank("owner"):
                raise Forbidden()
        store.delete("memberships", [membership_id])


# -- invitations ----------------------------------------------------------------------------------
def invite(store, actor: dict, org: dict, email: str, role: str, find_user_by_email) -> dict:
    with store.transaction():
        actor_rank = 5 if actor.get("is_superuser") else rank(role_of(store, actor["id"], org["id"]))
        if actor_rank < rank("maintainer"):
            raise Forbidden()
        if role == "owner" or (actor_rank < rank("owner") and rank(role) >= actor_rank):
            raise Forbidden(f"You cannot invite someone as {role}.")
        user = find_user_by_email(email)
        if user is None:
            raise Invalid({"email": [f"There is no user with the email {email}."]})
        if any(m["user_id"] == user["id"] and m["organization_id"] == org["id"] for m in store.scan("memberships")):
            raise Invalid({"email": ["This user is already a member or invited."]})
        now = clock.now()
        return store.insert("memberships", {
            "user_id": user["id"], "organization_id": org["id"], "role": role, "is_active": False,
            "joined_date": None, "invitation_key": secrets.token_urlsafe(32), "invited_by": actor["id"],
            "created_date": now,
        })


def _own_invitation(store, user: dict, key: str) -> dict:
    membership = invitation_by_key(store, key)
    if membership is None:
        raise NotFound()
    if membership["user_id"] != user["id"] and not user.get("is_superuser"):
        raise Forbidden()
    return membership


def accept(store, user: dict, key: str) -> dict:
    with store.transaction():
        membership = _own_invitation(store, user, key)
        if membership["is_active"]:
            raise Invalid(["This invitation has already been accepted."])
        return store.update("memberships", membership["id"],
                            lambda m: m.update(is_active=True, joined_date=clock.now()))


def decline(store, user: dict, key: str) -> None:
    with store.transaction():
        membership = _own_invitation(store, user, key)
        if membership["is_active"]:
            raise Invalid(["This invitation has already been accepted."])
        store.delete("memberships", [membership["id"]])


def cancel_invitation(store, actor: dict, key: str) -> None:
    with store.transaction():
        membership = invitation_by_key(store, key)
        if membership is None:
            raise NotFound()
        is_invitee = membership["user_id"] == actor["id"]
        if not (actor.get("is_superuser") or is_invitee
                or rank(role_of(store, actor["id"], membership["organization_id"])) >= rank("maintainer")):
            raise Forbidden()
        if membership["is_active"]:
            # An accepted invitation is a membership now: forget the key only.
            store.update("memberships", membership["id"], lambda m: m.update(invitation_key=None))
        else:
            store.delete("memberships", [membership["id"]])
