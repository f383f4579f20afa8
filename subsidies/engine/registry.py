"""The programmes the engine pays for, registered by their own packages (the engine imports none of them): each
brings its approval steps, its payers, how it prices a period into lines and how its documents describe a line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from foundation.access import Principal, Role
from foundation.errors import NotFound
from subsidies.engine.rules import LineDraft, Party, PayerSplit, ProgrammeRuleError, Step, check_steps

if TYPE_CHECKING:
    from subsidies.engine.tables import ProgrammeBatch, ProgrammeRun

BUDGET_KINDS = ("none", "programme", "holder")


@dataclass(frozen=True)
class Priced:
    """A period priced by a programme: the version (hash) of the rules used and the lines."""

    rules_sha256: str
    lines: Sequence[LineDraft]
    detail: object = None  # what else the programme keeps of its pricing (its `keep_detail` is handed it)


@dataclass(frozen=True)
class Payers:
    """Who pays a programme's lines: the city's share (0 when the district pays alone) and the rounding rule."""

    city_share: Fraction
    split: PayerSplit


@dataclass(frozen=True)
class LineView:
    """A stored line as the documents see it."""

    id: int
    key: str
    payee: Party
    holder: Party
    beneficiary: Party
    period: str
    amount_fen: int
    city_fen: int
    district_fen: int
    reason: str
    evidence: str


@dataclass(frozen=True)
class DocumentColumn:
    title: str
    width: float  # mm
    numeric: bool = False


@dataclass(frozen=True)
class DescribedLine:
    """A line in a programme's own words: its cells in the PDFs (one per column) and its row in the spreadsheet."""

    cells: Sequence[str]
    sheet: Sequence[object]


Describer = Callable[[AsyncSession, Sequence[LineView]], Awaitable[dict[int, DescribedLine]]]
Namer = Callable[[AsyncSession, Collection[Party]], Awaitable[dict[Party, str]]]
# Makes and keeps an issued batch's documents (reports.programme_documents, which sits above the engine): what the
# routes do through the app's state once a batch is issued; a loader outside a request is handed one.
BatchDocumentMaker = Callable[[AsyncSession, "ProgrammeBatch"], Awaitable[None]]


@dataclass(frozen=True)
class Documents:
    """How a programme's batch documents read (Simplified Chinese): titles, the columns of a line, the spreadsheet's
    headers before the three amount columns, and the notes printed under the summary."""

    summary_title: str
    notice_title: str
    sheet_title: str
    columns: Sequence[DocumentColumn]
    sheet_headers: Sequence[str]
    describe: Describer
    holder_title: str = "归属"
    payee_title: str = "收款方"
    notes: Sequence[str] = ()


async def as_decided(session: AsyncSession, key: str, priced_fen: int) -> int:
    """`most_for_line` of a programme whose line pays what someone decided (a relief case as its review approved it,
    an activity claim as it was approved): an adjustment may recover, never pay past the decision; paying more
    needs a new decision through the programme's own review. The engine's default."""
    return priced_fen


async def without_limit(session: AsyncSession, key: str, priced_fen: int) -> None:
    """`most_for_line` of a programme whose lines are priced by rules that can be applied wrongly (a line priced on
    the wrong figures): a correction may pay more than the line was priced at."""
    return None


