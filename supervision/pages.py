"""The page shell: log in, log out, the home page, notifications and one's own trail of actions."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Response, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from assessment.pages import version_reason
from foundation.access import Principal, Role
from foundation.audit import list_audit_entries
from foundation.clock import business_today
from foundation.errors import NotAuthenticated, TooManyAttempts
from foundation.notifications import Notification, mark_read
from foundation.paging import fetch_page
from foundation.settings import get_settings
from foundation.web.auth import SESSION_COOKIE, logged_in
from foundation.web.layout import page, page_request, pages_of
from foundation.web.sessions import caller_address, write_transactions
from people import service as people
from people import sso
from people.oidc import NoLocalUser, OidcConfig, ProviderUnavailable, SignInRefused
from registry.service import registry_summary
from supervision.todo import tasks_of

ACTION_NAMES = {
    "spreadsheet_import.applied": "从表格导入登记数据",
    "sso.refused": "统一身份认证登录未成功",
    "patrol.filed": "提交日常巡查",
    "street_inspection.filed": "提交街道检查",
    "spot_check.filed": "提交第三方抽查",
    "inspection_record.amended": "更正检查记录",
    "late_record.approved": "准予计入补报记录",
    "late_record.rejected": "不予计入补报记录",
    "calendar_year.recorded": "登记法定节假日安排",
    "payee_account.recorded": "登记收款账户",
    "payee_account.removed": "删除收款账户",
    "defect.fix_reported": "报告整改完成",
    "defect.accepted": "整改验收：验收通过",
    "defect.rejected": "整改验收：验收退回",
    "opinion.given": "填写社区意见与满意度",
    "veto.opened": "提出一票否决",
    "veto.upheld": "维持一票否决",
    "veto.overturned": "撤销一票否决",
    "appeal.filed": "提出申诉",
    "appeal.upheld": "申诉成立",
    "appeal.rejected": "驳回申诉",
    "month.computed": "计算月度得分",
    "month.locked": "锁定月度考核",
    "subsidy_run.started": "发起补贴核算",
    "subsidy_run.recomputed": "重算补贴",
    "subsidy_run.street_confirmed": "街道确认补贴",
    "subsidy_run.approved": "审批补贴核算",
    "batch.issued": "生成拨付批次",
    "batch.adjusted": "生成调整批次",
    "adjustment.proposed": "提出更正（待他人审批）",
    "adjustment.approved": "审批更正",
    "adjustment.withdrawn": "撤回更正",
    "contract.signed": "签订服务合同",
    "vote.paper_recorded": "登记纸质表决结果",
    "volunteer.checked": "志愿者：当面实名核验",
    "veto.complaints": "一票否决：以居民投诉为证据",
    "survey.codes_issued": "满意度调查：打印答卷码",
    "evaluation.firm_assigned": "项目评估：指定评估机构",
    "spot_checks.drawn": "抽取第三方抽查区片",
    "wristband.elder_registered": "防走失腕带：登记老人", "wristband.bound": "防走失腕带：绑定腕带", "wristband.revoked": "防走失腕带：停用腕带",
    "wristband.labels_printed": "防走失腕带：打印标签", "wristband.alert_acknowledged": "防走失腕带：响应求助", "wristband.found": "防走失腕带：老人已找到",
    "wristband.register_entered": "防走失腕带：录入试点登记", "channel.added": "消息渠道：新增", "channel.switched_off": "消息渠道：停用",
    "complaint.reported": "居民投诉：居民反映", "complaint.ordered": "居民投诉：转物业企业整改", "complaint.mediating": "居民投诉：转入矛盾调处",
    "complaint.meeting": "居民投诉：记录调解会议", "complaint.closed": "居民投诉：结案",
}
# An action not named above reads as its record's name and what was done to it (relief_application.filed →
# 救助申请：提交), so the page never shows an English key for the actions the packages record.
ENTITY_NAMES = {
    "activity": "项目活动", "care_visit": "上门服务", "evaluation": "项目评估", "login": "登录", "organisation": "社会组织", "spot_check": "第三方抽查",
    "sso_login": "统一身份认证登录",
    "activity_claim": "活动经费报销", "activity_fund": "活动经费", "activity_year": "活动经费年度", "api_key": "接口密钥", "appeal": "申诉",
    "award": "中标结果", "batch": "拨付批次", "payee": "收款方", "beneficiary": "服务对象", "bid": "投标", "budget": "预算", "call": "项目招标",
    "care_contract": "养老服务合同", "care_elder": "服务老人", "care_enrolment": "居家养老登记", "care_voucher": "服务券", "catalogue": "服务目录",
    "community": "社区", "company": "物业公司", "contract": "服务合同", "defect": "整改", "delegation": "项目委托", "delivery_project": "服务项目",
    "estate": "区片", "inspection_record": "检查记录", "meeting": "议事会议", "month": "月度考核", "need": "居民需求", "objection": "质疑",
    "opinion": "社区意见", "panel": "评审", "programme_run": "项目核算", "proposal": "社区提案", "rate_card": "补贴标准", "relief_application": "救助申请",
    "relief_year": "救助基金年度", "spot_checks": "第三方抽查", "street": "街道", "subsidy_run": "补贴核算", "survey": "满意度调查", "tranche": "项目拨款",
    "user": "用户", "veto": "一票否决", "volunteer": "志愿者", "volunteer_hours": "志愿服务时长", "volunteer_need": "志愿服务需求",
    "volunteer_team": "志愿服务队", "vote": "居民选聘", "complaint": "居民投诉", "satisfaction_survey": "满意度调查", "call_contract": "项目合同",
    "programme_batch": "拨付批次", "volunteer_pairing": "志愿服务结对", "notification_channel": "消息渠道", "assessment_month": "月度考核",
    "calendar_year": "节假日安排", "committee_opinion": "社区意见", "disbursement_batch": "拨付批次", "programme_budget": "项目预算",
    "service_contract": "服务合同", "spot_check_draw": "第三方抽查抽取", "wristband_alert": "腕带求助", "wristband_elder": "腕带老人",
    "wristband_label": "腕带标签", "wristband_sheet": "腕带标签页",
}
VERB_NAMES = {
    "filed": "提交", "approved": "通过", "rejected": "不通过", "refused": "不予批准", "returned": "退回", "resubmitted": "重新提交", "lapsed": "年末失效",
    "opened": "开立", "issued": "签发", "revoked": "吊销", "objected": "提出质疑", "stood": "维持", "adjusted": "调整", "recorded": "登记",
    "replaced": "更换", "withdrawn": "撤回", "set": "设定", "awarded": "确定中标", "bidding_closed": "截止投标", "failed": "流标", "panel_named": "组建评审",
    "repeated": "重新招标", "signed": "签订", "id_number_read": "查看身份证号", "enrolled": "登记", "stopped": "停止", "redeemed": "兑付", "drafted": "起草",
    "item_added": "增加项目", "published": "发布", "created": "新建", "updated": "修改", "yellow_card": "黄牌警告", "flagged_for_review": "标记复核",
    "accepted": "接受", "declined": "拒绝", "expired": "逾期退回", "made": "发出", "team_assigned": "指派社工", "registered": "登记", "boundary_removed": "删除边界",
    "corrected": "更正", "answered": "答复", "declared": "利益申报", "scored": "评分", "sent": "发送", "added": "新增", "drawn": "抽取", "released": "释放",
    "paired": "结对", "pairing_ended": "结束结对", "logged": "登记", "posted": "发布", "signed_up": "报名", "members_added": "增加队员", "upheld": "维持",
    "overturned": "撤销", "terminated": "终止", "boundary_set": "设定边界", "throttled": "暂停登录（尝试过多）", "reconciled": "对账",
    "logged_in": "登录", "ballots_recorded": "录入选票", "closed": "结束", "include": "纳入目录", "merge": "合并", "return": "退回", "confirm": "确认", "approve": "审批", "started": "发起", "recomputed": "重算", "computed": "计算", "locked": "锁定",
}
PAGE_SIZE = 50
SSO_COOKIE = "supervision_sso"  # the state of a sign-in begun at the identity provider from this browser


def action_name(action: str) -> str:
    """What an audit action reads as on a page, in Chinese."""
    if action in ACTION_NAMES:
        return ACTION_NAMES[action]
    entity, _, verb = action.partition(".")
    parts = verb.split("_")
    # relief_application.street_approve: a level, then the verdict
    levels = {"community": "社区初审", "street": "街道审核", "district": "区审批"}
    verdicts = {"approve": "通过", "return": "退回", "refuse": "不予批准"}
    if verb not in VERB_NAMES and len(parts) == 2 and parts[0] in levels and parts[1] in verdicts:
        return f"{ENTITY_NAMES.get(entity, entity)}：{levels[parts[0]]}{verdicts[parts[1]]}"
    return f"{ENTITY_NAMES.get(entity, entity)}：{VERB_NAMES.get(verb, verb)}"


def entity_name(entity: str) -> str:
    """What kind of record an audit entry is about, in Chinese (a kind not named reads as 记录)."""
    return ENTITY_NAMES.get(entity, "记录")


def safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or a full URL) after logging in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def sso_refused(status: int, message: str) -> Template:
    """The page that says in Chinese why single sign-on did not sign this person in (nothing is created)."""
    response = page("sso_refused.html", None, message=message)
    response.status_code = status
    response.delete_cookie(SSO_COOKIE, path="/login/sso")
    return response


SSO_OFF_ZH = "本系统未启用统一身份认证，请使用本系统的用户名和密码登录。"  # single sign-on is not configured

class ShellPages(Controller):
    include_in_schema = False

    @get("/login")
    async def login_form(self, request: Request[Any, Any, Any], next: FromQuery[str | None] = None) -> Template:
        return page("login.html", None, next=safe_next(next), username="", error=None, sso=OidcConfig.of(request.app.state.settings) is not None)

    @post("/login")
    async def login(
        self,
        request: Request[Any, Any, Any],
        state: State,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        username = (data.get("username") or "").strip()
        target = safe_next(data.get("next"))
        settings = get_settings()
        try:
            token, record, user = await people.log_in(
                write_transactions(state),
                username,
                data.get("password") or "",
                address=caller_address(request),
                kind="page",
                ttl_hours=settings.token_ttl_hours,
                limits=people.LoginLimits.of(settings),
            )
        except NotAuthenticated as exc:
            response = page("login.html", None, next=target, username=username, error=exc.message_zh, sso=OidcConfig.of(state.settings) is not None)
            response.status_code = 401
            return response
        except TooManyAttempts as exc:
            response = page("login.html", None, next=target, username=username, error=exc.message_zh, sso=OidcConfig.of(state.settings) is not None)
            response.status_code = 429
            response.headers["Retry-After"] = str(exc.retry_after_seconds)
            return response
        # The property social worker's day starts with the patrol (their to-do list is one tab away).
        redirect = Redirect(path="/patrol" if target == "/" and user.role == Role.COMMUNITY_WORKER else target)
        # The cookie lives exactly as long as the login it carries (Max-Age, in seconds from now), and is sent over
        # HTTPS only when the system is served through HTTPS (SUPERVISION_COOKIE_SECURE).
        redirect.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.cookie_secure or request.url.scheme == "https",
            max_age=get_settings().token_ttl_hours * 3600,
        )
        return redirect

    @post("/login/sso")
    async def sso_begin(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db: NamedDependency[AsyncSession],
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        """Begin a sign-in at the identity provider (统一身份认证): off to its sign-in page."""
        config = OidcConfig.of(state.settings)
        if config is None:
            return sso_refused(404, SSO_OFF_ZH)
        try:
            url, sso_state = await sso.begin_sign_in(db, config, safe_next(data.get("next")))
        except ProviderUnavailable as exc:
            return sso_refused(502, exc.message_zh)
        redirect = Redirect(path=url, status_code=303)
        redirect.set_cookie(
            SSO_COOKIE, sso_state, httponly=True, samesite="lax", path="/login/sso", max_age=sso.PENDING_MINUTES * 60,
            secure=state.settings.cookie_secure or request.url.scheme == "https",
        )
        return redirect

    @get("/login/sso/callback")
    async def sso_callback(self, request: Request[Any, Any, Any]) -> Template:
        """Where the provider sends the browser back. Reading never writes: the page posts the answer on to
        /login/sso/finish (by itself, or with its button when scripts are off)."""
        if OidcConfig.of(request.app.state.settings) is None:
            return sso_refused(404, SSO_OFF_ZH)
        answer = request.query_params
        if answer.get("error"):
            return sso_refused(401, f"统一身份认证未通过（{answer.get('error')}），请重新登录。")
        return page("sso_continue.html", None, code=answer.get("code") or "", sso_state=answer.get("state") or "")

    @post("/login/sso/finish")
    async def sso_finish(
        self,
        request: Request[Any, Any, Any],
        state: State,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        """Finish the sign-in: the code exchanged, the ID token checked, the mapped local user logged in."""
        config = OidcConfig.of(state.settings)
        if config is None:
            return sso_refused(404, SSO_OFF_ZH)
        try:
            signed = await sso.finish_sign_in(
                write_transactions(state),
                config,
                state=data.get("state") or "",
                code=data.get("code") or "",
                browser_state=request.cookies.get(SSO_COOKIE),
                address=caller_address(request),
                ttl_hours=state.settings.token_ttl_hours,
            )
        except NoLocalUser as exc:
            return sso_refused(403, exc.message_zh)
        except SignInRefused as exc:
            return sso_refused(401, exc.message_zh)
        except ProviderUnavailable as exc:
            return sso_refused(502, exc.message_zh)
        redirect = Redirect(path=safe_next(signed.next_path))
        redirect.set_cookie(
            SESSION_COOKIE, signed.token, httponly=True, samesite="lax", max_age=state.settings.token_ttl_hours * 3600,
            secure=state.settings.cookie_secure or request.url.scheme == "https",
        )
        redirect.delete_cookie(SSO_COOKIE, path="/login/sso")
        return redirect

    @post("/logout")
    async def logout(self, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> Redirect:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            await people.log_out(db, cookie)
        redirect = Redirect(path="/login")
        redirect.delete_cookie(SESSION_COOKIE)
        return redirect

    @get("/", guards=[logged_in])
    async def home(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Template:
        """What waits on this person, most urgent first (supervision.todo), then the registry's figures."""
        return page("home.html", principal, tasks=await tasks_of(db, principal), today=business_today(), summary=await registry_summary(db, principal))

    @get("/notifications", guards=[logged_in])
    async def notifications(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], page_no: FromQuery[int] = 1) -> Template:
        paging = page_request(page_no, PAGE_SIZE)
        query = select(Notification).where(col(Notification.user_id) == principal.user_id).order_by(col(Notification.id).desc())
        rows, total = await fetch_page(db, query, paging)
        return page("notifications.html", principal, notifications=rows, total=total, paging=paging, pages=pages_of(total, paging))

    @get("/notifications/unread", guards=[logged_in])
    async def unread(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[str]:
        """The menu's badge (fetched by HTMX after the page is shown, so no page waits for it)."""
        count = (
            await db.execute(select(func.count()).where(col(Notification.user_id) == principal.user_id, col(Notification.read_at).is_(None)))
        ).scalar_one()
        return Response(f'<span class="badge" aria-label="{count} 条未读">{count}</span>' if count else "", media_type=MediaType.HTML)

    @post("/notifications/{notification_id:int}/read", guards=[logged_in])
    async def mark_read(self, notification_id: FromPath[int], request: Request[Any, Any, Any], principal: NamedDependency[Principal], db: NamedDependency[AsyncSession]) -> Response[Any]:
        notification = await mark_read(db, principal.user_id, notification_id)
        if request.headers.get("hx-request"):
            return page("notification_row.html", principal, n=notification)
        return Redirect(path="/notifications")

    @get("/me/actions", guards=[logged_in])
    async def my_actions(self, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], page_no: FromQuery[int] = 1) -> Template:
        """What this user did, from the audit log (only their own entries)."""
        paging = page_request(page_no, PAGE_SIZE)
        rows, total = await list_audit_entries(db, paging, actor_user_id=principal.user_id)
        return page(
            "my_actions.html", principal, entries=rows, total=total, paging=paging, pages=pages_of(total, paging), action_name=action_name,
            entity_name=entity_name, reason_text=version_reason, actor=principal.label,
        )


PAGES = [ShellPages]
