"""The district administrator's pages for people and the record of what they did: user accounts (find, open, add,
rename, reset a password, switch off and on) and the audit log (filtered by what, by whom and by record). The same
use cases as /api/users and /api/audit, with their refusals in Chinese beside the field."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from assessment.pages import version_reason
from foundation.access import ROLE_NAMES, SCOPE_OF_ROLE, Principal, Role, ScopeKind
from foundation.audit import list_audit_entries
from foundation.errors import DomainError, InvalidInput
from foundation.paging import PageRequest
from foundation.web.auth import allow
from foundation.web.layout import attempt, form_body, page, page_request, pages_of, refused
from foundation.web.params import MAX_ID
from people import service as people
from people.queries import account_names, active_accounts
from people.schemas import UserCreate, UserUpdate
from registry import queries as registry_queries
from supervision.pages import ENTITY_NAMES, action_name, entity_name

ADMINS = [allow({Role.ADMIN}, "managing user accounts and reading the audit log")]
PAGE_SIZE = 50
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
# Which unit each role's account belongs to, from the roles' scopes (the use case refuses a unit that does not fit).
UNIT_FIELDS = {ScopeKind.STREET: "street_id", ScopeKind.COMMUNITY: "community_id", ScopeKind.COMPANY: "company_id", ScopeKind.ORGANISATION: "organisation_id"}
UNIT_OF_ROLE = {role: UNIT_FIELDS[scope] for role, scope in SCOPE_OF_ROLE.items() if scope in UNIT_FIELDS}
UNIT_NAMES = {"street_id": "街道", "community_id": "社区", "company_id": "物业企业", "organisation_id": "机构"}
FIELD_ZH = {"username": "用户名：2–60 个字母、数字、点、横线或下划线", "display_name": "姓名：1–60 个字", "password": "密码：至少 8 位"}


T = TypeVar("T")


def _checked(kind: type[T], fields: dict[str, Any]) -> T:
    """A form's fields as the API's body (foundation.web.layout.form_body), the account's fields refused in words."""
    try:
        return form_body(kind, **fields)
    except InvalidInput as refused:
        if refused.field not in FIELD_ZH:
            raise
        raise InvalidInput(refused.detail, zh=f"{FIELD_ZH[refused.field]}，请检查后再提交", field=refused.field) from None


def _unit(text: str | None) -> tuple[str, int] | None:
    """The unit chosen in the form's list, as (kind of unit, id): the option's value is "community_id:3"."""
    kind, _, number = (text or "").strip().partition(":")
    if not kind and not number:
        return None
    if kind not in UNIT_NAMES or not number.isdecimal() or len(number) > 10 or int(number) > MAX_ID:
        raise InvalidInput("unit: choose from the list", zh="请从列表中选择所属单位", field="unit")
    return kind, int(number)


async def _units(db: AsyncSession) -> dict[str, list[tuple[int, str]]]:
    """Every unit an account can belong to, by kind, as (id, name) for the form's lists."""
    streets = await registry_queries.streets(db)
    communities = await registry_queries.communities(db, None)
    companies = await registry_queries.companies(db, None)
    organisations = await registry_queries.organisations(db, None)
    return {
        "street_id": sorted((s.id, s.name) for s in streets),
        "community_id": sorted((c.id, c.name) for c in communities.values()),
        "company_id": sorted((c.id, c.name) for c in companies.values()),
        "organisation_id": sorted((o.id, o.name) for o in organisations.values()),
    }


async def _new_form(db: AsyncSession, principal: Principal, typed: dict[str, str], exc: DomainError | None = None) -> Template:
    context = {"typed": typed, "roles": ROLE_NAMES, "units": await _units(db), "unit_names": UNIT_NAMES, "unit_of_role": {r.value: u for r, u in UNIT_OF_ROLE.items()}}
    return refused("user_new.html", principal, exc, **context) if exc else page("user_new.html", principal, errors={}, **context)


async def _user_page(db: AsyncSession, principal: Principal, user_id: int, exc: DomainError | None = None, typed: dict[str, str] | None = None) -> Template:
    user = await people.get_user(db, principal, user_id)
    names = await account_names(db, [user.username])
    _, post = names.get(user.username, ("", ROLE_NAMES[Role(user.role)]))
    actions, total = await list_audit_entries(db, PageRequest(page=1, page_size=10), actor_user_id=user.id)
    context = {
        "user": user, "post": post, "role_name": ROLE_NAMES[Role(user.role)], "typed": typed or {"display_name": user.display_name}, "actions": actions,
        "actions_total": total, "action_name": action_name, "entity_name": entity_name, "own": user.id == principal.user_id,
    }
    return refused("user_detail.html", principal, exc, **context) if exc else page("user_detail.html", principal, errors={}, **context)


