"""Who is acting: roles, their scopes, and the principal every use case receives."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from foundation.errors import PermissionDenied


class Role(StrEnum):
    ADMIN = "admin"  # 区民政/住建 administrator: rules, registry, users, audit
    FINANCE = "finance"  # 区财政: subsidy runs and disbursement
    STREET_OFFICER = "street_officer"  # 街道办: reviews scores and vetoes, locks months
    STREET_WORKER = "street_worker"  # 街道物业社工/专管员: street inspections
    COMMUNITY_WORKER = "community_worker"  # 社区物业社工: daily patrols
    COMMITTEE_DIRECTOR = "committee_director"  # 居委会主任: votes, contracts, opinions, vetoes
    INSPECTOR = "inspector"  # 第三方机构: spot checks
    COMPANY = "company"  # 物业企业
    SOCIAL_ORG = "social_org"  # 社会组织
    PANEL_MEMBER = "panel_member"  # 评审专家 (an outside expert or an evaluation firm's evaluator)
    CARE_WORKER = "care_worker"  # 社区老龄社工: enrols elders in home care, sees who was served
    VOLUNTEER = "volunteer"  # 志愿者: signs up for needs, logs own hours (registered by the community's staff)


# The roles' names on pages and documents (config/RULES.md, "Roles and scopes").
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
    Role.PANEL_MEMBER: "评审专家",
    Role.CARE_WORKER: "社区老龄社工",
    Role.VOLUNTEER: "志愿者",
}


class ScopeKind(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    COMPANY = "company"
    ORGANISATION = "organisation"


SCOPE_OF_ROLE: dict[Role, ScopeKind] = {
    Role.ADMIN: ScopeKind.DISTRICT,
    Role.FINANCE: ScopeKind.DISTRICT,
    Role.STREET_OFFICER: ScopeKind.STREET,
    Role.STREET_WORKER: ScopeKind.STREET,
    Role.COMMUNITY_WORKER: ScopeKind.COMMUNITY,
    Role.COMMITTEE_DIRECTOR: ScopeKind.COMMUNITY,
    Role.INSPECTOR: ScopeKind.ORGANISATION,
    Role.COMPANY: ScopeKind.COMPANY,
    Role.SOCIAL_ORG: ScopeKind.ORGANISATION,
    Role.PANEL_MEMBER: ScopeKind.ORGANISATION,
    Role.CARE_WORKER: ScopeKind.COMMUNITY,
    Role.VOLUNTEER: ScopeKind.COMMUNITY,
}

# Roles that work for the district, a street or a community (public administration staff).
STAFF_ROLES = frozenset(
    {
        Role.ADMIN,
        Role.FINANCE,
        Role.STREET_OFFICER,
        Role.STREET_WORKER,
        Role.COMMUNITY_WORKER,
        Role.COMMITTEE_DIRECTOR,
        Role.CARE_WORKER,
    }
)


@dataclass(frozen=True)
class Principal:
    """The acting user (or API key, or the system) with the scope their role gives them."""

    role: Role
    user_id: int | None = None
    username: str = "system"
    street_id: int | None = None
    community_id: int | None = None
    company_id: int | None = None
    organisation_id: int | None = None
    via_api_key: bool = False
    api_key_id: int | None = None  # the key acting (an organisation's key acts for no user)

    @property
    def scope(self) -> ScopeKind:
        return SCOPE_OF_ROLE[self.role]

    @property
    def label(self) -> str:
        return f"{self.username} ({self.role.value})"

    @property
    def acts_for_nobody(self) -> bool:
        """Whether no person acts here: the system, the scheduler, a resident without an account, or an organisation's
        API key. Anyone else acts as their account and carries its id (the audit log and the separation of duties
        go by it)."""
        return self.via_api_key or self.username in NOT_PEOPLE

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def sees_community(self, community_id: int, street_id: int) -> bool:
        """Whether this principal's scope covers a community (of the given street)."""
        match self.scope:
            case ScopeKind.DISTRICT:
                return True
            case ScopeKind.STREET:
                return self.street_id == street_id
            case ScopeKind.COMMUNITY:
                return self.community_id == community_id
            case _:
                return False


NOT_PEOPLE = frozenset({"system", "scheduler", "resident"})  # the principals no account stands behind
SYSTEM = Principal(role=Role.ADMIN, username="system")
# The scheduler as finance drafts runs (no user: it is no person, so a person approving its draft approves someone
# else's work, as the separation of duties asks).
SCHEDULER_FINANCE = Principal(role=Role.FINANCE, username="scheduler")


def require_role(principal: Principal, roles: frozenset[Role] | set[Role], action: str) -> None:
    """Refuse `action` unless the principal has one of `roles`."""
    if principal.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        allowed_zh = "、".join(ROLE_NAMES[r] for r in sorted(roles))
        raise PermissionDenied(
            f"{action} is for {allowed}; you are logged in as {principal.role.value}", zh=f"您无权进行此操作：仅限{allowed_zh}办理，您当前的身份是{ROLE_NAMES[principal.role]}。"
        )
