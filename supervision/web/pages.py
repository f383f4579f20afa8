"""The page shell: log in, log out, the home page with the registry summary."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, MediaType, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from supervision.core.access import Principal, Role
from supervision.core.errors import NotAuthenticated
from supervision.core.settings import get_settings
from supervision.people import service as people
from supervision.registry.service import registry_summary
from supervision.web.auth import SESSION_COOKIE, logged_in

ROLE_NAMES = {
    Role.ADMIN: "区级管理员",
    Role.FINANCE: "区财政",
    Role.STREET_OFFICER: "街道办",
    Role.STREET_WORKER: "街道物业社工/专管员",
    Role.COMMUNITY_WORKER: "社区物业社工",
    Role.COMMITTEE_DIRECTOR: "居委会主任",
    Role.INSPECTOR: "第三方机构",
    Role.COMPANY: "物业企业",
    Role.SOCIAL_ORG: "社会组织",
}


def page(template: str, principal: Principal | None, **context: Any) -> Template:
    """A page in the shared layout, which shows who is logged in and the menu of their role."""
    return Template(
        template_name=template,
        context={"me": principal, "role_name": ROLE_NAMES.get(principal.role) if principal else None, **context},
        media_type=MediaType.HTML,
    )


def safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or a full URL) after logging in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


class ShellPages(Controller):
    include_in_schema = False

    @get("/login")
    async def login_form(self, request: Request, next: str | None = None) -> Template:
        return page("login.html", None, next=safe_next(next), username="", error=None)

    @post("/login")
    async def login(
        self,
        request: Request,
        db: AsyncSession,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        username = (data.get("username") or "").strip()
        target = safe_next(data.get("next"))
        try:
            token, record, _ = await people.log_in(
                db, username, data.get("password") or "", kind="page", ttl_hours=get_settings().token_ttl_hours
            )
        except NotAuthenticated as exc:
            response = page("login.html", None, next=target, username=username, error=exc.detail)
            response.status_code = 401
            return response
        redirect = Redirect(path=target)
        redirect.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            expires=int(record.expires_at.timestamp()),
        )
        return redirect

    @post("/logout")
    async def logout(self, request: Request, db: AsyncSession) -> Redirect:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            await people.log_out(db, cookie)
        redirect = Redirect(path="/login")
        redirect.delete_cookie(SESSION_COOKIE)
        return redirect

    @get("/", guards=[logged_in])
    async def home(self, principal: Principal, db: AsyncSession) -> Template:
        return page("home.html", principal, summary=await registry_summary(db, principal))


PAGES = [ShellPages]
