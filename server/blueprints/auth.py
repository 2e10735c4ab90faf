"""/api/auth: login, logout, registration, passwords, personal access tokens."""
from __future__ import annotations

from flask import g, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint

from domain import clock, users
from domain.errors import Forbidden, Invalid, NotFound
from server.auth import current_user
from server.context import services, store
from server.present import basic_user
from server.query import ListSpec, page, select
from server.schemas.common import Detail, PageArgs, paginated
from server.schemas.users import (AccessTokenRead, AccessTokenWrite, LoginRequest, PasswordChangeRequest,
                                  PatchedAccessTokenWrite, RegisterRequest, Registered, Token)

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Authentication")


@blp.route("/login", methods=["POST"])
@blp.arguments(LoginRequest)
@blp.response(200, Token)
def login(body):
    """Password login: returns the token key and sets `sessionid` and `csrftoken`."""
    name = body.get("username") or body.get("email") or ""
    user = users.authenticate_password(store(), name, body["password"])
    if user is None:
        raise Invalid({"non_field_errors": ["Unable to log in with provided credentials."]})
    opened = users.open_session(store(), user, services().settings.session_ttl)
    response = jsonify({"key": opened["key"]})
    ttl = services().settings.session_ttl
    secure = request.scheme == "https"
    response.set_cookie("sessionid", opened["sessionid"], max_age=ttl, httponly=True, samesite="Lax",
                        secure=secure, path="/")
    response.set_cookie("csrftoken", opened["csrftoken"], max_age=365 * 24 * 3600, samesite="Lax",
                        secure=secure, path="/")
    return response


@blp.route("/logout", methods=["POST", "GET"])
@blp.response(200, Detail)
def logout():
    """Ends the session (cookie and the login token) server-side."""
    current_user()
    session_id = g.session["id"] if g.session else None
    if session_id is None:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("token "):
            found = users.session_by_key(store(), header[6:].strip())
            session_id = found["id"] if found else None
    if session_id is not None:
        users.close_session(store(), session_id)
    response = jsonify({"detail": "Successfully logged out."})
    response.delete_cookie("sessionid", path="/", samesite="Lax")
    return response


@blp.route("/register", methods=["POST"])
@blp.arguments(RegisterRequest)
@blp.response(201, Registered)
def register(body):
    if body["password1"] != body["password2"]:
        raise Invalid({"non_field_errors": ["The two password fields didn't match."]})
    user = users.create_user(store(), username=body["username"], password=body["password1"],
                             email=body.get("email", ""), first_name=body.get("first_name", ""),
                             last_name=body.get("last_name", ""), scrypt_n=services().settings.password_scrypt_n)
    return {"username": user["username"], "email": user["email"], "first_name": user["first_name"],
            "last_name": user["last_name"], "email_verification_required": False, "key": None}


@blp.route("/password/change", methods=["POST"])
@blp.arguments(PasswordChangeRequest)
@blp.response(200, Detail)
def password_change(body):
    user = current_user()
    users.change_password(store(), user["id"], body.get("old_password"), body["new_password1"],
                          body["new_password2"], services().settings.password_scrypt_n)
    return {"detail": "New password has been saved."}


# -- personal access tokens ---------------------------------------------------------
TOKEN_LIST = ListSpec(
    fields={"id": lambda t: t["id"], "name": lambda t: t["name"], "read_only": lambda t: t["read_only"],
            "created_date": lambda t: t["created_date"], "expiry_date": lambda t: t["expiry_date"],
            "last_used_date": lambda t: t["last_used_date"]},
    simple=("name", "read_only"), search=("name",))


def _token(doc, value=None):
    out = {k: doc[k] for k in ("id", "name", "created_date", "updated_date", "expiry_date",
                               "last_used_date", "read_only")}
    out["owner"] = basic_user(doc["owner_id"])
    if value is not None:
        out["value"] = value
    return out


def _own_token(token_id):
    doc = store().peek("access_tokens", token_id)
    if doc is None or doc["owner_id"] != current_user()["id"]:
        raise NotFound()
    return doc


@blp.route("/access_tokens")
class AccessTokens(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, paginated(AccessTokenRead))
    def get(self, _args):
        uid = current_user()["id"]
        mine = [t for t in store().scan("access_tokens") if t["owner_id"] == uid]
        return page(select(mine[::-1], TOKEN_LIST), _token)

    @blp.arguments(AccessTokenWrite)
    @blp.response(201, AccessTokenRead)
    def post(self, body):
        if g.access_token is not None:
            raise Forbidden("Access tokens cannot create access tokens.")
        doc, value = users.create_access_token(store(), current_user()["id"], body["name"],
                                               body.get("expiry_date"), body.get("read_only", False))
        return _token(doc, value)


@blp.route("/access_tokens/self")
@blp.response(200, AccessTokenRead)
def access_token_self():
    current_user()
    if g.access_token is None:
        raise NotFound("This request is not authenticated with an access token.")
    return _token(g.access_token)


@blp.route("/access_tokens/<int:token_id>")
class AccessToken(MethodView):
    @blp.response(200, AccessTokenRead)
    def get(self, token_id):
        return _token(_own_token(token_id))

    @blp.arguments(PatchedAccessTokenWrite)
    @blp.response(200, AccessTokenRead)
    def patch(self, body, token_id):
        _own_token(token_id)
        change = {k: body[k] for k in ("name", "expiry_date", "read_only") if k in body}
        change["updated_date"] = clock.now()
        return _token(store().update("access_tokens", token_id, lambda t: t.update(change)))

    @blp.response(204)
    def delete(self, token_id):
        _own_token(token_id)
        store().delete("access_tokens", [token_id])
