"""Strict request bodies: Litestar converts bodies leniently ("1" becomes 1); we decode them strictly."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec
from litestar.dto import DTOConfig, MsgspecDTO
from litestar.exceptions import ValidationException
from litestar.typing import FieldDefinition

T = TypeVar("T", bound=msgspec.Struct)


class StrictBody(MsgspecDTO[T], Generic[T]):
    """Use as `dto=StrictBody[Model]`: a boolean is not a number and a string is not an integer."""

    config = DTOConfig(forbid_unknown_fields=True)

    @classmethod
    def create_openapi_schema(cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any) -> Any:
        """Document the body as the model itself (the generated transfer model mangles constrained optionals)."""
        return schema_creator.for_field_definition(
            FieldDefinition.from_annotation(cls.model_type, kwarg_definition=field_definition.kwarg_definition)
        )

    def decode_bytes(self, value: bytes) -> Any:
        try:
            return msgspec.json.decode(value, type=self.model_type, strict=True)
        except msgspec.ValidationError as exc:
            raise ValidationException(detail=f"body: {exc}", extra=[{"key": "body", "message": str(exc)}]) from exc
        except msgspec.DecodeError as exc:
            raise ValidationException(detail=f"body is not valid JSON: {exc}", extra=[{"key": "body", "message": str(exc)}]) from exc