@dataclass(frozen=True)
class Programme:
    """A programme: its code (in URLs and rows), name, who runs it, its approval steps, its payers, its budget kind
    (none; one per year; one per year and holder) and the callables that price a period and name its parties."""

    code: str
    name: str
    number_prefix: str  # batch numbers: PREFIX-period-NNN
    steps: Sequence[Step]
    runs_by: frozenset[Role]  # who starts and recomputes runs and issues batches
    payers: Callable[[], Payers]
    price: Callable[[AsyncSession, str], Awaitable[Priced]]
    check_period: Callable[[str], str]  # the period in canonical form, or a RuleViolation/InvalidInput
    names: Namer
    documents: Documents
    holder_of: Callable[[Principal], Party | None] = field(default=lambda principal: None)
    budget: str = "none"
    reads: frozenset[Role] = frozenset({Role.FINANCE, Role.ADMIN})  # who sees the runs besides the approvers
    page: str = ""  # the programme's own page, where finance starts, approves and issues its runs
    # The most a line may pay in all under the programme's rules (line key, amount it was priced at → fen; None: no
    # limit): an adjustment never pays past it. By default what the line was priced at (a relief case as its review
    # approved it, a voucher's face value, a contract's tranche): a correction recovers, or restores what was
    # recovered; a programme whose lines may be priced too low says so with `without_limit`.
    most_for_line: Callable[[AsyncSession, str, int], Awaitable[int | None]] = as_decided
    # The programme's own record of a line's money (a fund's balance held in its own tables) following an
    # adjustment, in the adjustment's transaction: (line key, what the adjustment pays (+) or recovers (-) in fen).
    adjusted: Callable[[AsyncSession, Sequence[tuple[str, int]]], Awaitable[None]] | None = None
    # Raises (a RuleViolation saying why) when the programme's own records cannot follow such an adjustment (a fund
    # spent since cannot give back what a restoring correction pays): asked as the correction is proposed, so that
    # nobody approves what cannot be issued.
    adjustable: Callable[[AsyncSession, Sequence[tuple[str, int]]], Awaitable[None]] | None = None
    # Where the budgets come from when the programme opens them itself, mirrored in its own tables (e.g.
    # "config/relief.toml"): the engine's generic budget route does not change them, or the two would disagree.
    budget_source: str = ""
    # The page of one run, "{run}" standing for its id (e.g. "/subsidies/runs/{run}"), where those asked to approve
    # it are sent; by default the programme's page.
    run_page: str = ""
    # How a run is named in the notices asking for its steps, "{period}" standing for its period in words; by default
    # the programme's name, the period and 核算.
    run_title: str = ""
    # The programme's own record of a run's pricing beside the engine's lines (e.g. each line's facts, what could not
    # be paid yet): kept as the run is priced, with each line key's line id, and forgotten before it is priced again.
    keep_detail: Callable[[AsyncSession, "ProgrammeRun", Priced, Mapping[str, int]], Awaitable[None]] | None = None
    forget_detail: Callable[[AsyncSession, int], Awaitable[None]] | None = None
    # The city's share of what a line pays in all, when it is not the programme's one share (the property subsidy's
    # is the rate card's in force for the line's month): (line key, line period) → share. Corrections are split by it.
    line_city_share: Callable[[AsyncSession, str, str], Awaitable[Fraction]] | None = None
    # Raises (a RuleViolation saying why, in the programme's words) when a line cannot be corrected to pay that much
    # in all (line id, line key, fen): asked beside `most_for_line`.
    check_correction: Callable[[AsyncSession, int, str, int], Awaitable[None]] | None = None
    # Who took any of these actions (the engine's names, "programme_run.started" …) on a run under an id it had
    # before it moved onto the engine, as the audit log names it: user ids, kept from the run's steps as its makers
    # are (separation of duties).
    earlier_makers: Callable[[AsyncSession, int, Sequence[str]], Awaitable[set[int]]] | None = None
    # The payees' bank accounts are kept on their registry rows (the property companies'), not among the engine's
    # payee accounts: the finance desk does not ask for them.
    accounts_in_registry: bool = False

    def title_of(self, period_words: str) -> str:
        return self.run_title.format(period=period_words) if self.run_title else f"{self.name}{period_words}核算"

    def link_of(self, run_id: int) -> str:
        return self.run_page.format(run=run_id) if self.run_page else self.page or "/programmes"

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise NotFound(f"approval step of {self.code}", name)

    @property
    def final_state(self) -> str:
        return self.steps[-1].state_after


def sheet_headers(documents: Documents) -> tuple[str, ...]:
    """The treasury spreadsheet's headers: the batch, the holder, the payee and its account, the programme's own
    columns, the amounts."""
    return ("批次编号", documents.holder_title, documents.payee_title, "开户银行", "银行账号", *documents.sheet_headers, "金额（元）", "市级（元）", "区级（元）")


_PROGRAMMES: dict[str, Programme] = {}


def register(programme: Programme) -> Programme:
    """Make a programme known to the engine (its package calls this once, on import); registering the same code
    again replaces it (a test may redefine its programme)."""
    check_steps(programme.steps)
    if programme.budget not in BUDGET_KINDS:
        raise ProgrammeRuleError(f"{programme.code}: budget is one of {', '.join(BUDGET_KINDS)}")
    if not programme.code.isidentifier() or len(programme.code) > 30:
        raise ProgrammeRuleError(f"{programme.code!r}: a programme code is a short identifier")
    headers = sheet_headers(programme.documents)
    if len(set(headers)) != len(headers):
        repeated = sorted({h for h in headers if headers.count(h) > 1})
        raise ProgrammeRuleError(f"{programme.code}: the treasury spreadsheet names a column twice ({', '.join(repeated)}); the holder and payee have their own columns")
    _PROGRAMMES[programme.code] = programme
    return programme


def programme(code: str) -> Programme:
    found = _PROGRAMMES.get(code)
    if found is None:
        raise NotFound("programme", code)
    return found


def programmes() -> list[Programme]:
    return [_PROGRAMMES[code] for code in sorted(_PROGRAMMES)]
