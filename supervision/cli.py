"""The `supervision` command: migrate, load the demo, serve, manage users and API keys, back up and restore."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from foundation.access import Role
from foundation.settings import ENV_PREFIX, PROJECT_ROOT, Settings, SettingsError, get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from supervision.demo_evidence import EvidenceReport

T = TypeVar("T")


def migrate(settings: Settings) -> None:
    """Bring the database schema to the newest migration (the only way the schema is made)."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = settings.database_url
    command.upgrade(config, "head")


def pending_migrations(settings: Settings) -> tuple[str | None, str, list[str]]:
    """Where the database's schema stands: its revision (None: never migrated), the newest revision this release
    has, and the revisions an upgrade would apply, oldest first."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import Connection

    script = ScriptDirectory.from_config(Config(str(PROJECT_ROOT / "alembic.ini")))
    head = script.get_current_head() or ""

    def current_of(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async def work(engine: AsyncEngine) -> str | None:
        async with engine.connect() as connection:
            return await connection.run_sync(current_of)

    current = asyncio.run(_with_engine(settings, work))
    pending = [r.revision for r in script.iterate_revisions(head, current)]
    return current, head, list(reversed(pending))


def check_migrations(settings: Settings) -> int:
    """`supervision migrate --check`: 0 when the schema is current, 1 saying how far behind it is (nothing changed)."""
    current, head, pending = pending_migrations(settings)
    if not pending:
        print(f"The database is current: revision {head}.")
        return 0
    where = f"at revision {current}" if current else "empty (never migrated)"
    print(
        f"The database is {where}, {len(pending)} migration(s) behind this release's {head}: {', '.join(pending)}. "
        "Back it up, then run `supervision migrate`.",
        file=sys.stderr,
    )
    return 1


async def _with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    from foundation.db import create_engine

    engine = create_engine(settings.database_url)
    try:
        return await work(engine)
    finally:
        await engine.dispose()


def demo(settings: Settings, evidence: bool = False) -> None:
    from supervision.demo import DEMO_PASSWORD, load_demo

    report = asyncio.run(_with_engine(settings, load_demo))
    if evidence:
        demo_evidence(settings)
    if not report.loaded:
        print("The demo district is already loaded; nothing was added.")
        print(f"Every demo user's password: {DEMO_PASSWORD}. The inspection firms' API keys were shown once, when it was loaded;")
        print("a new key in place of a firm's old one: supervision apikeys replace --organisation 天津公信第三方评估有限公司 (or its id).")
        return
    print("Loaded the demo district: 6 streets, 64 communities, 323 estates (3,844,400 m²), 24 companies, votes, contracts.")
    print(f"Every demo user's password: {DEMO_PASSWORD}")
    for username, role in report.logins:
        print(f"  {username:45} {role}")
    print("  (every community: <code>-worker and <code>-director, e.g. xbl01-worker; streets: ns-officer, ns-worker1 ...)")
    print("API keys of the third-party inspection firms (shown once; send as X-API-Key; a new one in place of the old: supervision apikeys replace):")
    for firm, key in report.api_keys.items():
        print(f"  {firm}: {key}")


def demo_evidence(settings: Settings) -> None:
    from foundation.clock import business_today
    from foundation.periods import Month
    from foundation.storage import open_blob_store
    from inspections.photos import PhotoLimits
    from supervision.demo_evidence import load_demo_month

    month = Month.of(business_today()).previous()

    async def work(engine: AsyncEngine) -> EvidenceReport:
        return await load_demo_month(engine, open_blob_store(settings), month, PhotoLimits.of(settings))

    print(f"Filing {month} of 小白楼街道 as its people would, unless it is there already (a minute or so, once) ...")
    started = time.monotonic()
    report = asyncio.run(_with_engine(settings, work))
    if report.filed:
        print(
            f"Filed {month} for 小白楼街道 through the same use cases as people do: {report.patrols} patrols, "
            f"{report.inspections} street inspections, {report.opinions} committee opinions, {report.defects} rectification "
            f"orders ({report.fixed} fixed and verified, {report.overdue} overdue); {report.scores} scores "
            f"computed ({time.monotonic() - started:.0f} s). Log in as xbl-officer to review them."
        )


def scheduler(settings: Settings) -> None:
    import signal

    from foundation.logs import configure_logging
    from supervision.scheduler import run_scheduler

    configure_logging(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_scheduler(settings, stop)

    asyncio.run(main())


def serve(settings: Settings, host: str | None, port: int | None, workers: int | None = None) -> None:
    """Serve the web app: one process, or several worker processes on one port (`web_workers`). Workers share the
    secret key (made here, before they start) and the database; a scheduler (`scheduler_in_web`) runs in this
    process only, beside the workers, never in each of them."""
    import threading

    import uvicorn

    if workers is not None and not 0 <= workers <= 64:
        raise SystemExit(f"--workers {workers}: give 1 to 64 worker processes, or 0 for one per CPU core")
    from foundation.logs import configure_logging

    count = workers or settings.resolved_web_workers()
    bind_host, bind_port = host or settings.host, port or settings.port
    # The address given here is the server's own from now on, in this process and its workers: documents' QR codes
    # and public links (public_base_url left empty) follow a changed port.
    os.environ[f"{ENV_PREFIX}HOST"], os.environ[f"{ENV_PREFIX}PORT"] = bind_host, str(bind_port)
    get_settings.cache_clear()
    settings = settings.model_copy(update={"host": bind_host, "port": bind_port})
    configure_logging(settings)
    # The workers' request counts start again with this server (a worker writes its own file: foundation.web.telemetry).
    if settings.metrics_enabled:
        shutil.rmtree(settings.var_dir / "metrics", ignore_errors=True)
    # uvicorn: on SIGTERM (or SIGINT) each worker stops accepting, finishes the requests it has begun (waiting at most
    # graceful_shutdown_seconds), then runs the app's shutdown; the access line is the app's own (with the request
    # id and the route template, not the query string); with JSON logs uvicorn's own lines go through the same handler.
    options: dict[str, Any] = {
        "host": bind_host,
        "port": bind_port,
        "log_level": settings.log_level.lower(),
        "access_log": False,
        "timeout_graceful_shutdown": settings.graceful_shutdown_seconds,
    }
    if count > 1:
        options["timeout_worker_healthcheck"] = settings.worker_healthcheck_seconds
    if settings.log_format == "json":
        options["log_config"] = None
    if count == 1:
        from supervision.app import create_app

        uvicorn.run(create_app(settings), **options)
        return
    settings.resolved_secret_key()
    # The workers read their settings as this process did, and learn how many they are (each takes its share of
    # the database connections) and that the scheduler is not theirs.
    os.environ[f"{ENV_PREFIX}WEB_WORKERS"] = str(count)
    os.environ[f"{ENV_PREFIX}SCHEDULER_IN_WEB"] = "false"
    scheduling = None
    if settings.scheduler_in_web:
        from supervision.scheduler import run_scheduler

        loop = asyncio.new_event_loop()
        stop = asyncio.Event()

        def schedule() -> None:
            loop.run_until_complete(run_scheduler(settings, stop))

        scheduling = threading.Thread(target=schedule, name="scheduler", daemon=True)
        scheduling.start()
    try:
        uvicorn.run("supervision.app:create_app", factory=True, workers=count, **options)
    finally:
        if scheduling is not None:
            loop.call_soon_threadsafe(stop.set)
            scheduling.join(timeout=30)


def ask_password() -> str:
    import getpass

    first = getpass.getpass("Password for the new user: ")
    if first != getpass.getpass("The same password again: "):
        raise SystemExit("the two passwords differ; nothing was created")
    return first


def create_user(settings: Settings, args: argparse.Namespace) -> None:
    from foundation.access import SYSTEM
    from foundation.db import create_session_factory, unit_of_work
    from people import service as people
    from people.schemas import UserCreate
    from registry import queries as registry_queries

    password = args.password or ask_password()

    async def work(engine: AsyncEngine) -> None:
        async with unit_of_work(create_session_factory(engine)) as db:
            street_id = community_id = None
            if args.street:
                street_id = next((s.id for s in await registry_queries.streets(db) if args.street in (s.code, s.name)), None)
                if street_id is None:
                    raise SystemExit(f"no street with code or name {args.street}")
            if args.community:
                community_id = next((c.id for c in (await registry_queries.communities(db)).values() if c.code == args.community), None)
                if community_id is None:
                    raise SystemExit(f"no community with code {args.community}")
            user = await people.create_user(
                db,
                SYSTEM,
                checked(
                    UserCreate, username=args.username, display_name=args.display_name or args.username, password=password, role=Role(args.role).value,
                    street_id=street_id, community_id=community_id, company_id=args.company_id, organisation_id=args.organisation_id,
                ),
            )
            print(f"created user {user.username} (id {user.id}, role {user.role})")

    asyncio.run(_with_engine(settings, work))


def checked(schema: type[T], **fields: object) -> T:
    """What a command was given, checked by the schema the API checks the same thing with (a username's pattern, a
    one-line name, a label's length): a command is no way around them. Stops with the schema's words otherwise."""
    import msgspec

    from foundation.errors import DomainError
    from foundation.one_line import check_one_line

    given = {name: value for name, value in fields.items() if value is not None}
    try:
        check_one_line(given, schema)  # a final line feed, which the schema's pattern lets through
        return msgspec.convert(given, schema)
    except msgspec.ValidationError as error:
        raise SystemExit(f"error: {error}") from None
    except DomainError as error:
        raise SystemExit(f"error: {error}") from None


def create_api_key(settings: Settings, args: argparse.Namespace) -> None:
    from foundation.access import SYSTEM
    from foundation.db import create_session_factory, unit_of_work
    from people import service as people
    from people.schemas import ApiKeyCreate

    async def work(engine: AsyncEngine) -> None:
        async with unit_of_work(create_session_factory(engine)) as db:
            key, record = await people.issue_api_key(db, SYSTEM, checked(ApiKeyCreate, organisation_id=args.organisation_id, label=args.label))
            print(f"API key {record.id} for organisation {record.organisation_id} (shown once): {key}")

    asyncio.run(_with_engine(settings, work))


def replace_api_key(settings: Settings, args: argparse.Namespace) -> int:
    """`supervision apikeys replace --organisation ORG`: a new key for a firm whose key was lost (the demo's keys are
    printed once, when it is loaded); the firm's old keys stop working in the same transaction; both are audited."""
    from foundation.access import SYSTEM
    from foundation.db import create_session_factory, unit_of_work
    from people import service as people
    from people.schemas import ApiKeyCreate
    from registry import queries as registry_queries
    from registry.queries import OrganisationKind

    async def work(engine: AsyncEngine) -> int:
        async with unit_of_work(create_session_factory(engine)) as db:
            found = [o for o in (await registry_queries.organisations(db)).values() if args.organisation in (str(o.id), o.name)]
            if len(found) != 1:
                print(f"error: no organisation with id or name {args.organisation!r}; the inspection firms:", file=sys.stderr)
                for firm in (await registry_queries.organisations(db, kind=OrganisationKind.INSPECTION_FIRM)).values():
                    print(f"  {firm.id}  {firm.name}", file=sys.stderr)
                return 1
            key, record, revoked = await people.replace_api_keys(db, SYSTEM, checked(ApiKeyCreate, organisation_id=found[0].id, label=args.label))
            for old in revoked:
                print(f"revoked API key {old.id} ({old.prefix}…, {old.label})")
            print(f"API key {record.id} for {found[0].name} (shown once; send as X-API-Key): {key}")
            return 0

    return asyncio.run(_with_engine(settings, work))


def import_spreadsheet(settings: Settings, args: argparse.Namespace) -> int:
    """`supervision import FILE`: check the file and, when every row is good and --dry-run was not given, import it in
    one transaction; 0 when clean, 1 listing every bad cell (nothing written)."""
    from assessment.service import recheck_boundary_flags
    from foundation.access import SYSTEM
    from foundation.db import create_session_factory, unit_of_work
    from registry.service import on_boundary_change
    from supervision.importing.service import ImportReport, import_file

    on_boundary_change(recheck_boundary_flags)  # as the web app does: an imported boundary re-evaluates the flags

    path: Path = args.file
    try:
        content = path.read_bytes()
    except OSError as unreadable:
        print(f"error: cannot read {path}: {unreadable.strerror}", file=sys.stderr)
        return 2
    if len(content) > settings.import_max_bytes:
        print(f"error: {path} has more than {settings.import_max_bytes} bytes (import_max_bytes); split it", file=sys.stderr)
        return 2

    async def work(engine: AsyncEngine) -> ImportReport:
        async with unit_of_work(create_session_factory(engine)) as db:
            return await import_file(db, SYSTEM, content, path.name, kind=args.kind, apply=not args.dry_run, max_rows=settings.import_max_rows)

    report = asyncio.run(_with_engine(settings, work))
    for count in report.counts:
        print(f"{count.name}（{count.kind}）: {count.rows} 行，新登记 {count.created}，已登记且相同 {count.unchanged}")
    for error in report.errors:
        print(f"{error.sheet} 第 {error.row} 行「{error.column}」: {error.reason}", file=sys.stderr)
    if report.errors:
        print(f"{len(report.errors)} 处错误，未导入任何内容（改正后再导入）。", file=sys.stderr)
        return 1
    print("已导入（同一事务）。" if report.applied else "检查通过（试导入，未写入）；去掉 --dry-run 即导入。")
    return 0


def migrate_blobs(settings: Settings, to: str) -> int:
    """Copy every blob from the store not named by `to` into the one it names, checking every hash both ways."""
    from foundation.storage import DatabaseBlobStore, copy_blobs, open_blob_store

    source_name = "file" if to == "postgresql" else "postgresql"
    try:
        source, target = open_blob_store(settings, source_name), open_blob_store(settings, to)
    except ValueError as error:
        print(f"error: {error}; set SUPERVISION_DATABASE_URL to the PostgreSQL database first", file=sys.stderr)
        return 2
    started = time.monotonic()

    def progress(count: int) -> None:
        if count % 1000 == 0:
            print(f"  {count} blobs copied and checked ({time.monotonic() - started:.0f} s)")

    try:
        report = copy_blobs(source, target, progress)
    finally:
        for store in (source, target):
            if isinstance(store, DatabaseBlobStore):
                store.close()
    for sha256 in report.damaged_in_source:
        print(f"damaged in the {source_name} store (its bytes do not hash to their name), not copied: {sha256}", file=sys.stderr)
    for sha256 in report.damaged_in_target:
        print(f"read back wrong from the {to} store: {sha256}", file=sys.stderr)
    print(f"{report.checked} blobs are in the {to} store, each read back and hashed to its name ({time.monotonic() - started:.1f} s).")
    if not report.whole:
        print("Some blobs did not move whole (above): keep blob_store as it is until they are dealt with.", file=sys.stderr)
        return 1
    print(f"Set SUPERVISION_BLOB_STORE={to} (blob_store in config/settings.toml) and restart the web workers and the scheduler.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supervision", description="Old-estate property supervision and subsidy system")
    sub = parser.add_subparsers(dest="command", required=True)
    migrate_parser = sub.add_parser("migrate", help="create or upgrade the database schema")
    migrate_parser.add_argument("--check", action="store_true", help="change nothing: exit 0 when the schema is current, 1 saying how far behind it is")
    demo_parser = sub.add_parser("demo", help="load the demo district (does nothing if it is loaded)")
    demo_parser.add_argument("--evidence", action="store_true", help="also file last month's evidence of 小白楼街道 and score it")
    sub.add_parser("scheduler", help="run the scheduled jobs (one process leads; others stand by)")
    for name, text in (("serve", "serve the web app"), ("run", "migrate, load the demo (with last month's evidence of one street), then serve")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--host")
        p.add_argument("--port", type=int)
        p.add_argument("--workers", type=int, help="web worker processes (default: the web_workers setting; 0 there: one per CPU core)")
    users = sub.add_parser("users", help="manage users").add_subparsers(dest="action", required=True)
    create = users.add_parser("create", help="add a user")
    create.add_argument("--username", required=True)
    create.add_argument("--password", help="omit to be asked for it (a password on the command line is visible to other users)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--display-name")
    create.add_argument("--street", help="street code or name (street roles)")
    create.add_argument("--community", help="community code (community roles)")
    create.add_argument("--company-id", type=int)
    create.add_argument("--organisation-id", type=int)
    importing = sub.add_parser(
        "import",
        help="import streets, communities, estates, companies, social organisations or users from an XLSX or CSV file",
        description="Each sheet titled as a template (街道, 社区, 物业企业, 社会组织, 片区, 用户) or a CSV file with --kind. Every bad cell is "
        "listed and nothing is written; a clean file is imported in one transaction; rows already registered with the same facts are left alone.",
    )
    importing.add_argument("file", type=Path)
    importing.add_argument("--kind", help="streets | communities | companies | social_organisations | estates | users (a CSV file, or a sheet with another title)")
    importing.add_argument("--dry-run", action="store_true", help="check only: list every bad row and cell, write nothing")
    keys = sub.add_parser("apikeys", help="API keys of third-party organisations").add_subparsers(dest="action", required=True)
    issue = keys.add_parser("create", help="issue a key")
    issue.add_argument("--organisation-id", type=int, required=True)
    issue.add_argument("--label", required=True)
    replace = keys.add_parser("replace", help="a new key for an organisation in place of the ones it holds (revoked at once; audited)")
    replace.add_argument("--organisation", required=True, help="the organisation's id or full name, e.g. 天津公信第三方评估有限公司")
    replace.add_argument("--label", default="replacement key")
    jobs = sub.add_parser("jobs", help="scheduled jobs: list them, run one now").add_subparsers(dest="action", required=True)
    jobs.add_parser("list", help="every job with its schedule and last run")
    run_one = jobs.add_parser("run", help="run a job now (once per period: a period already done is skipped)")
    run_one.add_argument("name")
    run_one.add_argument("--period", help="e.g. 2026-10 for monthly jobs; default: the period the job would work on now")
    backup = sub.add_parser("backup", help="copy the database and the blob store, with a manifest of sha256s, into a new folder")
    backup.add_argument("folder", type=Path, help="a new or empty folder")
    restore = sub.add_parser("restore", help="check a backup's manifest and restore it into an empty database and blob store")
    restore.add_argument("folder", type=Path, help="a folder `supervision backup` made")
    blobs = sub.add_parser("blobs", help="the blob store (photos, issued documents)").add_subparsers(dest="action", required=True)
    move = blobs.add_parser("migrate", help="copy every blob from the other store into the one named, checking every hash")
    move.add_argument("--to", required=True, choices=["postgresql", "file"], help="the store to fill (the other one is read)")
    audit = sub.add_parser("audit", help="the audit log").add_subparsers(dest="action", required=True)
    audit.add_parser("verify", help="walk the log's hash chain and name the first entry changed, deleted or inserted behind the application")
    spot = sub.add_parser("spotcheck", help="third-party inspection firms: file spot checks").add_subparsers(dest="action", required=True)
    submit = spot.add_parser(
        "submit",
        help="file a spot check described by a JSON file",
        description=(
            "FILE holds {\"estate_code\" (or \"estate_id\"), \"inspected_at\": \"2026-10-12T09:30:00+08:00\", "
            "\"results\": [{\"item\": \"C01\", \"passed\": false, \"note\": \"...\", \"photos\": [\"c01.jpg\"]}], "
            "\"note\", \"location\": {\"latitude\", \"longitude\"}}. Photos are paths relative to FILE. Submitting "
            "the same file again files nothing new."
        ),
    )
    submit.add_argument("file", type=Path)
    submit.add_argument("--url", default=os.environ.get("SUPERVISION_API_URL", "http://127.0.0.1:8000"), help="the system's address (env SUPERVISION_API_URL)")
    submit.add_argument("--api-key", default=os.environ.get("SUPERVISION_API_KEY"), help="the firm's API key (env SUPERVISION_API_KEY)")
    return parser


def verify_audit(settings: Settings) -> int:
    """Walk the audit log's hash chain; 0 when it holds, 1 naming the first entry that does not."""
    from foundation.audit import ChainReport, verify_chain

    async def work(engine: AsyncEngine) -> ChainReport:
        async with engine.connect() as connection:
            return await connection.run_sync(verify_chain)

    report = asyncio.run(_with_engine(settings, work))
    if report.holds:
        print(f"The audit log's chain holds: {report.checked} entries, head {report.head_seq} {report.head_sha256}")
        return 0
    where = f"entry {report.broken_entry_id}" if report.broken_entry_id is not None else "the chain's head"
    seal = f" (seal {report.broken_seq})" if report.broken_seq is not None else ""
    print(f"The audit log's chain is broken at {where}{seal}: {report.problem}. {report.checked} entries before it hold.", file=sys.stderr)
    return 1


def back_up(settings: Settings, folder: Path) -> None:
    from supervision.backup import back_up as make_backup

    report = asyncio.run(make_backup(settings, folder))
    print(
        f"Backed up the {report.dialect} database (migration {report.revision}), {report.blobs} blobs and {report.derived} "
        f"derived copies into {report.folder} ({report.bytes:,} bytes; manifest.json lists every file's sha256)."
    )


def restore(settings: Settings, folder: Path) -> None:
    from supervision.backup import restore as restore_backup

    report = asyncio.run(restore_backup(settings, folder))
    print(
        f"Restored the {report.dialect} database (migration {report.revision}), {report.blobs} blobs and {report.derived} "
        f"derived copies from {folder}. Run `supervision migrate` if this release is newer than the backup. The secret "
        f"key and personal_data_key are not in a backup: give this system the ones of the system backed up."
    )


def manage_jobs(settings: Settings, args: argparse.Namespace) -> int:
    from foundation.clock import BUSINESS_TZ, utc_now
    from foundation.db import create_session_factory
    from foundation.jobs import NotDue
    from supervision.schedule import JOBS, last_runs, next_run, run_now

    async def work(engine: AsyncEngine) -> int:
        factory = create_session_factory(engine)
        if args.action == "list":
            async with factory() as session:
                last = await last_runs(session)
            for job in JOBS:
                run = last.get(job.name)
                when = run.started_at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if run else "never"
                cron = " ".join(f"{k}={v}" for k, v in job.cron.items())
                outcome = f"{run.period} {run.state}" if run else ""
                upcoming = next_run(job, utc_now())
                following = upcoming.strftime("%Y-%m-%d %H:%M") if upcoming else "never"
                print(f"{job.name:34} {cron:28} next: {following}  last: {when} {outcome}  {job.description}")
            return 0
        try:
            run = await run_now(factory, args.name, args.period, utc_now())
        except (KeyError, NotDue, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"{run.job} {run.period}: {run.state} {run.result or run.error or ''}")
        return 0 if run.state == "done" else 1

    return asyncio.run(_with_engine(settings, work))


def submit_spot_check(args: argparse.Namespace) -> int:
    from inspections.client import InspectorApiError, InspectorClient, submit_file

    if not args.api_key:
        print("error: give the firm's API key with --api-key or SUPERVISION_API_KEY", file=sys.stderr)
        return 2
    with InspectorClient(args.url, args.api_key) as client:
        try:
            record = submit_file(client, args.file)
        except (InspectorApiError, ValueError, OSError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    print(f"filed spot check {record['id']} of {record['estate_name']} ({record['inspected_at']}); client id {record['client_id']}")
    for defect_id in record["defect_ids"]:
        print(f"  defect {defect_id} raised")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "spotcheck":
        return submit_spot_check(args)  # talks to a running system over HTTP; needs no local settings
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from foundation.errors import DomainError

    try:
        if args.command == "migrate":
            if args.check:
                return check_migrations(settings)
            migrate(settings)
        elif args.command == "demo":
            demo(settings, evidence=args.evidence)
        elif args.command == "serve":
            serve(settings, args.host, args.port, args.workers)
        elif args.command == "run":
            migrate(settings)
            demo(settings, evidence=True)
            # One machine: the web process runs the scheduler as well (a separate `supervision scheduler` is
            # safe beside it: only one leads).
            serve(settings.model_copy(update={"scheduler_in_web": True}), args.host, args.port, args.workers)
        elif args.command == "scheduler":
            scheduler(settings)
        elif args.command == "users":
            create_user(settings, args)
        elif args.command == "apikeys":
            if args.action == "replace":
                return replace_api_key(settings, args)
            create_api_key(settings, args)
        elif args.command == "import":
            return import_spreadsheet(settings, args)
        elif args.command == "jobs":
            return manage_jobs(settings, args)
        elif args.command == "audit":
            return verify_audit(settings)
        elif args.command == "backup":
            back_up(settings, args.folder)
        elif args.command == "restore":
            restore(settings, args.folder)
        elif args.command == "blobs":
            return migrate_blobs(settings, args.to)
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
