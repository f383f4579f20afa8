"""The app factory: wires every package's routes, the error mapper, authentication, CSRF and templates."""

from __future__ import annotations

import asyncio
from pathlib import Path

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging.config import LoggingConfig
from litestar.middleware.base import DefineMiddleware
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme, Tag
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from sqlalchemy.ext.asyncio import AsyncEngine

from assessment.pages import PAGES as ASSESSMENT_PAGES
from assessment.routes import ROUTES as ASSESSMENT_ROUTES
from assessment.service import lifecycle_days, recheck_boundary_flags, scoring_rules
from community.calls.pages import PAGES as CALL_PAGES
from community.calls.routes import ROUTES as CALL_ROUTES
from community.delivery.pages import PAGES as DELIVERY_PAGES
from community.delivery.routes import ROUTES as DELIVERY_ROUTES
from community.evaluation.pages import PAGES as EVALUATION_PAGES
from community.evaluation.routes import ROUTES as EVALUATION_ROUTES
from community.needs.pages import PAGES as NEEDS_PAGES
from community.needs.routes import ROUTES as NEEDS_ROUTES
from community.needs.service import needs_rules
from community.ocds.config import publication_rules
from community.ocds.pages import PAGES as OCDS_PAGES
from community.ocds.routes import ROUTES as OCDS_ROUTES
from community.volunteers.pages import PAGES as VOLUNTEER_PAGES
from community.volunteers.routes import ROUTES as VOLUNTEER_ROUTES
from community.volunteers.service import volunteer_rules
from community.wristbands.pages import PAGES as WRISTBAND_PAGES
from community.wristbands.service import wristband_rules
from complaints.pages import PAGES as COMPLAINT_PAGES
from complaints.routes import ROUTES as COMPLAINT_ROUTES
from complaints.service import complaint_rules
from foundation.calendar.routes import ROUTES as CALENDAR_ROUTES
from foundation.channels import dispatch_settings_of, route_notices_by, run_dispatcher
from foundation.db import create_engine, create_session_factory, looking_up, writing
from foundation.logs import configure_logging
from foundation.sealing import Sealer
from foundation.settings import Settings, get_settings
from foundation.storage import DatabaseBlobStore, open_blob_store
from foundation.web.admission import NEVER_HELD_BACK, Admission, AdmissionMiddleware
from foundation.web.auth import API_KEY_HEADER, provide_principal
from foundation.web.filters import register_filters
from foundation.web.flash import forget_shown_flash, register_flash
from foundation.web.inputs import check_request_text
from foundation.web.openapi import declare_binary_responses, operation_id, render_plugins
from foundation.web.params import dependencies_in_turn, provide_paging
from foundation.web.problems import EXCEPTION_HANDLERS
from foundation.web.security import register_csp_nonce, security_headers
from foundation.web.sessions import end_request_transaction, provide_db
from foundation.web.system_routes import ROUTES as SYSTEM_ROUTES
from foundation.web.telemetry import RequestMetrics, RequestTelemetry
from inspections.config import load_all as load_inspection_rules
from inspections.pages import PAGES as INSPECTION_PAGES
from inspections.routes import ROUTES as INSPECTION_ROUTES
from people import queries as people_queries
from people.auth import CredentialsMiddleware
from people.names import name_people_on_pages
from people.routes import ROUTES as PEOPLE_ROUTES
from registry.pages import PAGES as REGISTRY_PAGES
from registry.routes import ROUTES as REGISTRY_ROUTES
from registry.service import on_boundary_change
from reports.activity_statements import ROUTES as ACTIVITY_STATEMENT_ROUTES
from reports.programme_documents import issue_programme_batch_documents
from reports.relief_letters import ROUTES as RELIEF_LETTER_ROUTES
from reports.relief_letters import issue_letter_as_decided
from reports.routes import ROUTES as REPORT_ROUTES
from reports.service import issue_batch_documents, prepare_batch_documents
from subsidies.activity.pages import PAGES as ACTIVITY_PAGES
from subsidies.activity.routes import ROUTES as ACTIVITY_ROUTES
from subsidies.activity.service import fund_rules
from subsidies.care.pages import PAGES as CARE_PAGES
from subsidies.care.routes import ROUTES as CARE_ROUTES
from subsidies.engine.routes import ROUTES as PROGRAMME_ROUTES
from subsidies.property.cards import configured_cards
from subsidies.property.pages import PAGES as SUBSIDY_PAGES
from subsidies.property.routes import ROUTES as SUBSIDY_ROUTES
from subsidies.relief.pages import PAGES as RELIEF_PAGES
from subsidies.relief.routes import ROUTES as RELIEF_ROUTES
from subsidies.relief.service import relief_rules
from supervision.account_pages import PAGES as ACCOUNT_PAGES
from supervision.finance_pages import PAGES as FINANCE_PAGES
from supervision.importing.pages import PAGES as IMPORT_PAGES
from supervision.metrics import ROUTES as METRICS_ROUTES
from supervision.operations import ROUTES as OPERATION_ROUTES
from supervision.pages import PAGES as SHELL_PAGES
from supervision.publishers import subscribe_all as subscribe_publishers

