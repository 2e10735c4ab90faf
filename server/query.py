"""List queries as CVAT's clients send them: simple equality filters, `search`,
`sort`, the JSON Logic `filter`, and page-number pagination with absolute links.

A resource describes itself with a `ListSpec`: getters from a document to the
value of each filter/sort field (e.g. `owner` → the owner's username).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlencode

from flask import request

from domain import access, organizations
from domain.errors import Forbidden, Invalid, NotFound

RESERVED = {"page", "page_size", "sort", "search", "filter", "org", "org_id"}


@dataclass
class ListSpec:
    fields: dict[str, Callable[[dict], object]]   # filter vars and sort fields
    simple: tuple[str, ...]                        # query-string equality filters
    search: tuple[str, ...]                        # fields searched by `search`
    sortable: tuple[str, ...] = ()
    extra_simple: dict[str, Callable[[dict], object]] = field(default_factory=dict)

    def getter(self, name):
        return self.extra_simple.get(name) or self.fields[name]


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _equal(actual, wanted: str) -> bool:
    if isinstance(actual, bool):
        return wanted.lower() in (("true", "1", "t", "yes", "on") if actual else ("false", "0", "f", "no", "off"))
    return _as_text(actual) == wanted


# -- JSON Logic ---------------------------------------------------------------------
def _compile(rule, spec: ListSpec):
    if not isinstance(rule, dict) or len(rule) != 1:
        raise Invalid({"filter": ["filter: an empty or malformed rule was given"]})
    (op, args), = rule.items()

    def var(node):
        if isinstance(node, dict) and set(node) == {"var"}:
            name = node["var"]
            if not isinstance(name, str) or name not in spec.fields:
                raise Invalid({"filter": [f"filter: '{name}' term is not supported"]})
            return spec.fields[name]
        return None

    def value_of(node):
        getter = var(node)
        return getter if getter is not None else (lambda doc, node=node: node)

    if op == "var":
        getter = var(rule)
        return lambda doc: getter(doc) is not None
    if op in ("and", "or"):
        if not isinstance(args, list) or not args:
            raise Invalid({"filter": [f"filter: '{op}' needs a list of rules"]})
        parts = [_compile(r, spec) for r in args]
        return (lambda doc: all(p(doc) for p in parts)) if op == "and" else (lambda doc: any(p(doc) for p in parts))
    if op in ("!", "!!"):
        inner = args[0] if isinstance(args, list) and len(args) == 1 else args
        pred = _compile(inner, spec)
        return (lambda doc: not pred(doc)) if op == "!" else pred
    if op in ("==", "<", "<=", ">", ">="):
        if not isinstance(args, list) or len(args) not in (2, 3) or (len(args) == 3 and op not in ("<", "<=")):
            raise Invalid({"filter": [f"filter: '{op}' takes two operands"]})
        getters = [value_of(a) for a in args]
        compare = {
            "==": lambda a, b: a == b,
            "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
        }[op]

        def test(doc):
            values = [g(doc) for g in getters]
            if op != "==" and any(v is None for v in values):
                return False
            try:
                return all(compare(a, b) for a, b in zip(values, values[1:]))
            except TypeError:
                return False
        return test
    if op == "in":
        if not isinstance(args, list) or len(args) != 2:
            raise Invalid({"filter": ["filter: 'in' takes two operands"]})
        needle, haystack = args
        getter = var(needle)
        if getter is not None:
            if not isinstance(haystack, list):
                raise Invalid({"filter": ["filter: 'in' needs a list of values"]})
            return lambda doc: getter(doc) in haystack
        getter = var(haystack)
        if getter is None or not isinstance(needle, str):
            raise Invalid({"filter": ["filter: 'in' needs a field and a list, or a text and a field"]})
        return lambda doc: needle.lower() in _as_text(getter(doc)).lower()
    raise Invalid({"filter": [f"filter: '{op}' operation is not supported"]})


def _parse_filter(text: str, spec: ListSpec):
    try:
        rule = json.loads(text)
    except ValueError:
        raise Invalid({"filter": ["filter: Json syntax should be used"]})
    return _compile(rule, spec)


# -- the whole pipeline --------------------------------------------------------------
def select(docs: list[dict], spec: ListSpec, args=None) -> list[dict]:
    """Filter, search and sort `docs` as the query string asks."""
    args = request.args if args is None else args
    predicates = []
    for name in spec.simple:
        if name in args and name not in RESERVED:
            getter, wanted = spec.getter(name), args[name]
            predicates.append(lambda doc, g=getter, w=wanted: _equal(g(doc), w))
    if args.get("filter"):
        predicates.append(_parse_filter(args["filter"], spec))
    terms = [t.lower() for t in re.split(r"[\s,]+", args.get("search", "")) if t]
    if terms:
        getters = [spec.fields[f] for f in spec.search]

        def matches(doc):
            texts = [_as_text(g(doc)).lower() for g in getters]
            return all(any(t in text for text in texts) for t in terms)
        predicates.append(matches)
    if predicates:
        docs = [d for d in docs if all(p(d) for p in predicates)]
    return _sort(docs, spec, args.get("sort"))


def _sort(docs, spec: ListSpec, sort: str | None):
    keys = [k.strip() for k in (sort or "").split(",") if k.strip()]
    keys = [k for k in keys if k.lstrip("-") in (spec.sortable or spec.fields)]
    if not keys:
        return docs
    docs = list(docs)
    for key in reversed(keys):
        getter = spec.fields[key.lstrip("-")]
        docs.sort(key=lambda d, g=getter: (g(d) is None, g(d) if g(d) is not None else 0),
                  reverse=key.startswith("-"))
    return docs


def page(items: list, present: Callable[[object], dict]) -> dict:
    """One page of `items` (already selected and ordered), each passed through
    `present`. Links are absolute and `next` is null on the last page."""
    size_arg = request.args.get("page_size", "")
    if size_arg == "all":
        size = max(len(items), 1)
    else:
        try:
            size = int(size_arg)
        except ValueError:
            size = 10
        if size <= 0:
            size = 10
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        number = 0
    pages = max(1, -(-len(items) // size))
    if number < 1 or number > pages:
        raise NotFound("Invalid page.")
    start = (number - 1) * size
    return {
        "count": len(items),
        "next": _page_url(number + 1) if number < pages else None,
        "previous": _page_url(number - 1) if number > 1 else None,
        "results": [present(item) for item in items[start:start + size]],
    }


def _page_url(number: int) -> str:
    params = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]
    if number > 1:
        params.append(("page", str(number)))
    query = urlencode(params)
    return request.base_url + ("?" + query if query else "")


def newest_first(docs: list[dict]) -> list[dict]:
    """Default ordering of projects, tasks, jobs and users: -id."""
    return docs[::-1]


def _org_parameters():
    """(given, slug, org_id) from `org`, `org_id` or the X-Organization header."""
    if "org" in request.args:
        return True, request.args["org"], None
    if "org_id" in request.args:
        value = request.args["org_id"]
        if value == "":
            return True, "", None
        try:
            return True, None, int(value)
        except ValueError:
            raise Invalid({"org_id": ["A valid integer is required."]})
    if "X-Organization" in request.headers:
        return True, request.headers["X-Organization"], None
    return False, None, None


def workspace(store, user):
    """The workspace a request names: None when it names none (lists: every
    workspace the user can see), PERSONAL for an empty `org`/X-Organization,
    else the organization document (the user must be a member)."""
    given, slug, org_id = _org_parameters()
    if not given:
        return None
    if slug == "" or (slug is None and org_id is None):
        return PERSONAL
    return organizations.context(store, user, slug=slug, org_id=org_id)


PERSONAL = {"id": None, "slug": ""}


def creation_organization(store, user):
    """The organization a create request names (None: personal workspace);
    creating inside one needs supervisor or more (403)."""
    space = workspace(store, user)
    org = space if space and space["id"] is not None else None
    if not access.can_create_in(store, user, org):
        raise Forbidden()
    return org


def in_workspace(docs: list[dict], space, org_of=lambda d: d.get("organization_id")) -> list[dict]:
    if space is None:
        return docs
    return [d for d in docs if org_of(d) == space["id"]]
