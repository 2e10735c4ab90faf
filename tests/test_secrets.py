"""Secrets stay secret: passwords and tokens never reach the logs or the
store in clear, cookies are HttpOnly/SameSite, logout revokes the token."""
from __future__ import annotations

import requests

from tests.stack import ADMIN


def test_no_secret_in_logs_or_store(stack):
    password = "Sekrit-Passw0rd-xyz"
    s = requests.Session()
    s.post(stack.url + "/api/auth/register", json={"username": "secretive", "password1": password,
                                                   "password2": password})
    r = s.post(stack.url + "/api/auth/login", json={"username": "secretive", "password": password})
    key = r.json()["key"]
    s.post(stack.url + "/api/auth/login", json={"username": "secretive", "password": "wrong-" + password})
    token = s.post(stack.url + "/api/auth/access_tokens", json={"name": "t"},
                   headers={"X-CSRFToken": s.cookies["csrftoken"], "Origin": stack.url}).json()["value"]
    assert "sessionid" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    assert "SameSite=Lax" in r.headers["Set-Cookie"]
    secrets = [password, ADMIN[1], key.split(".", 1)[1], token.split(".", 1)[1],
               s.cookies["sessionid"].split(".", 1)[1]]
    for name in ("web", "worker"):
        log = stack.log(name)
        for secret in secrets:
            assert secret not in log, f"a secret reached the {name} log"
    for path in stack.storage.rglob("*"):
        if path.is_file() and path.stat().st_size < 10_000_000:
            body = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in body, f"{path} holds a secret in clear"


def test_logout_revokes_token(stack):
    s = requests.Session()
    key = s.post(stack.url + "/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}).json()["key"]
    token = {"Authorization": f"Token {key}"}
    assert requests.get(stack.url + "/api/users/self", headers=token).status_code == 200
    assert requests.post(stack.url + "/api/auth/logout", headers=token).status_code == 200
    assert requests.get(stack.url + "/api/users/self", headers=token).status_code == 401
