"""The OpenAPI document for other software: short operation ids from one rule, downloads declared as binary, and the
page at /schema that lists the operations (served by us, with no script, so it works offline under the strict
Content-Security-Policy; the machine-readable document is /schema/openapi.json)."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar.enums import MediaType
from litestar.exceptions import ImproperlyConfiguredException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.types import Method

# Handlers whose own name would be ambiguous (two handlers share it) or would not say what the operation does
# in a generated client; every other operation's id is its handler's name in camelCase. Keys are the handler's
# module and qualified name; the test of the document fails on a key that no longer names a handler.
OPERATION_IDS: dict[str, str] = {
    "subsidies.property.routes.SubsidyController.run": "getRun",
    "subsidies.property.routes.SubsidyController.runs": "listRuns",
    "subsidies.property.routes.SubsidyController.lines": "listRunLines",
    "subsidies.property.routes.SubsidyController.batch": "getBatch",
    "subsidies.property.routes.SubsidyController.approve": "approveRun",
    "subsidies.property.routes.SubsidyController.confirm": "confirmRun",
    "subsidies.property.routes.SubsidyController.recompute": "recomputeRun",
    "subsidies.property.routes.SubsidyController.adjust": "adjustBatch",
    "subsidies.property.routes.SubsidyController.rate_cards": "listRateCards",
    "supervision.operations.JobController.jobs": "listJobs",
    "supervision.operations.JobController.run": "runJob",
    "supervision.operations.JobController.runs": "listJobRuns",
    "supervision.operations.NotificationController.mine": "listNotifications",
    "supervision.operations.NotificationController.read": "markNotificationRead",
    "registry.routes.SummaryController.summary": "registrySummary",
    "assessment.routes.AssessmentController.scores": "listScores",
    "assessment.routes.AssessmentController.score": "listScoreVersions",
    "assessment.routes.AssessmentController.vetoes": "listVetoes",
    "assessment.routes.AssessmentController.veto": "getVeto",
    "assessment.routes.AssessmentController.appeals": "listAppeals",
    "assessment.routes.AssessmentController.opinions": "listOpinions",
    "assessment.routes.AssessmentController.compute": "computeMonth",
    "assessment.routes.AssessmentController.lock": "lockMonth",
    "inspections.routes.AttachmentController.content": "downloadAttachment",
    "inspections.routes.AttachmentController.info": "getAttachmentInfo",
    "inspections.routes.AttachmentController.upload": "uploadAttachment",
    "inspections.routes.SpotCheckController.draw": "drawSpotChecks",
    "inspections.routes.SpotCheckController.assignments": "listSpotCheckAssignments",
    "inspections.routes.CoverageController.coverage": "patrolCoverage",
    "reports.routes.BatchDocumentController.summary": "downloadBatchSummary",
    "reports.routes.BatchDocumentController.notice": "downloadPaymentNotice",
    "reports.routes.BatchDocumentController.lines": "downloadBatchLines",
    "reports.routes.EstateReportController.report": "downloadEstateReport",
    "reports.routes.VerificationController.by_code": "verifyByCode",
    "reports.routes.VerificationController.by_content": "verifyByContent",
}


def handler_key(route_handler: HTTPRouteHandler) -> str:
    return f"{route_handler.fn.__module__}.{route_handler.fn.__qualname__}"


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def operation_id(route_handler: HTTPRouteHandler, http_method: Method | str, path_components: list[Any]) -> str:
    """The operation id: from the handler alone (never its path or method), so a route moved or added elsewhere
    leaves every other id as it was. Litestar refuses to start on a duplicate."""
    return OPERATION_IDS.get(handler_key(route_handler)) or camel_case(route_handler.handler_name)


def _is_textual(media_type: str) -> bool:
    kind = media_type.split(";", 1)[0].strip().lower()
    return kind.startswith("text/") or kind == "application/json" or kind.endswith("+json")


def declare_binary_responses(app: Litestar) -> None:
    """Every success answer that is neither JSON nor text (PDF, XLSX, photos) is bytes: `type: string,
    format: binary` with its media type, so generated clients return the bytes instead of dropping the route.
    Run once on the finished app; the document is built here and served as it is."""
    for path_item in (app.openapi_schema.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(path_item, method, None)
            if operation is None or not operation.responses:
                continue
            for status, response in operation.responses.items():
                if not status.startswith("2") or not getattr(response, "content", None):  # a Reference has none
                    continue
                for media_type, media in response.content.items():
                    schema = media.schema
                    if _is_textual(media_type) or not isinstance(schema, Schema) or schema.type != OpenAPIType.STRING:
                        continue
                    schema.format = OpenAPIFormat.BINARY
                    if "*" not in media_type:
                        schema.content_media_type = media_type


def _operations(openapi_schema: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for path, item in openapi_schema.get("paths", {}).items():
        for method in ("get", "put", "post", "patch", "delete"):
            operation = item.get(method)
            if not operation:
                continue
            success: dict[str, Any] = next((r for s, r in sorted(operation.get("responses", {}).items()) if s.startswith("2")), {})
            rows.append(
                {
                    "tag": (operation.get("tags") or ["other"])[0],
                    "method": method.upper(),
                    "path": path,
                    "id": operation.get("operationId", ""),
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "media_types": list((success.get("content") or {}).keys()),
                    "public": operation.get("security") == [{}],
                }
            )
    return rows


class OperationsPage(OpenAPIRenderPlugin):
    """/schema: the operations by tag, with their id, method, path and what they answer, rendered on the server
    (the interactive viewers Litestar offers load their script from a CDN, which the Content-Security-Policy
    forbids and a district's offline network does not reach)."""

    def __init__(self) -> None:
        super().__init__(path="/", media_type=MediaType.HTML)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        rows = _operations(openapi_schema)
        tags = [tag["name"] for tag in openapi_schema.get("tags", [])]
        tags += sorted({row["tag"] for row in rows} - set(tags))
        groups = [(tag, [row for row in rows if row["tag"] == tag]) for tag in tags]
        engine = request.app.template_engine
        if engine is None:
            raise ImproperlyConfiguredException("the operations page is rendered by the app's template engine, and it has none")
        template = engine.get_template("api_operations.html")
        info = openapi_schema.get("info", {})
        page: str = template.render(request=request, me=None, role_name=None, info=info, groups=[g for g in groups if g[1]])
        return page.encode()


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """/schema (the page above) and /schema/openapi.json; no viewer that needs a script from elsewhere."""
    return [OperationsPage(), JsonRenderPlugin()]
