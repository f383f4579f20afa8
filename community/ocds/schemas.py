"""The shapes the OCDS API answers with, declared for the OpenAPI document (the bodies themselves are the bytes
as published, validated against the vendored OCDS schema)."""

from __future__ import annotations

from typing import Any

import msgspec


class OcdsPublisherOut(msgspec.Struct):
    name: str


class ReleasePackageOut(msgspec.Struct, omit_defaults=True):
    """An OCDS 1.1 release package (https://standard.open-contracting.org/1.1/en/schema/release_package/)."""

    uri: str
    version: str
    publishedDate: str  # the standard spells its fields in camelCase
    publisher: OcdsPublisherOut
    license: str
    publicationPolicy: str
    releases: list[dict[str, Any]]
    extensions: list[str] = msgspec.field(default_factory=list)


class OcdsRecordOut(msgspec.Struct):
    ocid: str
    releases: list[dict[str, Any]]  # linked: url, date, tag
    compiledRelease: dict[str, Any]  # the releases merged


class RecordPackageOut(msgspec.Struct, omit_defaults=True):
    """An OCDS 1.1 record package (https://standard.open-contracting.org/1.1/en/schema/record_package/)."""

    uri: str
    version: str
    publishedDate: str
    publisher: OcdsPublisherOut
    license: str
    publicationPolicy: str
    records: list[OcdsRecordOut]
    extensions: list[str] = msgspec.field(default_factory=list)
