"""Strict request bodies: Litestar converts bodies leniently ("1" becomes 1); we decode them strictly."""

from __future__ import annotations

from datetime import date
from typing import Any, Generic, TypeVar, get_args

import msgspec
from litestar.dto import DTOConfig, MsgspecDTO
from litestar.exceptions import ValidationException
from litestar.typing import FieldDefinition

from foundation.periods import check_day

T = TypeVar("T", bound=msgspec.Struct)


def _structs_within(annotation: Any, seen: set[type[msgspec.Struct]] | None = None) -> set[type[msgspec.Struct]]:
    """The struct types an annotation is or contains (list items, optionals, nested fields)."""
    seen = set() if seen is None else seen
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        if annotation not in seen:
            seen.add(annotation)
            for field in msgspec.structs.fields(annotation):
                _structs_within(field.type, seen)
        return seen
    for argument in get_args(annotation):
        _structs_within(argument, seen)
    return seen


class StrictBody(MsgspecDTO[T], Generic[T]):
    """Use as `dto=StrictBody[Model]`: a boolean is not a number and a string is not an integer."""

    config = DTOConfig(forbid_unknown_fields=True)

    @classmethod
    def create_openapi_schema(cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any) -> Any:
        """Document the body as the model itself (the generated transfer model mangles constrained optionals),
        saying that unknown fields are refused, as the decoder does."""
        model = FieldDefinition.from_annotation(cls.model_type, kwarg_definition=field_definition.kwarg_definition)
        schema = schema_creator.for_field_definition(model)
        for struct in _structs_within(cls.model_type):
            if struct.__struct_config__.forbid_unknown_fields:
                registered = schema_creator.schema_registry.get_schema_for_field_definition(FieldDefinition.from_annotation(struct))
                registered.additional_properties = False
        return schema

    def decode_bytes(self, value: bytes) -> Any:
        try:
            # JSON Schema, and so the OpenAPI document, counts 2084.0 as the integer 2084; everything else stays strict
            # ("1" is not a number, true is not 1).
            decoded = msgspec.convert(_whole_numbers(msgspec.json.decode(value)), type=self.model_type, strict=True)
        except UnicodeDecodeError as exc:
            detail = f"body is not valid UTF-8 (byte {exc.object[exc.start]:#04x} at position {exc.start}); send UTF-8 text"
            raise ValidationException(detail=detail, extra=[{"key": "body", "message": detail}]) from None
        except msgspec.ValidationError as exc:
            raise ValidationException(detail=f"body: {exc}", extra=[{"key": "body", "message": str(exc)}]) from exc
        except msgspec.DecodeError as exc:
            raise ValidationException(detail=f"body is not valid JSON: {exc}", extra=[{"key": "body", "message": str(exc)}]) from exc
        except RecursionError:  # nested past the stack (the request gate refuses this first; a decoder never faults)
            detail = "body nests arrays or objects too deep to be read"
            raise ValidationException(detail=detail, extra=[{"key": "body", "message": detail}]) from None
        check_dates(decoded, "body")
        return decoded


def _whole_numbers(value: Any) -> Any:
    """A decoded JSON document with every float that is a whole number (2084.0) made an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


def check_dates(value: Any, path: str) -> None:
    """Every date and time of a body inside the supported years (a year 0001 or 9999 is a typing mistake)."""
    if isinstance(value, date):
        check_day(value, path)
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            check_dates(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_dates(item, f"{path}[{index}]")
