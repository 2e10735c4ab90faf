"""/api/issues and /api/comments: review of jobs."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from domain import access, issues as issue_ops, organizations as orgs
from domain.errors import Forbidden, Invalid, NotFound
from server import present
from server.auth import current_user
from server.context import store
from server.present import api_url, basic_user
from server.query import ListSpec, in_workspace, page, select, workspace
from server.schemas.common import list_args, paginated
from server.schemas.issues import (CommentRead, CommentWrite, IssueRead, IssueWrite, PatchedCommentWrite,
                                   PatchedIssueWrite)

blp = Blueprint("issues", __name__, url_prefix="/api", description="Review issues and comments")


def _job(issue):
    return store().peek("jobs", issue["job_id"]) or {}


def _task_of_job(job):
    return store().peek("tasks", job.get("task_id")) or {}


def _issue(doc):
    return {"id": doc["id"], "frame": doc["frame"], "position": doc["position"], "job": doc["job_id"],
            "owner": basic_user(doc["owner_id"]), "assignee": basic_user(doc.get("assignee_id")),
            "created_date": doc["created_date"], "updated_date": doc["updated_date"], "resolved": doc["resolved"],
            "comments": {"count": len(issue_ops.comments_by_issue(store()).get(doc["id"], [])),
                         "url": api_url(f"comments?issue_id={doc['id']}")}}


def _comment(doc):
    return {"id": doc["id"], "issue": doc["issue_id"], "owner": basic_user(doc["owner_id"]),
            "message": doc["message"], "created_date": doc["created_date"], "updated_date": doc["updated_date"]}


def _can_see_issue(user, issue) -> bool:
    job = store().peek("jobs", issue["job_id"])
    return job is not None and access.can_see_job(store(), user, job)


def _visible_issue(user, issue_id) -> dict:
    issue = store().peek("issues", issue_id)
    if issue is None or not _can_see_issue(user, issue):
        raise NotFound()
    return issue


def _may_manage(user, issue) -> bool:
    """The issue's author, the task's owner and organization maintainers may
    delete an issue or change others' comments on it."""
    if user.get("is_superuser") or issue["owner_id"] == user["id"]:
        return True
    task = _task_of_job(_job(issue))
    if task.get("owner_id") == user["id"]:
        return True
    org_id = task.get("organization_id")
    return org_id is not None and orgs.rank(orgs.role_of(store(), user["id"], org_id)) >= orgs.rank("maintainer")


ISSUE_LIST = ListSpec(
    fields={"id": lambda i: i["id"], "owner": lambda i: present.username(i["owner_id"]),
            "assignee": lambda i: present.username(i.get("assignee_id")), "job_id": lambda i: i["job_id"],
            "task_id": lambda i: _job(i).get("task_id"), "frame_id": lambda i: i["frame"],
            "resolved": lambda i: i["resolved"], "updated_date": lambda i: i["updated_date"]},
    simple=("owner", "assignee", "job_id", "task_id", "frame_id", "resolved"),
    search=("owner", "assignee"))


@blp.route("/issues")
class Issues(MethodView):
    @blp.arguments(list_args("IssueListArgs", ISSUE_LIST.simple), location="query")
    @blp.response(200, paginated(IssueRead))
    def get(self, _args):
        user = current_user()
        docs = [i for i in store().scan("issues") if _can_see_issue(user, i)]
        docs = in_workspace(docs, workspace(store(), user), lambda i: _task_of_job(_job(i)).get("organization_id"))
        return page(select(docs, ISSUE_LIST), _issue)

    @blp.arguments(IssueWrite)
    @blp.response(201, IssueRead)
    def post(self, body):
        user = current_user()
        job = store().peek("jobs", body["job"])
        if job is None or not access.can_see_job(store(), user, job):
            raise Invalid({"job": [f'Invalid pk "{body["job"]}" - object does not exist.']})
        return _issue(issue_ops.create_issue(store(), user, body))


@blp.route("/issues/<int:issue_id>")
class IssueItem(MethodView):
    @blp.response(200, IssueRead)
    def get(self, issue_id):
        return _issue(_visible_issue(current_user(), issue_id))

    @blp.arguments(PatchedIssueWrite)
    @blp.response(200, IssueRead)
    def patch(self, body, issue_id):
        _visible_issue(current_user(), issue_id)
        return _issue(issue_ops.update_issue(store(), issue_id, body))

    @blp.response(204)
    def delete(self, issue_id):
        user = current_user()
        issue = _visible_issue(user, issue_id)
        if not _may_manage(user, issue):
            raise Forbidden()
        issue_ops.delete_issues(store(), [issue_id])


COMMENT_LIST = ListSpec(
    fields={"id": lambda c: c["id"], "owner": lambda c: present.username(c["owner_id"]), "issue_id": lambda c: c["issue_id"],
            "job_id": lambda c: (store().peek("issues", c["issue_id"]) or {}).get("job_id"),
            "frame_id": lambda c: (store().peek("issues", c["issue_id"]) or {}).get("frame")},
    simple=("owner", "issue_id", "job_id", "frame_id"), search=("owner",))


def _visible_comment(user, comment_id) -> tuple[dict, dict]:
    comment = store().peek("comments", comment_id)
    if comment is None:
        raise NotFound()
    return comment, _visible_issue(user, comment["issue_id"])


@blp.route("/comments")
class Comments(MethodView):
    @blp.arguments(list_args("CommentListArgs", COMMENT_LIST.simple), location="query")
    @blp.response(200, paginated(CommentRead))
    def get(self, _args):
        user = current_user()
        issues = [i for i in store().scan("issues") if _can_see_issue(user, i)]
        issues = in_workspace(issues, workspace(store(), user), lambda i: _task_of_job(_job(i)).get("organization_id"))
        visible = {i["id"] for i in issues}
        docs = [c for c in store().scan("comments") if c["issue_id"] in visible]
        return page(select(docs, COMMENT_LIST), _comment)

    @blp.arguments(CommentWrite)
    @blp.response(201, CommentRead)
    def post(self, body):
        user = current_user()
        try:
            _visible_issue(user, body["issue"])
        except NotFound:
            raise Invalid({"issue": [f'Invalid pk "{body["issue"]}" - object does not exist.']})
        return _comment(issue_ops.add_comment(store(), user, body["issue"], body["message"]))


@blp.route("/comments/<int:comment_id>")
class CommentItem(MethodView):
    @blp.response(200, CommentRead)
    def get(self, comment_id):
        return _comment(_visible_comment(current_user(), comment_id)[0])

    @blp.arguments(PatchedCommentWrite)
    @blp.response(200, CommentRead)
    def patch(self, body, comment_id):
        user = current_user()
        comment, _ = _visible_comment(user, comment_id)
        if comment["owner_id"] != user["id"] and not user.get("is_superuser"):
            raise Forbidden()
        return _comment(issue_ops.update_comment(store(), comment_id, body["message"]))

    @blp.response(204)
    def delete(self, comment_id):
        user = current_user()
        comment, issue = _visible_comment(user, comment_id)
        if comment["owner_id"] != user["id"] and not _may_manage(user, issue):
            raise Forbidden()
        store().delete("comments", [comment_id])