ROOT_DIR = Path(__file__).resolve().parents[1]
WEB_DIR = ROOT_DIR / "foundation" / "web"
# Every package that has pages brings its templates; the shell's layout (base.html) is the ground's.
TEMPLATE_DIRS = [
    WEB_DIR / "templates",
    ROOT_DIR / "supervision" / "templates",
    ROOT_DIR / "registry" / "templates",
    ROOT_DIR / "inspections" / "templates",
    ROOT_DIR / "complaints" / "templates",
    ROOT_DIR / "assessment" / "templates",
    ROOT_DIR / "subsidies" / "engine" / "templates",
    ROOT_DIR / "subsidies" / "property" / "templates",
    ROOT_DIR / "subsidies" / "activity" / "templates",
    ROOT_DIR / "subsidies" / "care" / "templates",
    ROOT_DIR / "subsidies" / "relief" / "templates",
    ROOT_DIR / "reports" / "templates",
    ROOT_DIR / "community" / "ocds" / "templates",
    ROOT_DIR / "community" / "needs" / "templates",
    ROOT_DIR / "community" / "calls" / "templates",
    ROOT_DIR / "community" / "volunteers" / "templates",
    ROOT_DIR / "community" / "delivery" / "templates",
    ROOT_DIR / "community" / "evaluation" / "templates",
    ROOT_DIR / "community" / "wristbands" / "templates",
]


def configure_templates(engine: JinjaTemplateEngine) -> None:
    register_filters(engine)
    register_csp_nonce(engine)
    register_flash(engine)


# A multipart form's text fields, part headers and boundaries around its files.
FORM_ENVELOPE_BYTES = 1024 * 1024
# The wristband register form carries the signed consent form and the elder's photo, each up to attachment_max_bytes.
WRISTBAND_FORM_FILES = 2


def largest_request_bytes(settings: Settings) -> int:
    """The request size limit: the largest form any page or operation takes, its most files at their per-file limits
    (settings and config/*.toml), plus the envelope. Below it, a form a person filled as told would be refused whole."""
    relief = relief_rules()
    forms = (
        settings.attachment_max_bytes,  # one photo: patrols, delivery logs, appeals, the API's attachments
        complaint_rules().max_photos * settings.attachment_max_bytes,  # the public complaint report
        WRISTBAND_FORM_FILES * settings.attachment_max_bytes,
        relief.documents_max * relief.document_max_bytes,  # a relief application with its supporting documents
        fund_rules().receipt_max_bytes,
        settings.import_max_bytes * 4 // 3 + 4,  # an import's confirmation carries the file back in base64
    )
    return max(forms) + FORM_ENVELOPE_BYTES


