"""The publication settings in force, read once from config/ocds.toml (a wrong file stops the system at start)."""

from __future__ import annotations

from functools import lru_cache

from community.ocds.rules import PublicationRules, parse_publication_rules
from foundation.settings import config_dir


@lru_cache(maxsize=1)
def publication_rules() -> PublicationRules:
    path = config_dir() / "ocds.toml"
    try:
        return parse_publication_rules(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
