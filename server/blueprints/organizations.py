"""/api/organizations, /api/memberships, /api/invitations."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from domain import organizations as orgs, users
from domain.errors import Forbidden, NotFound
from server import present
from server.auth import current_user
from server.context import services, store
from server.present import basic_user
from server.query import ListSpec, in_workspace, newest_first, page, select, workspace
from server.schemas.common import list_args, paginated
from server.schemas.organizations import (InvitationRead, InvitationWrite, MembershipRead, OrganizationRead,
                                          OrganizationWrite, PatchedMembershipWrite, PatchedOrganizationWrite)

blp = Blueprint("organizations", __name__, url_prefix="/api", description="Organizations and memberships")


def _org(doc):
    return {"id": doc["id"], "slug": doc["slug"], "name": doc["name"], "description": doc["description"],
            "created_date": doc["created_date"], "updated_date": doc["updated_date"], "contact": doc["contact"],
            "owner": basic_user(doc["owner_id"])}


def _membership(doc):
    return {"id": doc["id"], "user": basic_user(doc["user_id"]), "organization": doc["organization_id"],
            "is_active": doc["is_active"], "joined_date": doc["joined_date"], "role": doc["role"],
            "invitation": doc.get("invitation_key")}


def _invitation(doc):
    org = store().peek("organizations", doc["organization_id"]) or {}
    return {"key": doc["invitation_key"], "role": doc["role"], "user": basic_user(doc["user_id"]),
            "organization": doc["organization_id"],
            "organization_info": {"id": org.get("id"), "slug": org.get("slug"), "name": org.get("name")},
            "owner": basic_user(doc.get("invited_by")), "created_date": doc["created_date"],
            "expired": False, "accepted": doc["is_active"]}


def _rank(user, org_id) -> int:
    return 5 if user.get("is_superuser") else orgs.rank(orgs.role_of(store(), user["id"], org_id))


# -- organizations ------------------------------------------------------------------------
ORG_LIST = ListSpec(
    fields={"id": lambda o: o["id"], "name": lambda o: o["name"], "slug": lambda o: o["slug"],
            "owner": lambda o: present.username(o["owner_id"])},
    simple=("name", "slug", "owner"), search=("name", "slug", "owner"))


def _visible_org(user, org_id) -> dict:
    org = store().peek("organizations", org_id)
    if org is None or _rank(user, org_id) == 0:
        raise NotFound()
    return org


@blp.route("/organizations")
class Organizations(MethodView):
    @blp.arguments(list_args("OrganizationListArgs", ORG_LIST.simple), location="query")
    @blp.response(200, paginated(OrganizationRead))
    def get(self, _args):
        user = current_user()
        mine = orgs.orgs_of(store(), user["id"])
        docs = [o for o in newest_first(store().scan("organizations"))
                if user.get("is_superuser") or o["id"] in mine]
        return page(select(docs, ORG_LIST), _org)

    @blp.arguments(OrganizationWrite)
    @blp.response(201, OrganizationRead)
    def post(self, body):
        return _org(orgs.create_org(store(), current_user(), body))


@blp.route("/organizations/<int:org_id>")
class OrganizationItem(MethodView):
    @blp.response(200, OrganizationRead)
    def get(self, org_id):
        return _org(_visible_org(current_user(), org_id))

    @blp.arguments(PatchedOrganizationWrite)
    @blp.response(200, OrganizationRead)
    def patch(self, body, org_id):
        user = current_user()
        _visible_org(user, org_id)
        if _rank(user, org_id) < orgs.rank("maintainer"):
            raise Forbidden()
        return _org(orgs.update_org(store(), org_id, body))

    @blp.response(204)
    def delete(self, org_id):
        user = current_user()
        _visible_org(user, org_id)
        if _rank(user, org_id) < orgs.rank("owner"):
            raise Forbidden()
        orgs.delete_org(store(), services().layout, org_id)


# -- memberships ---------------------------------------------------------------------------
MEMBERSHIP_LIST = ListSpec(
    fields={"id": lambda m: m["id"], "user": lambda m: present.username(m["user_id"]), "role": lambda m: m["role"],
            "is_active": lambda m: m["is_active"]},
    simple=("user", "role"), search=("user", "role"))


def _visible_memberships(user) -> list[dict]:
    """Active members see their organizations' members; maintainers and owners
    also see pending invitations; everyone sees their own."""
    mine = orgs.orgs_of(store(), user["id"])
    out = []
    for m in store().scan("memberships"):
        rank = 5 if user.get("is_superuser") else orgs.rank(mine.get(m["organization_id"]))
        if m["user_id"] == user["id"] or (m["is_active"] and rank > 0) or rank >= orgs.rank("maintainer"):
            out.append(m)
    return out


def _visible_membership(user, membership_id) -> dict:
    doc = store().peek("memberships", membership_id)
    if doc is None or all(m["id"] != membership_id for m in _visible_memberships(user)):
        raise NotFound()
    return doc


@blp.route("/memberships")
@blp.arguments(list_args("MembershipListArgs", MEMBERSHIP_LIST.simple), location="query")
@blp.response(200, paginated(MembershipRead))
def memberships(_args):
    user = current_user()
    docs = in_workspace(_visible_memberships(user), workspace(store(), user), lambda m: m["organization_id"])
    return page(select(newest_first(docs), MEMBERSHIP_LIST), _membership)


@blp.route("/memberships/<int:membership_id>")
class MembershipItem(MethodView):
    @blp.response(200, MembershipRead)
    def get(self, membership_id):
        return _membership(_visible_membership(current_user(), membership_id))

    @blp.arguments(PatchedMembershipWrite)
    @blp.response(200, MembershipRead)
    def patch(self, body, membership_id):
        user = current_user()
        _visible_membership(user, membership_id)
        return _membership(orgs.change_role(store(), user, membership_id, body["role"]))

    @blp.response(204)
    def delete(self, membership_id):
        user = current_user()
        _visible_membership(user, membership_id)
        orgs.remove_membership(store(), user, membership_id)


# -- invitations ------------------------------------------------------------------------------
INVITATION_LIST = ListSpec(
    fields={"owner": lambda m: present.username(m.get("invited_by")), "user_id": lambda m: m["user_id"],
            "accepted": lambda m: m["is_active"], "created_date": lambda m: m["created_date"]},
    simple=("owner", "user_id", "accepted"), search=("owner",))


def _visible_invitations(user) -> list[dict]:
    mine = orgs.orgs_of(store(), user["id"])
    return [m for m in store().scan("memberships") if m.get("invitation_key") and (
        user.get("is_superuser") or m["user_id"] == user["id"] or m.get("invited_by") == user["id"]
        or orgs.rank(mine.get(m["organization_id"])) >= orgs.rank("maintainer"))]


def _visible_invitation(user, key) -> dict:
    doc = orgs.invitation_by_key(store(), key)
    if doc is None or all(m["id"] != doc["id"] for m in _visible_invitations(user)):
        raise NotFound()
    return doc


@blp.route("/invitations")
class Invitations(MethodView):
    @blp.arguments(list_args("InvitationListArgs", INVITATION_LIST.simple), location="query")
    @blp.response(200, paginated(InvitationRead))
    def get(self, _args):
        user = current_user()
        docs = in_workspace(_visible_invitations(user), workspace(store(), user), lambda m: m["organization_id"])
        return page(select(newest_first(docs), INVITATION_LIST), _invitation)

    @blp.arguments(InvitationWrite)
    @blp.response(201, InvitationRead)
    def post(self, body):
        user = current_user()
        space = workspace(store(), user)
        if space is None or space["id"] is None:
            raise Forbidden("Invitations are sent from inside an organization (org or X-Organization).")
        doc = orgs.invite(store(), user, space, body["email"], body["role"],
                          lambda email: users.find_by_email(store(), email))
        return _invitation(doc)


@blp.route("/invitations/<string:key>")
class InvitationItem(MethodView):
    @blp.response(200, InvitationRead)
    def get(self, key):
        return _invitation(_visible_invitation(current_user(), key))

    @blp.response(204)
    def delete(self, key):
        user = current_user()
        _visible_invitation(user, key)
        orgs.cancel_invitation(store(), user, key)


@blp.route("/invitations/<string:key>/accept", methods=["POST"])
@blp.response(200, MembershipRead)
def accept(key):
    return _membership(orgs.accept(store(), current_user(), key))


@blp.route("/invitations/<string:key>/decline", methods=["POST"])
@blp.response(204)
def decline(key):
    orgs.decline(store(), current_user(), key)


@blp.route("/invitations/<string:key>/resend", methods=["POST"])
@blp.response(204)
def resend(key):
    """No mail server here: the invitation stays valid and visible to its user."""
    user = current_user()
    doc = _visible_invitation(user, key)
    if _rank(user, doc["organization_id"]) < orgs.rank("maintainer"):
        raise Forbidden()
