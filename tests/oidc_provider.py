"""A small, real OpenID Connect provider for the single sign-on tests, served over HTTP on loopback: discovery,
JWKS, an authorization endpoint with a sign-in form (code flow, PKCE S256 required), and a token endpoint that
checks the client's secret, the code (once), the redirect address and the PKCE verifier, and signs ID tokens
(RS256) with joserfc. Tests can make it misbehave as a broken or hostile provider would: `token_overrides` replaces
claims of the ID tokens it issues (another audience, an expiry in the past), `sign_with` another key."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey


@dataclass
class Provider:
    client_id: str
    client_secret: str
    redirect_url: str
    accounts: dict[str, dict[str, Any]]  # sign-in name -> the person's claims (preferred_username, employee_number ...)
    issuer: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "provider-key-1", "use": "sig", "alg": "RS256"}))
    sign_with: RSAKey | None = None
    token_overrides: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens_issued: int = 0

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }

    def authorization_error(self, query: dict[str, str]) -> str | None:
        if query.get("client_id") != self.client_id:
            return "unknown client_id"
        if query.get("redirect_uri") != self.redirect_url:
            return "redirect_uri is not registered"
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            return "only the code flow with the openid scope"
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return "PKCE S256 is required"
        if not query.get("state") or not query.get("nonce"):
            return "state and nonce are required"
        return None

    def sign_in(self, query: dict[str, str], account: str) -> str:
        """The redirect back to the client with a new code for `account`."""
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"account": account, **query}
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if authorization != expected:
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)  # a code is used once
        if grant is None or form.get("grant_type") != "authorization_code" or form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verifier does not match"}
        now = int(time.time())
        claims = {
            "iss": self.issuer, "sub": f"subject-{grant['account']}", "aud": self.client_id, "iat": now, "exp": now + 300,
            "nonce": grant["nonce"], **self.accounts[grant["account"]], **self.token_overrides,
        }
        key = self.sign_with or self.key
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid or "provider-key-1"}, claims, key)
        self.tokens_issued += 1
        return 200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300, "id_token": id_token}


SIGN_IN_FORM = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>统一身份认证</title></head><body>
<h1>统一身份认证平台</h1><form method="post" action="/authorize">{hidden}
<label for="account">统一身份认证账号</label><input id="account" name="account">
<button type="submit">登录并授权</button></form></body></html>"""


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, document: dict[str, Any]) -> None:
            self._send(status, json.dumps(document).encode(), "application/json")

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            return {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/.well-known/openid-configuration":
                self._json(200, provider.discovery())
            elif parts.path == "/jwks":
                self._json(200, {"keys": [provider.key.as_dict(private=False)]})
            elif parts.path == "/authorize":
                problem = provider.authorization_error(query)
                if problem:
                    self._send(400, problem.encode(), "text/plain; charset=utf-8")
                    return
                hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in query.items())
                self._send(200, SIGN_IN_FORM.format(hidden=hidden).encode(), "text/html; charset=utf-8")
            else:
                self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            form = self._form()
            if self.path == "/authorize":
                account = form.pop("account", "")
                if provider.authorization_error(form) or account not in provider.accounts:
                    self._send(400, "账号不存在".encode(), "text/plain; charset=utf-8")
                    return
                self._send(302, b"", "text/plain", {"Location": provider.sign_in(form, account)})
            elif self.path == "/token":
                status, document = provider.token(form, self.headers.get("Authorization"))
                self._json(status, document)
            else:
                self._send(404, b"not found", "text/plain")

    return Handler


@contextmanager
def running_provider(client_id: str, client_secret: str, redirect_url: str, accounts: dict[str, dict[str, Any]]) -> Iterator[Provider]:
    """The provider, listening on a free loopback port, for the length of the block."""
    provider = Provider(client_id=client_id, client_secret=client_secret, redirect_url=redirect_url, accounts=accounts)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