class AccountPages(Controller):
    include_in_schema = False
    guards = ADMINS

    @get("/users")
    async def users(
        self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], page_no: FromQuery[int] = 1, role: FromQuery[str] = "",
        q: FromQuery[str] = "", active: FromQuery[str] = "",
    ) -> Template:
        """Everyone with an account, found by name or username, role and whether it is switched on."""
        paging = page_request(page_no, PAGE_SIZE)
        chosen_role = role if role in {r.value for r in Role} else ""
        words = q.strip()[:60]
        chosen_state = active if active in ("on", "off") else ""
        rows, total = await people.list_users(
            db, principal, paging, Role(chosen_role) if chosen_role else None, words=words, active=chosen_state == "on" if chosen_state else None
        )
        names = await account_names(db, [u.username for u in rows])
        switched_on = await active_accounts(db)
        extra = "&" + urlencode({"role": chosen_role, "q": words, "active": chosen_state})
        return page(
            "users.html", principal, users=rows, posts={u.username: names.get(u.username, ("", ""))[1] for u in rows}, total=total, active_total=switched_on,
            paging=paging, pages=pages_of(total, paging), roles=ROLE_NAMES, role=chosen_role, q=words, state=chosen_state, extra=extra,
        )

    @get("/users/new")
    async def new_user_form(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return await _new_form(db, principal, {})

    @post("/users/new")
    async def create_user(self, data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        typed = {k: (data.get(k) or "").strip() for k in ("username", "display_name", "role", "unit")}
        try:
            async with attempt(db):
                if typed["role"] not in {r.value for r in Role}:
                    raise InvalidInput("choose a role", zh="请选择岗位", field="role")
                role = Role(typed["role"])
                unit_field = UNIT_OF_ROLE.get(role)
                unit = _unit(typed["unit"])
                if unit_field is not None and (unit is None or unit[0] != unit_field):
                    raise InvalidInput(f"a {role.value} account belongs to a {unit_field}", zh=f"{ROLE_NAMES[role]}的账号须选择所属{UNIT_NAMES[unit_field]}", field="unit")
                if unit_field is None and unit is not None:
                    raise InvalidInput(f"a {role.value} account serves the whole district: choose no unit", zh=f"{ROLE_NAMES[role]}为全区岗位，不选所属单位", field="unit")
                fields: dict[str, Any] = {"username": typed["username"], "display_name": typed["display_name"], "password": data.get("password") or "", "role": role.value}
                if unit is not None:
                    fields[unit[0]] = unit[1]
                user = await people.create_user(db, principal, _checked(UserCreate, fields))
        except DomainError as exc:
            return await _new_form(db, principal, typed, exc)
        return Redirect(path=f"/users/{user.id}", status_code=303)

    @get("/users/{user_id:int}")
    async def user_detail(self, user_id: FromPath[int], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        return await _user_page(db, principal, user_id)

    @post("/users/{user_id:int}")
    async def update_user(self, user_id: FromPath[int], data: Form, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        """One change at a time: the name, a new password, or switching the account off or on."""
        change = data.get("change") or ""
        typed = {"display_name": (data.get("display_name") or "").strip()}
        try:
            async with attempt(db):
                if change == "name":
                    update = _checked(UserUpdate, {"display_name": typed["display_name"]})
                elif change == "password":
                    password = data.get("password") or ""
                    if password != (data.get("password_again") or ""):
                        raise InvalidInput("the two passwords differ", zh="两次输入的密码不一致", field="password")
                    update = _checked(UserUpdate, {"password": password})
                elif change in ("off", "on"):
                    update = UserUpdate(active=change == "on")
                else:
                    raise InvalidInput("choose what to change", zh="请选择要修改的内容", field="_form")
                await people.update_user(db, principal, user_id, update)
        except DomainError as exc:
            return await _user_page(db, principal, user_id, exc, typed)
        return Redirect(path=f"/users/{user_id}?saved={change}", status_code=303)

    @get("/audit")
    async def audit_log(
        self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], page_no: FromQuery[int] = 1, entity: FromQuery[str] = "",
        entity_id: FromQuery[str] = "", who: FromQuery[str] = "",
    ) -> Template:
        """What was done, by whom and when, newest first; read only (the log is sealed: `supervision audit verify`)."""
        paging = page_request(page_no, PAGE_SIZE)
        chosen = entity if entity in ENTITY_NAMES else ""
        record = entity_id.strip()[:40] if chosen else ""
        actor = who.strip()[:60]
        rows, total = await list_audit_entries(db, paging, entity=chosen or None, entity_id=record or None, actor=actor or None)
        extra = "&" + urlencode({"entity": chosen, "entity_id": record, "who": actor})
        return page(
            "audit_log.html", principal, entries=rows, total=total, paging=paging, pages=pages_of(total, paging), action_name=action_name, entity_name=entity_name,
            reason_text=version_reason, entities=sorted(ENTITY_NAMES.items(), key=lambda kv: kv[1]), entity=chosen, entity_id=record, who=actor, extra=extra,
        )


PAGES = [AccountPages]
