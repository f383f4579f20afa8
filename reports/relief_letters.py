"""A relief application's decision letter (救助申请决定书), in Simplified Chinese: the fund, the amount, the decision
and every level's verdict with its reason. Issued like every other document (kept bytes, a verification code and
QR, append-only) as the application is decided; a download serves the bytes kept, never a new letter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal
from foundation.errors import Conflict, Unavailable
from foundation.money import yuan
from foundation.settings import get_settings
from foundation.storage import BlobStore, open_blob_store
from foundation.web.auth import allow
from foundation.web.doors import two_doors
from foundation.web.params import RecordId, provide_store
from foundation.web.problems import problem_responses
from reports.pdf import Column, Document, FontMissing, TableBlock
from reports.service import PDF, Made, _when, content_checksum, issue, made_pdf, served, verify_url
from reports.tables import IssuedDocument
from subsidies.relief import queries
from subsidies.relief.rules import LEVEL_NAMES, VERDICT_NAMES

KIND = "relief_letter"


def subject_of(application_id: int) -> str:
    return f"relief-application:{application_id}"


def number_of(letter: queries.Letter) -> str:
    return f"JZ-{letter.year}-{letter.application_id:06d}"


async def _letter(letter: queries.Letter, code: str) -> Made:
    decision = f"批准救助 {yuan(letter.amount_fen)} 元" if letter.approved else "不予救助"
    last = letter.reviews[-1] if letter.reviews else None
    document = Document(
        title="救助申请决定书",
        number=number_of(letter),
        checksum=content_checksum({"application": letter.application_id, "approved": letter.approved, "amount": letter.amount_fen, "reviews": [[r.level, r.verdict, r.reason] for r in letter.reviews]}),
        verify_url=verify_url(code),
        facts=[
            ("申请人", f"{letter.applicant_name}（家庭人口 {letter.household_size} 人）"),
            ("所在社区", f"{letter.street_name}街道{letter.community_name}社区"),
            ("救助基金", f"{letter.fund_name}（{letter.year} 年度）"),
            ("申请金额", f"{yuan(letter.amount_fen)} 元"),
            ("申请事由", letter.reason),
            ("决定", decision),
            ("理由", last.reason if last else ""),
            ("决定时间", _when(letter.decided_at)),
        ],
        tables=[
            TableBlock(
                "审核经过",
                (Column("审核级别", 26), Column("意见", 16), Column("理由", 96), Column("时间", 32)),
                [[LEVEL_NAMES.get(r.level, r.level), VERDICT_NAMES.get(r.verdict, r.verdict), r.reason, _when(r.reviewed_at)] for r in letter.reviews],
            )
        ],
        notes=(
            "本决定经社区初审、街道审核、区审批三级审核作出。批准的救助金由区财政分批拨付至社区，由社区发放到户。",
            "如对本决定有异议，可自收到之日起 60 日内向区民政局提出复核申请。扫描二维码或访问核验地址可核验本决定书真伪。",
        ),
    )
    return await made_pdf(document, letter.amount_fen if letter.approved else 0)


async def issue_letter(session: AsyncSession, store: BlobStore, application_id: int) -> tuple[bytes, IssuedDocument]:
    """The decided application's letter as issued (made once; asked again, the same bytes)."""
    letter = await queries.letter(session, None, application_id)
    return await issue(session, store, KIND, subject_of(application_id), lambda code: _letter(letter, code))


async def issue_letter_as_decided(session: AsyncSession, store: BlobStore, application_id: int) -> None:
    """As the application is decided, in its transaction. Without a CJK font the decision stands and the letter is
    made later by POST .../letter (a download answers 409 until then)."""
    try:
        await issue_letter(session, store, application_id)
    except FontMissing:
        return


def letters_to_default_store() -> Callable[[AsyncSession, int], Awaitable[None]]:
    """Issuing letters as applications are decided outside a request (the demo loader), into the system's store."""
    store = open_blob_store(get_settings())
    return lambda session, application_id: issue_letter_as_decided(session, store, application_id)


def _file(content: bytes, name: str) -> Response[bytes]:
    return Response(content, media_type=PDF, headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private"})


class ReliefLetterController(Controller):
    """A decided application's letter: for its community (which hands it to the applicant) and the district."""

    path = "/relief/applications"
    tags = ["relief funds"]
    guards = [allow(set(queries.LETTER_READERS), "relief decision letters")]
    dependencies = {"store": Provide(provide_store, sync_to_thread=False)}  # noqa: RUF012

    @get("/{application_id:int}/letter.pdf", responses=problem_responses(400, 403, 404, 409), media_type=PDF)
    async def relief_letter(self, application_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[bytes]:
        """The decision letter as it was issued when the application was decided (409 until it is: POST issues it)."""
        letter = await queries.letter(db, principal, application_id)
        missing = Conflict(
            f"the letter of application {application_id} was not made when it was decided (no CJK font then); make it with POST /api/relief/applications/{application_id}/letter",
            zh="该申请的决定书尚未生成，请先生成决定书",
        )
        pdf, _ = await served(db, store, KIND, subject_of(application_id), missing)
        return _file(pdf, f"{number_of(letter)}.pdf")

    @post("/{application_id:int}/letter", status_code=200, responses=problem_responses(400, 403, 404, 503), media_type=PDF)
    async def issue_relief_letter(self, application_id: RecordId, principal: NamedDependency[Principal], db: NamedDependency[AsyncSession], store: NamedDependency[BlobStore]) -> Response[bytes]:
        """Issue the decided application's letter if it was not made as it was decided; one already issued is
        answered as it is."""
        letter = await queries.letter(db, principal, application_id)
        try:
            pdf, _ = await issue_letter(db, store, application_id)
        except FontMissing as missing:
            raise Unavailable(str(missing)) from None
        return _file(pdf, f"{number_of(letter)}.pdf")


# As the batch documents: /api/... for software, /documents/... for pages, under the same checks.
ROUTES = two_doors(ReliefLetterController)
