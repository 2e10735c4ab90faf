"""Authentication schemes, CSRF, logout, registration, passwords, tokens."""
from __future__ import annotations

from http.cookies import SimpleCookie

from tests.conftest import ADMIN, basic


def test_anonymous_gets_401_except_public_endpoints(app):
    c = app.test_client()
    for path in ("/api/projects", "/api/tasks", "/api/jobs", "/api/labels", "/api/users", "/api/users/self",
                 "/api/server/annotation/formats", "/api/server/share", "/api/projects/1", "/api/tasks/1/"):
        r = c.get(path)
        assert r.status_code == 401, path
        assert r.json == {"detail": "Authentication credentials were not provided."}
    assert c.post("/api/projects", json={"name": "x"}).status_code == 401
    for path in ("/api/server/about", "/api/schema/", "/api/swagger/", "/api/docs/"):
        assert c.get(path).status_code == 200, path


def test_login_sets_cookies_the_sdk_can_parse(app):
    c = app.test_client()
    r = c.post("/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
    assert r.status_code == 200
    assert 0 < len(r.json["key"]) <= 40
    # urllib3 joins Set-Cookie headers with ", " and the SDK feeds that to SimpleCookie.
    jar = SimpleCookie()
    jar.load(", ".join(r.headers.getlist("Set-Cookie")))
    assert {"sessionid", "csrftoken"} <= set(jar)
    assert jar["sessionid"]["httponly"] and jar["sessionid"]["samesite"].startswith("Lax")


def test_login_by_email_and_bad_credentials(app, make_user):
    make_user("alice1")
    c = app.test_client()
    assert c.post("/api/auth/login", json={"email": "alice1@example.com", "password": "Passw0rd-long"}).status_code == 200
    r = c.post("/api/auth/login", json={"username": "alice1", "password": "wrong"})
    assert r.status_code == 400
    assert r.json == {"non_field_errors": ["Unable to log in with provided credentials."]}
    assert c.post("/api/auth/login", json={"username": "alice1"}).json == {"password": ["Missing data for required field."]}


def test_token_basic_and_invalid_credentials(app):
    c = app.test_client()
    key = c.post("/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}).json["key"]
    c.delete_cookie("sessionid")
    assert c.get("/api/users/self", headers={"Authorization": f"Token {key}"}).json["username"] == ADMIN[0]
    assert c.get("/api/users/self", headers={"Authorization": basic(*ADMIN)}).status_code == 200
    assert c.get("/api/users/self", headers={"Authorization": basic(ADMIN[0], "nope")}).status_code == 401
    r = c.get("/api/users/self", headers={"Authorization": "Token 1.forged"})
    assert r.status_code == 401 and r.json == {"detail": "Invalid token."}
    assert c.get("/api/users/self", headers={"Authorization": "Bearer 9.nothing"}).status_code == 401


def test_session_cookie_needs_csrf_for_unsafe_methods(app):
    c = app.test_client()
    c.post("/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
    csrf = c.get_cookie("csrftoken").value
    assert c.get("/api/users/self").status_code == 200
    r = c.post("/api/projects", json={"name": "p"})
    assert r.status_code == 403 and "CSRF" in r.json["detail"]
    assert c.post("/api/projects", json={"name": "p"}, headers={"X-CSRFToken": "wrong"}).status_code == 403
    assert c.post("/api/projects", json={"name": "p"},
                  headers={"X-CSRFToken": csrf, "Origin": "http://evil.example"}).status_code == 403
    ok = c.post("/api/projects", json={"name": "p"}, headers={"X-CSRFToken": csrf, "Origin": "http://localhost"})
    assert ok.status_code == 201


def test_logout_kills_session_and_token(app):
    c = app.test_client()
    key = c.post("/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}).json["key"]
    sessionid = c.get_cookie("sessionid").value
    csrf = c.get_cookie("csrftoken").value
    r = c.post("/api/auth/logout", headers={"X-CSRFToken": csrf}, content_type="application/json")
    assert r.status_code == 200 and r.json == {"detail": "Successfully logged out."}
    other = app.test_client()
    other.set_cookie("sessionid", sessionid)
    assert other.get("/api/users/self").status_code == 401
    assert other.get("/api/users/self", headers={"Authorization": f"Token {key}"}).status_code == 401


def test_register_validation_and_duplicates(app, make_user):
    c = app.test_client()
    bad = c.post("/api/auth/register", json={"username": "bo", "password1": "x", "password2": "y"})
    assert bad.status_code == 400 and {"username", "password1", "password2"} <= set(bad.json)
    make_user("carol")
    dup = c.post("/api/auth/register", json={"username": "carol", "password1": "Passw0rd-long",
                                             "password2": "Passw0rd-long"})
    assert dup.status_code == 400 and "username" in dup.json
    mismatch = c.post("/api/auth/register", json={"username": "david", "password1": "Passw0rd-long",
                                                  "password2": "Passw0rd-other"})
    assert mismatch.status_code == 400
    assert c.post("/api/auth/login", json={"username": "david", "password": "Passw0rd-long"}).status_code == 400


def test_password_change(app, make_user):
    dan = make_user("danny")
    r = dan.post("/api/auth/password/change", json={"old_password": "wrong", "new_password1": "N3w-password",
                                                    "new_password2": "N3w-password"})
    assert r.status_code == 400 and "old_password" in r.json
    r = dan.post("/api/auth/password/change", json={"old_password": "Passw0rd-long", "new_password1": "N3w-password",
                                                    "new_password2": "N3w-password"})
    assert r.status_code == 200
    c = app.test_client()
    assert c.post("/api/auth/login", json={"username": "danny", "password": "Passw0rd-long"}).status_code == 400
    assert c.post("/api/auth/login", json={"username": "danny", "password": "N3w-password"}).status_code == 200


def test_passwords_never_returned(client, make_user):
    make_user("erin1")
    for path in ("/api/users", "/api/users/self"):
        assert "password" not in client.get(path).get_data(as_text=True)


def test_access_tokens(app, client):
    r = client.post("/api/auth/access_tokens", json={"name": "ro", "read_only": True})
    assert r.status_code == 201
    value, token_id = r.json["value"], r.json["id"]
    c = app.test_client()
    bearer = {"Authorization": f"Bearer {value}"}
    assert c.get("/api/auth/access_tokens/self", headers=bearer).json["name"] == "ro"
    assert c.get("/api/projects", headers=bearer).status_code == 200
    assert c.post("/api/projects", json={"name": "p"}, headers=bearer).status_code == 403
    assert "value" not in client.get(f"/api/auth/access_tokens/{token_id}").json
    assert client.get("/api/auth/access_tokens/self").status_code == 404
    assert client.delete(f"/api/auth/access_tokens/{token_id}").status_code == 204
    assert c.get("/api/projects", headers=bearer).status_code == 401
    expired = client.post("/api/auth/access_tokens", json={"name": "old", "expiry_date": "2000-01-01T00:00:00Z"})
    assert expired.status_code == 400 and "expiry_date" in expired.json


def test_users_endpoints(client, make_user):
    frank = make_user("frank")
    me = frank.get("/api/users/self").json
    assert me["groups"] == ["user"] and me["is_superuser"] is False
    listed = frank.get("/api/users?username=admin").json
    assert listed["count"] == 1 and "email" not in listed["results"][0]
    assert frank.patch(f"/api/users/{me['id']}", json={"first_name": "Frank"}).json["first_name"] == "Frank"
    admin_id = client.get("/api/users/self").json["id"]
    assert frank.patch(f"/api/users/{admin_id}", json={"first_name": "x"}).status_code == 403
    assert frank.patch(f"/api/users/{me['id']}", json={"is_superuser": True}).json["is_superuser"] is False
    assert client.get("/api/users?search=fra").json["count"] == 1
    assert client.delete(f"/api/users/{me['id']}").status_code == 204
    assert frank.get("/api/users/self").status_code == 401
