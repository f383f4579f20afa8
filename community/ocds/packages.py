"""OCDS packages and compiled releases: the publication metadata around releases, the record of a contracting
process, and the merge of its releases into one compiled release (pure functions, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from community.ocds.rules import BID_EXTENSION, OCDS_VERSION, PublicationRules, ReleaseRuleError, instant


def release_package(
    releases: Sequence[Any], *, rules: PublicationRules, uri: str, published_date: datetime, policy_uri: str, uses_bids: bool
) -> dict[str, Any]:
    """The package around releases (each a release object, or its JSON as published), with the metadata the
    standard asks of every publication; `uses_bids` declares the Bid extension when a release carries bids."""
    package: dict[str, Any] = {
        "uri": uri,
        "version": OCDS_VERSION,
        "publishedDate": instant(published_date),
        "publisher": {"name": rules.publisher_name},
        "license": rules.license_url,
        "publicationPolicy": policy_uri,
    }
    if uses_bids:
        package["extensions"] = [BID_EXTENSION]
    package["releases"] = list(releases)
    return package


def record_package(
    ocid: str,
    linked: Sequence[tuple[str, str, str]],
    compiled: Mapping[str, Any],
    *,
    rules: PublicationRules,
    uri: str,
    published_date: datetime,
    policy_uri: str,
    uses_bids: bool,
) -> dict[str, Any]:
    """A record package of one contracting process: its releases linked by (url, date, tag), oldest first, and its
    compiled release."""
    package = release_package([], rules=rules, uri=uri, published_date=published_date, policy_uri=policy_uri, uses_bids=uses_bids)
    del package["releases"]
    package["records"] = [
        {
            "ocid": ocid,
            "releases": [{"url": url, "date": date_, "tag": [tag]} for url, date_, tag in linked],
            "compiledRelease": dict(compiled),
        }
    ]
    return package


# Fields the merge leaves out of a compiled release (the release schema's omitWhenMerged).
_OMIT_WHEN_MERGED = {"id", "tag"}


def _merge(into: dict[str, Any], change: Mapping[str, Any]) -> None:
    for key, value in change.items():
        if value is None:
            into.pop(key, None)
        elif isinstance(value, Mapping):
            current = into.get(key)
            target = current if isinstance(current, dict) else {}
            _merge(target, value)
            into[key] = target
        elif isinstance(value, list) and value and all(isinstance(entry, Mapping) and "id" in entry for entry in value):
            current = into.get(key)
            merged = (
                {entry["id"]: entry for entry in current}
                if isinstance(current, list) and all(isinstance(e, dict) and "id" in e for e in current)
                else {}
            )
            for entry in value:
                target = dict(merged.get(entry["id"], {}))
                _merge(target, entry)
                merged[entry["id"]] = target
            into[key] = list(merged.values())
        else:
            into[key] = value


def compile_releases(releases: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The compiled release of one contracting process: its releases merged in date order (OCDS merging: objects
    field by field, arrays of objects by their id, anything else replaced by the newer value)."""
    if not releases:
        raise ReleaseRuleError("a compiled release needs at least one release")
    ordered = sorted(releases, key=lambda release: (str(release["date"]), str(release["id"])))
    compiled: dict[str, Any] = {}
    for release in ordered:
        _merge(compiled, {key: value for key, value in release.items() if key not in _OMIT_WHEN_MERGED})
    latest = ordered[-1]
    compiled["id"] = f"{latest['ocid']}-{latest['date']}"
    compiled["tag"] = ["compiled"]
    return compiled
