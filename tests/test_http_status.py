"""Raw HTTP against the real gunicorn stack: status codes, content types,
slashes and the cookie flow exactly as a client sees them on the wire."""
from __future__ import annotations

import requests

from tests.stack import ADMIN


def test_status_codes_on_the_wire(stack, admin_session):
    url = stack.url
    assert requests.get(url + "/api/projects").status_code == 401
    assert requests.get(url + "/api/server/about").status_code == 200
    r = admin_session.post(url + "/api/projects", json={"name": "wire"})
    assert r.status_code == 201 and r.headers["Content-Type"].startswith("application/json")
    pid = r.json()["id"]
    for path in (f"/api/projects/{pid}", f"/api/projects/{pid}/"):
        resp = admin_session.get(url + path, allow_redirects=False)
        assert resp.status_code == 200, path
    assert admin_session.get(url + "/api/projects/999999").status_code == 404
    assert admin_session.patch(url + f"/api/projects/{pid}", json={"name": ""}).status_code == 400
    bad = admin_session.post(url + "/api/projects", data="{", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("JSON parse error")
    assert admin_session.delete(url + f"/api/projects/{pid}").status_code == 204
    assert admin_session.delete(url + f"/api/projects/{pid}").status_code == 404
    assert admin_session.get(url + "/api/schema/").json()["info"]["version"] == "2.80.0"
    assert "swagger-ui" in admin_session.get(url + "/api/swagger/").text
    assert admin_session.get(url + "/api/static/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_session_flow_with_csrf_over_http(stack):
    s = requests.Session()
    r = s.post(stack.url + "/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
    assert r.status_code == 200 and {"sessionid", "csrftoken"} <= set(s.cookies.keys())
    assert s.post(stack.url + "/api/projects", json={"name": "no csrf"}).status_code == 403
    s.headers.update({"X-CSRFToken": s.cookies["csrftoken"], "Origin": stack.url})
    assert s.post(stack.url + "/api/projects", json={"name": "csrf"}).status_code == 201
    assert s.post(stack.url + "/api/auth/logout", headers={"Content-Type": "application/json"}).status_code == 200
    assert s.get(stack.url + "/api/users/self").status_code == 401
