"""Users, password hashes, sessions, tokens.

Secrets are never stored in clear: passwords as scrypt hashes, session ids,
login tokens and personal access tokens as SHA-256 digests. A secret handed to a
client has the form "<document id>.<random part>", so checking it is one
document lookup plus one constant-time comparison, whatever the number of users.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta, timezone

from domain import clock
from domain.errors import Invalid, NotFound

USERNAME_RE = re.compile(r"^[\w.@+-]+$")


# -- passwords ------------------------------------------------------------------
def hash_password(password: str, n: int) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=8, p=1, maxmem=256 * 1024 * 1024)
    return "scrypt${}${}${}".format(n, base64.b64encode(salt).decode(), base64.b64encode(digest).decode())


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, salt, digest = stored.split("$")
        n = int(n)
    except (ValueError, AttributeError):
        return False
    if scheme != "scrypt":
        return False
    actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=n, r=8, p=1,
                            maxmem=256 * 1024 * 1024)
    return hmac.compare_digest(actual, base64.b64decode(digest))


def validate_password(password: str, field="password") -> None:
    if not isinstance(password, str) or len(password) < 8:
        raise Invalid({field: ["This password is too short. It must contain at least 8 characters."]})
    if len(password) > 256:
        raise Invalid({field: ["Ensure this field has no more than 256 characters."]})
    if password.isdigit():
        raise Invalid({field: ["This password is entirely numeric."]})


# -- users ----------------------------------------------------------------------
def find_by_username(store, username: str):
    index = store.derived("users", "by_username", lambda docs: {d["username"].lower(): d for d in docs})
    return index.get((username or "").lower())


def find_by_email(store, email: str):
    if not email:
        return None
    index = store.derived("users", "by_email",
                          lambda docs: {d["email"].lower(): d for d in docs if d.get("email")})
    return index.get(email.lower())


def create_user(store, *, username, password, email="", first_name="", last_name="",
                is_superuser=False, scrypt_n=16384) -> dict:
    if not USERNAME_RE.match(username or "") or len(username) > 150:
        raise Invalid({"username": ["Enter a valid username. This value may contain only letters, "
                                    "numbers, and @/./+/-/_ characters."]})
    validate_password(password, "password1")
    password_hash = hash_password(password, scrypt_n)
    with store.transaction():
        if find_by_username(store, username):
            raise Invalid({"username": ["A user with that username already exists."]})
        if email and find_by_email(store, email):
            raise Invalid({"email": ["A user is already registered with this e-mail address."]})
        return store.insert("users", {
            "username": username,
            "email": email or "",
            "first_name": first_name or "",
            "last_name": last_name or "",
            "password": password_hash,
            "is_superuser": bool(is_superuser),
            "is_staff": bool(is_superuser),
            "is_active": True,
            "date_joined": clock.now(),
            "last_login": None,
        })


def ensure_admin(store, username: str, password: str, scrypt_n: int) -> None:
    """Create the configured superuser if it does not exist yet (idempotent)."""
    if not username or not password:
        return
    with store.transaction():
        if find_by_username(store, username) is None:
            create_user(store, username=username, password=password, is_superuser=True, scrypt_n=scrypt_n)


def groups(user: dict) -> list[str]:
    return ["admin"] if user.get("is_superuser") else ["user"]


def authenticate_password(store, username_or_email: str, password: str):
    user = find_by_username(store, username_or_email) or find_by_email(store, username_or_email)
    if user is None or not user.get("is_active", True):
        # Spend the same time as a real check so usernames cannot be probed by timing.
        check_password(password, _DUMMY_HASH)
        return None
    if not check_password(password, user["password"]):
        return None
    return user


_DUMMY_HASH = hash_password("timing-equaliser", 16384)


def change_password(store, user_id: int, old_password, new1, new2, scrypt_n: int) -> None:
    user = store.get("users", user_id)
    if user is None:
        raise NotFound()
    if old_password is not None and not check_password(old_password, user["password"]):
        raise Invalid({"old_password": ["Your old password was entered incorrectly. Please enter it again."]})
    if new1 != new2:
        raise Invalid({"new_password2": ["The two password fields didn't match."]})
    validate_password(new1, "new_password1")
    hashed = hash_password(new1, scrypt_n)
    store.update("users", user_id, lambda u: u.update(password=hashed))


def update_user(store, user_id: int, fields: dict, *, by_admin: bool) -> dict:
    allowed = {"username", "first_name", "last_name", "email"}
    if by_admin:
        allowed |= {"is_staff", "is_superuser", "is_active"}
    change = {k: v for k, v in fields.items() if k in allowed}
    if "groups" in fields and by_admin:
        change["is_superuser"] = "admin" in fields["groups"]
        change["is_staff"] = change["is_superuser"]
    with store.transaction():
        if "username" in change:
            if not USERNAME_RE.match(change["username"] or ""):
                raise Invalid({"username": ["Enter a valid username."]})
            other = find_by_username(store, change["username"])
            if other and other["id"] != user_id:
                raise Invalid({"username": ["A user with that username already exists."]})
        user = store.update("users", user_id, lambda u: u.update(change))
    if user is None:
        raise NotFound()
    return user


def delete_user(store, user_id: int) -> None:
    with store.transaction():
        if not store.delete("users", [user_id]):
            raise NotFound()
        store.delete("sessions", [s["id"] for s in store.scan("sessions") if s["user_id"] == user_id])
        store.delete("access_tokens", [t["id"] for t in store.scan("access_tokens") if t["owner_id"] == user_id])


# -- secrets of the form "<id>.<random>" ------------------------------------------
def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(secret: str):
    doc_id, sep, rest = (secret or "").partition(".")
    if not sep or not doc_id.isdigit() or not rest:
        return None, None
    return int(doc_id), rest


def _lookup(store, collection, field, secret):
    doc_id, rest = _split(secret)
    if doc_id is None:
        return None
    doc = store.peek(collection, doc_id)
    if doc is None or not hmac.compare_digest(doc[field], _digest(rest)):
        return None
    return doc


def _expired(iso: str | None) -> bool:
    return iso is not None and clock.parse(iso) <= datetime.now(timezone.utc)


# -- login sessions: one document holds the cookie session and the "Token" key ---
def open_session(store, user: dict, ttl: int) -> dict:
    """Returns {"key", "sessionid", "csrftoken", "expires"} for a fresh login."""
    key_part, session_part = secrets.token_urlsafe(22), secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = (datetime.now(timezone.utc) + timedelta(seconds=ttl)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with store.transaction():
        doc = store.insert("sessions", {
            "user_id": user["id"], "key_hash": _digest(key_part), "session_hash": _digest(session_part),
            "csrf": csrf, "created": clock.now(), "expires": expires,
        })
        store.update("users", user["id"], lambda u: u.update(last_login=clock.now()))
    sid = doc["id"]
    return {"key": f"{sid}.{key_part}", "sessionid": f"{sid}.{session_part}", "csrftoken": csrf,
            "expires": expires, "session_id": sid}


def session_by_cookie(store, sessionid: str):
    doc = _lookup(store, "sessions", "session_hash", sessionid)
    return None if doc is None or _expired(doc["expires"]) else doc


def session_by_key(store, key: str):
    doc = _lookup(store, "sessions", "key_hash", key)
    return None if doc is None or _expired(doc["expires"]) else doc


def close_session(store, session_id: int) -> None:
    store.delete("sessions", [session_id])


# -- personal access tokens ------------------------------------------------------------
def create_access_token(store, owner_id: int, name: str, expiry_date, read_only: bool) -> tuple[dict, str]:
    if not name or len(name) > 50:
        raise Invalid({"name": ["Ensure this field has 1 to 50 characters."]})
    if expiry_date is not None and _expired(expiry_date):
        raise Invalid({"expiry_date": ["The expiration date must be in the future."]})
    secret = secrets.token_urlsafe(30)
    now = clock.now()
    doc = store.insert("access_tokens", {
        "owner_id": owner_id, "name": name, "secret_hash": _digest(secret), "created_date": now,
        "updated_date": now, "expiry_date": expiry_date, "last_used_date": None, "read_only": bool(read_only),
    })
    return doc, f"{doc['id']}.{secret}"


def access_token_by_value(store, value: str):
    doc = _lookup(store, "access_tokens", "secret_hash", value)
    return None if doc is None or _expired(doc["expiry_date"]) else doc


def touch_access_token(store, token: dict) -> None:
    """Record use at most once a minute: a write per request would serialise every reader."""
    last = token.get("last_used_date")
    if last and (datetime.now(timezone.utc) - clock.parse(last)).total_seconds() < 60:
        return
    store.update("access_tokens", token["id"], lambda t: t.update(last_used_date=clock.now()))



def purge_expired(store) -> int:
    """Delete expired login sessions and access tokens; returns how many."""
    with store.transaction():
        sessions = [s["id"] for s in store.scan("sessions") if _expired(s["expires"])]
        tokens = [t["id"] for t in store.scan("access_tokens") if _expired(t.get("expiry_date"))]
        return store.delete("sessions", sessions) + store.delete("access_tokens", tokens)
