"""/api/users."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from domain import users
from domain.errors import Forbidden, NotFound
from server import present
from server.auth import current_user
from server.context import store
from server.query import ListSpec, newest_first, page, select
from server.schemas.common import list_args, paginated
from server.schemas.users import PatchedUserRequest, User

blp = Blueprint("users", __name__, url_prefix="/api/users", description="Users")

USER_LIST = ListSpec(
    fields={name: (lambda u, n=name: u.get(n)) for name in ("id", "username", "first_name", "last_name", "is_active")},
    simple=("username", "first_name", "last_name", "is_active"),
    search=("username", "first_name", "last_name"))


UserListQuery = list_args("UserListQuery", USER_LIST.simple)


@blp.route("")
class Users(MethodView):
    @blp.arguments(UserListQuery, location="query")
    @blp.response(200, paginated(User))
    def get(self, _args):
        me = current_user()
        full = bool(me.get("is_superuser"))
        docs = select(newest_first(store().scan("users")), USER_LIST)
        return page(docs, lambda u: present.user(u, full or u["id"] == me["id"]))


@blp.route("/self")
@blp.response(200, User)
def retrieve_self():
    return present.user(current_user(), True)


@blp.route("/<int:user_id>")
class UserItem(MethodView):
    @blp.response(200, User)
    def get(self, user_id):
        me = current_user()
        doc = store().peek("users", user_id)
        if doc is None:
            raise NotFound()
        return present.user(doc, me.get("is_superuser") or me["id"] == user_id)

    @blp.arguments(PatchedUserRequest)
    @blp.response(200, User)
    def patch(self, body, user_id):
        me = current_user()
        if not me.get("is_superuser") and me["id"] != user_id:
            raise Forbidden()
        if store().peek("users", user_id) is None:
            raise NotFound()
        return present.user(users.update_user(store(), user_id, body, by_admin=bool(me.get("is_superuser"))), True)

    @blp.response(204)
    def delete(self, user_id):
        me = current_user()
        if not me.get("is_superuser") and me["id"] != user_id:
            raise Forbidden()
        users.delete_user(store(), user_id)
