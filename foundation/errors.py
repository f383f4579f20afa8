"""Domain errors: what went wrong in the user's terms, with no HTTP knowledge (the web edge maps them)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a use case raises on purpose; `detail` is shown to the person."""

    title = "Request refused"
    title_zh = "请求未完成"

    def __init__(self, detail: str, *, zh: str | None = None, field: str | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.zh = zh  # the same in Simplified Chinese, for pages; the class's own title_zh when there is none
        self.field = field  # the input that caused it, so a page can show the message beside that field
        self.extra = extra

    @property
    def message_zh(self) -> str:
        return self.zh or self.title_zh


class NotAuthenticated(DomainError):
    title = "Not logged in"
    title_zh = "请先登录"


class PermissionDenied(DomainError):
    title = "Not allowed"
    title_zh = "您无权进行此操作"


class SeparationOfDuties(PermissionDenied):
    """The person asking did an earlier part of the same case, which another person must check (职责分离); `rule` is
    the stable key of the row of foundation/duties.py that refuses it."""

    title = "Separation of duties"
    title_zh = "职责分离：须由他人办理"

    def __init__(self, detail: str, *, rule: str, zh: str) -> None:
        super().__init__(detail, zh=zh, rule=rule)
        self.rule = rule


class NotFound(DomainError):
    title = "Not found"
    title_zh = "该记录不存在，或不在您的管辖范围内"

    def __init__(self, entity: str, key: object) -> None:
        super().__init__(f"{entity} {key} does not exist or is not visible to you", entity=entity, key=str(key))


class Conflict(DomainError):
    """The request contradicts what is already stored (duplicate, overlap, wrong state)."""

    title = "Conflict with stored records"
    title_zh = "与已保存的记录冲突，请刷新页面后再试"


class RuleViolation(DomainError):
    """Well-formed input that a business rule forbids (no quorum, term ends before it starts, ...)."""

    title = "Business rule violated"
    title_zh = "不符合业务规则"


class ControlCharacters(RuleViolation):
    """Text holding control characters (NUL, ESC ...): nobody types them and PostgreSQL cannot store NUL."""

    title = "Control characters in text"
    title_zh = "内容含有无法保存的控制字符，请删除后再提交"


class NotOneLine(RuleViolation):
    """A line break (or tab) in text read as one line: a name, title, place or label printed on one line of a PDF,
    a spreadsheet cell or a table."""

    title = "Line break in one-line text"
    title_zh = "此项为一行文字，不能含换行、制表符等控制字符，请改为一行后再提交"


class TooManyAttempts(DomainError):
    """Refused for a while (too many failed logins); `retry_after_seconds` says how long."""

    title = "Too many attempts"
    title_zh = "尝试次数过多，请稍后再试"

    def __init__(self, detail: str, *, retry_after_seconds: int, zh: str | None = None) -> None:
        super().__init__(detail, zh=zh, retry_after_seconds=retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds


class InvalidInput(DomainError):
    title = "Invalid input"
    title_zh = "输入有误，请检查后再提交"


class WrongMediaType(InvalidInput):
    """The body is sent as another type than the one the operation reads (a form to a JSON operation, JSON to a
    form-encoded one): nothing of it is read."""

    title = "Unsupported media type"
    title_zh = "提交的内容格式不对"


class TooLarge(DomainError):
    title = "Too large"
    title_zh = "文件过大"


class Unavailable(DomainError):
    """Something this installation lacks (a font, a service) keeps the request from being answered now."""

    title = "Unavailable"
    title_zh = "服务暂不可用，请稍后再试"