def create_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings)
    state = State({"settings": settings})
    own_engine = engine is None
    state.engine = engine or create_engine(settings.database_url, workers=max(1, settings.web_workers))
    state.session_factory = create_session_factory(state.engine)
    state.write_session_factory = create_session_factory(writing(state.engine))
    state.lookup = looking_up(state.engine).connect  # who is calling (people.auth): a bare connection, one read
    state.blob_store = open_blob_store(settings)
    state.request_metrics = RequestMetrics(settings.var_dir / "metrics") if settings.metrics_enabled else None
    # A batch's documents are made as it is issued (the money package cannot import the documents above it).
    state.make_batch_documents = lambda session, batch, prepared=None: issue_batch_documents(session, state.blob_store, batch, prepared)
    state.prepare_batch_documents = prepare_batch_documents
    state.make_programme_batch_documents = lambda session, batch: issue_programme_batch_documents(session, state.blob_store, batch)
    state.make_relief_letter = lambda session, application_id: issue_letter_as_decided(session, state.blob_store, application_id)
    load_inspection_rules()
    scoring_rules()
    lifecycle_days()
    configured_cards()
    publication_rules()
    subscribe_publishers()
    needs_rules()
    volunteer_rules()
    relief_rules()
    wristband_rules()
    route_notices_by(people_queries.communities_of)
    on_boundary_change(recheck_boundary_flags)
    complaint_rules()

    async def start_scheduler(app: Litestar) -> None:
        if settings.scheduler_in_web:
            from supervision.scheduler import run_scheduler

            app.state.scheduler_stop = asyncio.Event()
            app.state.scheduler_task = asyncio.create_task(run_scheduler(settings, app.state.scheduler_stop, engine=app.state.engine))
        if settings.channel_dispatch_in_web:  # messages to channels outside the system, sent after their request ended
            app.state.dispatch_stop = asyncio.Event()
            app.state.dispatch_task = asyncio.create_task(
                run_dispatcher(app.state.write_session_factory, app.state.session_factory, Sealer(settings.resolved_personal_data_key()), dispatch_settings_of(settings), app.state.dispatch_stop, settings.channel_poll_seconds)
            )

    async def dispose_engine(app: Litestar) -> None:
        if getattr(app.state, "dispatch_task", None) is not None:
            app.state.dispatch_stop.set()
            await app.state.dispatch_task
        if app.state.request_metrics is not None:
            app.state.request_metrics.flush()
        if getattr(app.state, "scheduler_task", None) is not None:
            app.state.scheduler_stop.set()
            await app.state.scheduler_task
        if own_engine:
            await app.state.engine.dispose()
            if isinstance(app.state.blob_store, DatabaseBlobStore):
                await asyncio.to_thread(app.state.blob_store.close)

    app = Litestar(
        route_handlers=[
            *SYSTEM_ROUTES,
            *CALENDAR_ROUTES,
            *PEOPLE_ROUTES,
            *REGISTRY_ROUTES,
            *INSPECTION_ROUTES,
            *COMPLAINT_ROUTES,
            *ASSESSMENT_ROUTES,
            *SUBSIDY_ROUTES,
            *PROGRAMME_ROUTES,
            *ACTIVITY_ROUTES,
            *ACTIVITY_STATEMENT_ROUTES,
            *CARE_ROUTES,
            *RELIEF_ROUTES,
            *RELIEF_LETTER_ROUTES,
            *REPORT_ROUTES,
            *NEEDS_ROUTES,
            *OPERATION_ROUTES,
            *OCDS_ROUTES,
            *CALL_ROUTES,
            *VOLUNTEER_ROUTES,
            *DELIVERY_ROUTES,
            *EVALUATION_ROUTES,
            *SHELL_PAGES,
            *ACCOUNT_PAGES,
            *FINANCE_PAGES,
            *IMPORT_PAGES,
            *REGISTRY_PAGES,
            *INSPECTION_PAGES,
            *COMPLAINT_PAGES,
            *ASSESSMENT_PAGES,
            *SUBSIDY_PAGES,
            *OCDS_PAGES,
            *NEEDS_PAGES,
            *ACTIVITY_PAGES,
            *CALL_PAGES,
            *DELIVERY_PAGES,
            *EVALUATION_PAGES,
            *CARE_PAGES,
            *VOLUNTEER_PAGES,
            *RELIEF_PAGES,
            *WRISTBAND_PAGES,
            *(METRICS_ROUTES if settings.metrics_enabled else []),
            create_static_files_router(path="/static", directories=[WEB_DIR / "static"], include_in_schema=False, opt=NEVER_HELD_BACK),
        ],
        dependencies={
            "db": Provide(provide_db),
            "principal": Provide(provide_principal),
            "paging": Provide(provide_paging),
        },
        # Requests at once and the cheapest first (foundation.web.admission), then who is asking.
        middleware=[
            DefineMiddleware(AdmissionMiddleware, admission=Admission(settings.web_requests_at_once)),
            DefineMiddleware(CredentialsMiddleware, exclude=["^/static", "^/schema"]),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=check_request_text,
        csrf_config=CSRFConfig(
            secret=settings.resolved_secret_key(),
            exclude=["^/api/", "^/health", "^/schema"],
            cookie_name="supervision_csrf",
            cookie_samesite="strict",
            cookie_secure=settings.cookie_secure,
        ),
        template_config=TemplateConfig(
            directory=[*TEMPLATE_DIRS], engine=JinjaTemplateEngine, engine_callback=configure_templates
        ),
        openapi_config=OpenAPIConfig(
            title="Old-estate property supervision",
            version="0.1.0",
            description=(
                "Registry of who manages what (estates, companies, resident votes, committee contracts) for the "
                "supervision of quasi-property management and its subsidy. Errors are RFC 9457 problem documents (GeoReport v2's error list under /api/open311/v2/)."
            ),
            tags=[Tag(name="registry"), Tag(name="inspections"), Tag(name="assessment"), Tag(name="subsidies"), Tag(name="programmes"), Tag(name="documents"), Tag(name="people"), Tag(name="calls"), Tag(name="delivery"), Tag(name="evaluation"), Tag(name="ocds"), Tag(name="complaints"), Tag(name="open311"), Tag(name="system")],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(type="http", scheme="bearer", description="POST /api/auth/login"),
                    "ApiKey": SecurityScheme(type="apiKey", name=API_KEY_HEADER, security_scheme_in="header"),
                }
            ),
            security=[{"BearerToken": []}, {"ApiKey": []}],
            operation_id_creator=operation_id,
            render_plugins=render_plugins(),
        ),
        state=state,
        # The largest form the system offers, with its files at their limits, plus its multipart envelope.
        request_max_body_size=largest_request_bytes(settings),
        on_startup=[start_scheduler],
        on_shutdown=[dispose_engine],
        # The request's transaction ends as its answer starts (committed on success); security headers on every
        # answer, whichever handler, error mapper or static router made it.
        before_send=[end_request_transaction, security_headers(settings), forget_shown_flash()],
        after_request=name_people_on_pages(state),  # people on pages by name and post, one look-up a page
        debug=settings.debug,
        # One logging set-up for every process (foundation.logs: level, text or JSON, request ids); Litestar's own
        # logger writes through it instead of configuring the root logger at INFO with a format of its own.
        logging_config=LoggingConfig(configure_root_logger=False, loggers={"litestar": {"level": settings.log_level, "handlers": [], "propagate": True}}),
    )
    declare_binary_responses(app)
    dependencies_in_turn(app)
    # Around the whole app, unknown addresses included: request ids, access lines, request metrics.
    app.asgi_handler = RequestTelemetry(app.asgi_handler, state.request_metrics)
    return app
