"""Authentication for every request: Token, Bearer (personal access token),
Basic and cookie sessions (with Django's CSRF rule for unsafe methods).

Anonymous callers get 401 everywhere except the endpoints in PUBLIC.
"""
from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

from flask import g, request

from domain import users
from domain.errors import Forbidden, Unauthenticated
from server.context import store

PUBLIC = {
    "/api/server/about", "/api/auth/login", "/api/auth/register", "/api/auth/password/reset",
    "/api/auth/password/reset/confirm", "/api/schema", "/api/swagger", "/api/docs",
}
PUBLIC_PREFIXES = ("/api/static/",)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def _is_public(path: str) -> bool:
    return path.rstrip("/") in PUBLIC or path.startswith(PUBLIC_PREFIXES) or not path.startswith("/api")


def _from_header(header: str):
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    if scheme == "token":
        session = users.session_by_key(store(), credentials)
        if session is None:
            raise Unauthenticated("Invalid token.")
        return session["user_id"], None
    if scheme == "bearer":
        token = users.access_token_by_value(store(), credentials)
        if token is None:
            raise Unauthenticated("Invalid token.")
        g.access_token = token
        return token["owner_id"], None
    if scheme == "basic":
        try:
            username, _, password = base64.b64decode(credentials).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("Invalid basic header. Credentials not correctly base64 encoded.")
        user = users.authenticate_password(store(), username, password)
        if user is None:
            raise Unauthenticated("Invalid username/password.")
        return user["id"], None
    return None, None


def _from_cookie():
    sessionid = request.cookies.get("sessionid")
    if not sessionid:
        return None, None
    session = users.session_by_cookie(store(), sessionid)
    if session is None:
        # Django ignores a stale session cookie and treats the caller as anonymous.
        return None, None
    return session["user_id"], session


def _check_csrf(session) -> None:
    if request.method in SAFE_METHODS:
        return
    token = request.headers.get("X-CSRFToken", "")
    if not token or token != session["csrf"] or request.cookies.get("csrftoken") != session["csrf"]:
        raise Forbidden("CSRF Failed: CSRF token missing or incorrect.")
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.host:
        raise Forbidden("CSRF Failed: Origin checking failed - {} does not match any trusted origins.".format(origin))


def authenticate() -> None:
    """before_request hook: sets g.user (or None for public endpoints)."""
    g.user = g.session = g.access_token = None
    header = request.headers.get("Authorization", "")
    user_id, session = _from_header(header) if header else (None, None)
    if user_id is None and not (_is_public(request.path) and request.method not in SAFE_METHODS):
        # Login and registration ignore a stale session cookie: they act for
        # nobody yet, so there is nothing for CSRF to protect.
        user_id, session = _from_cookie()
        if session is not None:
            _check_csrf(session)
    if user_id is not None:
        user = store().peek("users", user_id)
        if user is None or not user.get("is_active", True):
            raise Unauthenticated("User inactive or deleted.")
        g.user, g.session = user, session
        if g.access_token is not None:
            if g.access_token.get("read_only") and request.method not in SAFE_METHODS:
                raise Forbidden("This access token is read-only.")
            users.touch_access_token(store(), g.access_token)
    elif not _is_public(request.path):
        raise Unauthenticated()


def current_user() -> dict:
    if g.get("user") is None:
        raise Unauthenticated()
    return g.user


def require_admin() -> dict:
    user = current_user()
    if not user.get("is_superuser"):
        raise Forbidden()
    return user
