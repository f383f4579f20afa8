"""The relying party of single sign-on (统一身份认证) with OpenID Connect: the provider's metadata, the authorization
request (authorization-code flow with state, nonce and PKCE S256), the code exchanged at the token endpoint, and the
ID token checked against the provider's published keys (JWKS): signature, issuer, audience, expiry and nonce."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidClaimError, JoseError, MissingClaimError
from joserfc.jwk import KeySet

from foundation.errors import DomainError, NotAuthenticated
from foundation.settings import Settings

SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
CLOCK_LEEWAY_SECONDS = 60  # the provider's clock and ours may differ this much
PROVIDER_TIMEOUT_SECONDS = 10


# Why a sign-in was refused, as the audit log keeps it: a stable key and what it reads as (no token contents, no
# identity: the log says which check failed, never what the provider sent).
REFUSAL_REASONS = {
    "incomplete_answer": "返回信息不完整",
    "other_browser": "不是在本浏览器中发起的登录",
    "state_replayed": "登录链接已使用过或从未发起（重放）",
    "state_timed_out": "登录超时",
    "code_refused": "认证服务拒绝了授权码",
    "bad_signature": "登录凭证签名无法验证",
    "token_expired": "登录凭证已过期",
    "invalid_claim": "登录凭证的签发方、主体或随机数不符",
    "wrong_audience": "登录凭证不是签发给本系统的",
    "no_username_claim": "登录凭证中没有用于对应用户的信息",
    "unmapped_identity": "账号未对应本系统用户",
    "deactivated": "对应的用户已停用",
}


class SignInRefused(NotAuthenticated):
    """The identity provider's answer does not sign this person in (a token not for us, expired, a state used twice,
    an identity with no local user); `reason` is its key in REFUSAL_REASONS."""

    title_zh = "统一身份认证登录未成功"

    def __init__(self, detail: str, *, zh: str, reason: str) -> None:
        super().__init__(detail, zh=zh, reason=reason)
        self.reason = reason


class NoLocalUser(SignInRefused):
    """The provider knows the person, but no user of this system is mapped to that identity (none is created)."""


class ProviderUnavailable(DomainError):
    """The identity provider cannot be reached or answers with something that is not OpenID Connect."""

    title = "Identity provider unavailable"
    title_zh = "统一身份认证服务暂时无法访问，请稍后再试或使用本系统密码登录"


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    username_claim: str
    redirect_url: str
    scopes: str
    users: Mapping[str, str]  # claim value -> local username; empty: the claim value is the local username

    @classmethod
    def of(cls, settings: Settings) -> OidcConfig | None:
        """The configured provider, or None when single sign-on is off (no issuer set)."""
        if not settings.oidc_issuer:
            return None
        return cls(
            issuer=settings.oidc_issuer.rstrip("/"),
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            username_claim=settings.oidc_username_claim,
            redirect_url=settings.oidc_redirect_url or f"{settings.resolved_public_base_url()}/login/sso/callback",
            scopes=settings.oidc_scopes,
            users=dict(settings.oidc_users),
        )

    def local_username(self, identity: str) -> str | None:
        """The local user an identity maps to: through `users` when it lists any (then only those sign in), else the
        identity itself."""
        if self.users:
            return self.users.get(identity)
        return identity


@dataclass(frozen=True)
class ProviderMetadata:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def _secure_url(url: str) -> bool:
    """HTTPS, or plain HTTP to this machine only (a provider on loopback)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


async def _get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    if not _secure_url(url):
        raise ProviderUnavailable(f"{url} is not an https address")
    try:
        answer = await client.get(url)
        answer.raise_for_status()
        document = answer.json()
    except (httpx.HTTPError, ValueError) as error:
        raise ProviderUnavailable(f"the identity provider did not answer {url}: {error}") from None
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"{url} did not answer with a JSON object")
    return document


async def discover(client: httpx.AsyncClient, config: OidcConfig) -> ProviderMetadata:
    """The provider's endpoints from its discovery document, which must name the configured issuer."""
    document = await _get_json(client, f"{config.issuer}/.well-known/openid-configuration")
    if str(document.get("issuer", "")).rstrip("/") != config.issuer:
        raise ProviderUnavailable(f"the discovery document names issuer {document.get('issuer')!r}, not {config.issuer!r}")
    try:
        metadata = ProviderMetadata(
            authorization_endpoint=str(document["authorization_endpoint"]),
            token_endpoint=str(document["token_endpoint"]),
            jwks_uri=str(document["jwks_uri"]),
        )
    except KeyError as missing:
        raise ProviderUnavailable(f"the discovery document has no {missing}") from None
    if not all(_secure_url(u) for u in (metadata.authorization_endpoint, metadata.token_endpoint, metadata.jwks_uri)):
        raise ProviderUnavailable("the provider's endpoints are not https addresses")
    return metadata


