"""Validation against the vendored OCDS 1.1.5 schemas (community/ocds/standard/), offline: every $ref resolves to the
local files, and the codes of closed codelists (and of the open ones we use) are checked against their CSV files."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema_rs

STANDARD_DIR = Path(__file__).resolve().parent / "standard"
RELEASE_SCHEMA = STANDARD_DIR / "release-schema.json"
PACKAGE_SCHEMA = STANDARD_DIR / "release-package-schema.json"
RECORD_PACKAGE_SCHEMA = STANDARD_DIR / "record-package-schema.json"
VERSIONED_RELEASE_SCHEMA = STANDARD_DIR / "versioned-release-validation-schema.json"
# Where a codelist's codes are found in a release ("[]" steps into every entry of an array), and its file. The
# closed codelists are also enums of the schema; the open ones we publish (roles, milestone types, award criteria,
# submission method) are checked too, so nothing we publish is a code of our own invention.
CODELIST_FIELDS: tuple[tuple[str, str], ...] = (
    ("tag[]", "releaseTag"),
    ("initiationType", "initiationType"),
    ("tender.status", "tenderStatus"),
    ("tender.procurementMethod", "method"),
    ("tender.mainProcurementCategory", "procurementCategory"),
    ("tender.awardCriteria", "awardCriteria"),
    ("tender.submissionMethod[]", "submissionMethod"),
    ("tender.value.currency", "currency"),
    ("tender.milestones[].type", "milestoneType"),
    ("tender.milestones[].status", "milestoneStatus"),
    ("parties[].roles[]", "partyRole"),
    ("awards[].status", "awardStatus"),
    ("awards[].value.currency", "currency"),
    ("contracts[].status", "contractStatus"),
    ("contracts[].value.currency", "currency"),
    ("contracts[].milestones[].type", "milestoneType"),
    ("contracts[].milestones[].status", "milestoneStatus"),
    ("contracts[].implementation.transactions[].value.currency", "currency"),
    ("planning.budget.amount.currency", "currency"),
    ("relatedProcesses[].relationship[]", "relatedProcess"),
    ("relatedProcesses[].scheme", "relatedProcessScheme"),
)
# The Bid statistics and details extension is not vendored (the shared standards hold the core only): the fields
# we publish under it are held to this shape of our own, the extension's documented fields and bid statuses.
BID_MEASURES = {"bids", "validBids", "lowestValidBidValue", "highestValidBidValue"}
BID_STATUSES = {"invited", "pending", "valid", "disqualified", "withdrawn"}


class InvalidRelease(Exception):
    """A release or package that does not validate against the standard: nothing is published."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("the release does not validate against OCDS 1.1.5: " + "; ".join(problems[:10]))
        self.problems = problems


@lru_cache(maxsize=1)
def _validators() -> tuple[jsonschema_rs.Validator, jsonschema_rs.Validator, jsonschema_rs.Validator]:
    """The release, release package and record package validators. The packages name the release schemas by their
    published addresses: the registry answers those from this folder, and nothing is fetched."""
    schemas = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in (RELEASE_SCHEMA, PACKAGE_SCHEMA, RECORD_PACKAGE_SCHEMA, VERSIONED_RELEASE_SCHEMA)
    ]
    registry = jsonschema_rs.Registry([(schema["id"], schema) for schema in schemas])
    options: dict[str, Any] = {"registry": registry, "validate_formats": True, "offline": True}
    release, package, record_package, _ = schemas
    return (
        jsonschema_rs.Draft4Validator(release, **options),
        jsonschema_rs.Draft4Validator(package, **options),
        jsonschema_rs.Draft4Validator(record_package, **options),
    )


@lru_cache(maxsize=None)
def codelist(name: str) -> frozenset[str]:
    with (STANDARD_DIR / "codelists" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return frozenset(row["Code"] for row in csv.DictReader(handle) if not row.get("Deprecated"))


def _values(node: Any, steps: list[str]) -> Iterator[Any]:
    if not steps:
        yield node
        return
    step, rest = steps[0], steps[1:]
    many = step.endswith("[]")
    name = step[:-2] if many else step
    if not isinstance(node, Mapping) or name not in node:
        return
    child = node[name]
    if many:
        for entry in child if isinstance(child, list) else []:
            yield from _values(entry, rest)
    else:
        yield from _values(child, rest)


def _bid_problems(release: Mapping[str, Any]) -> list[str]:
    bids = release.get("bids")
    if bids is None:
        return []
    if not isinstance(bids, Mapping):
        return ["bids: must be an object"]
    problems = []
    for statistic in bids.get("statistics", []):
        if not isinstance(statistic, Mapping) or not isinstance(statistic.get("id"), str) or statistic.get("measure") not in BID_MEASURES:
            problems.append(f"bids.statistics: {statistic!r} needs an id and a measure of {sorted(BID_MEASURES)}")
        elif isinstance(statistic.get("value"), bool) or not isinstance(statistic.get("value"), (int, float)):
            problems.append(f"bids.statistics: {statistic['id']} needs a numeric value")
    for detail in bids.get("details", []):
        if not isinstance(detail, Mapping) or not isinstance(detail.get("id"), str) or detail.get("status") not in BID_STATUSES:
            problems.append(f"bids.details: {detail!r} needs an id and a status of {sorted(BID_STATUSES)}")
    return problems


def release_problems(release: Any) -> list[str]:
    """What is wrong with one release (as parsed from its JSON), in words; empty when it is valid."""
    validator = _validators()[0]
    problems = [f"{'/'.join(map(str, error.instance_path)) or '(release)'}: {error.message}" for error in validator.iter_errors(release)]
    return problems + _code_problems(release)


def _code_problems(release: Any) -> list[str]:
    if not isinstance(release, Mapping):
        return []
    problems = []
    for path, name in CODELIST_FIELDS:
        for value in _values(release, path.split(".")):
            if value is not None and value not in codelist(name):
                problems.append(f"{path}: {value!r} is not a code of the {name} codelist")
    return problems + _bid_problems(release)


def package_problems(package: Any) -> list[str]:
    """What is wrong with a release package (the schema, then each release's codelists)."""
    validator = _validators()[1]
    problems = [f"{'/'.join(map(str, error.instance_path)) or '(package)'}: {error.message}" for error in validator.iter_errors(package)]
    if isinstance(package, Mapping) and isinstance(package.get("releases"), list):
        for index, release in enumerate(package["releases"]):
            problems += [f"releases/{index}: {problem}" for problem in _code_problems(release)]
    return problems


def record_package_problems(package: Any) -> list[str]:
    """What is wrong with a record package (the schema, then each compiled release's codelists)."""
    validator = _validators()[2]
    problems = [f"{'/'.join(map(str, error.instance_path)) or '(package)'}: {error.message}" for error in validator.iter_errors(package)]
    if isinstance(package, Mapping) and isinstance(package.get("records"), list):
        for index, record in enumerate(package["records"]):
            compiled = record.get("compiledRelease") if isinstance(record, Mapping) else None
            problems += [f"records/{index}/compiledRelease: {problem}" for problem in _code_problems(compiled)]
    return problems


def check_release(release: Any) -> None:
    problems = release_problems(release)
    if problems:
        raise InvalidRelease(problems)


def check_package(package: Any) -> None:
    problems = package_problems(package)
    if problems:
        raise InvalidRelease(problems)


def check_record_package(package: Any) -> None:
    problems = record_package_problems(package)
    if problems:
        raise InvalidRelease(problems)