def code_challenge(verifier: str) -> str:
    """PKCE S256 (RFC 7636): base64url(sha256(verifier)) without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def authorization_url(metadata: ProviderMetadata, config: OidcConfig, state: str, nonce: str, verifier: str) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": config.client_id,
            "redirect_uri": config.redirect_url,
            "scope": config.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in metadata.authorization_endpoint else "?"
    return f"{metadata.authorization_endpoint}{separator}{query}"


def check_id_token(id_token: str, keys: KeySet, config: OidcConfig, nonce: str, now: int | None = None) -> dict[str, Any]:
    """The ID token's claims, once its signature verifies with one of the provider's keys and it was issued by the
    configured issuer, for this client, for this sign-in (nonce), and has not expired."""
    try:
        token = jwt.decode(id_token, keys, algorithms=list(SIGNING_ALGORITHMS))
    except JoseError as error:
        raise SignInRefused(f"the ID token's signature does not verify with the provider's keys ({error.error})", zh="登录凭证的签名无法验证", reason="bad_signature") from None
    claims: dict[str, Any] = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        now=now if now is not None else int(time.time()),
        leeway=CLOCK_LEEWAY_SECONDS,
        iss={"essential": True, "value": config.issuer},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise SignInRefused("the ID token has expired", zh="登录凭证已过期，请重新登录", reason="token_expired") from None
    except (InvalidClaimError, MissingClaimError) as error:
        claim = getattr(error, "claim", "") or error.description or ""
        raise SignInRefused(f"the ID token's {claim} is not as expected: {error.description}", zh="登录凭证无效，请重新登录", reason="invalid_claim") from None
    except JoseError as error:
        raise SignInRefused(f"the ID token is not valid: {error.description}", zh="登录凭证无效，请重新登录", reason="invalid_claim") from None
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if config.client_id not in audiences:
        raise SignInRefused(f"the ID token is meant for {audience!r}, not for this system ({config.client_id})", zh="登录凭证不是签发给本系统的", reason="wrong_audience")
    if len(audiences) > 1 and claims.get("azp") != config.client_id:
        raise SignInRefused("the ID token has several audiences and is not authorised for this system (azp)", zh="登录凭证不是签发给本系统的", reason="wrong_audience")
    return claims


async def identity_of(config: OidcConfig, code: str, verifier: str, nonce: str) -> str:
    """Exchange the authorization code (with the PKCE verifier) for an ID token, check it, and return the value of
    the configured claim that carries the person's username or employee number."""
    async with httpx.AsyncClient(timeout=PROVIDER_TIMEOUT_SECONDS) as client:
        metadata = await discover(client, config)
        # client_secret_basic (RFC 6749 §2.3.1): the id and secret form-encoded, then HTTP Basic.
        credentials = (quote(config.client_id, safe=""), quote(config.client_secret, safe=""))
        try:
            answer = await client.post(
                metadata.token_endpoint,
                data={"grant_type": "authorization_code", "code": code, "redirect_uri": config.redirect_url, "code_verifier": verifier},
                auth=credentials,
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as error:
            raise ProviderUnavailable(f"the token endpoint did not answer: {error}") from None
        if answer.status_code >= 500:
            raise ProviderUnavailable(f"the token endpoint answered {answer.status_code}")
        try:
            tokens = answer.json()
        except ValueError:
            raise ProviderUnavailable(f"the token endpoint answered {answer.status_code} without JSON") from None
        if answer.status_code != 200 or not isinstance(tokens, dict) or not isinstance(tokens.get("id_token"), str):
            reason = tokens.get("error") if isinstance(tokens, dict) else None
            raise SignInRefused(f"the provider refused the authorization code ({reason or answer.status_code})", zh="统一身份认证未通过，请重新登录", reason="code_refused")
        keys_document = await _get_json(client, metadata.jwks_uri)
    try:
        keys = KeySet.import_key_set(cast(Any, keys_document))
    except (JoseError, ValueError, KeyError, TypeError) as error:
        raise ProviderUnavailable(f"the provider's JWKS cannot be read: {error}") from None
    claims = check_id_token(tokens["id_token"], keys, config, nonce)
    value = claims.get(config.username_claim)
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value).strip() == "":
        raise SignInRefused(
            f"the ID token has no {config.username_claim} claim to find the local user by",
            zh=f"统一身份认证未提供用于对应本系统用户的信息（{config.username_claim}），请联系区管理员",
            reason="no_username_claim",
        )
    return str(value).strip()
