"""Checks request bodies against Discord's own OpenAPI spec (../shared/data/discord-api-spec/openapi.json)."""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[4] / "shared" / "data" / "discord-api-spec" / "openapi.json"


@functools.cache
def _spec() -> dict[str, Any] | None:
    if not SPEC_PATH.exists():
        return None
    return json.loads(SPEC_PATH.read_text())


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource("urn:spec", DRAFT202012.create_resource(_spec()))


@functools.cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    spec = _spec() or {"paths": {}}
    found = []
    for template in spec["paths"]:
        pattern = re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template))
        found.append((re.compile(f"^{pattern}$"), template))
    # Literal segments (e.g. @original) must win over placeholders.
    found.sort(key=lambda item: item[1].count("{"))
    return found


@functools.cache
def _validator(template: str, method: str) -> Draft202012Validator | None:
    operation = (_spec() or {}).get("paths", {}).get(template, {}).get(method)
    if not operation or "application/json" not in operation.get("requestBody", {}).get("content", {}):
        return None
    escaped = template.replace("~", "~0").replace("/", "~1")
    ref = f"urn:spec#/paths/{escaped}/{method}/requestBody/content/application~1json/schema"
    return Draft202012Validator({"$ref": ref}, registry=_registry())


def schemas() -> dict[str, Any]:
    """The spec's named schemas ({} without the spec)."""
    return (_spec() or {}).get("components", {}).get("schemas", {})


def available() -> bool:
    return _spec() is not None


def check(method: str, path: str, body: Any) -> list[str]:
    """Problems Discord's schema finds in `body` for this route; [] when valid or not described."""
    if _spec() is None:
        return []
    route = path.removeprefix("/api/v10")
    template = next((t for pattern, t in _templates() if pattern.match(route)), None)
    if template is None:
        return []
    validator = _validator(template, method.lower())
    if validator is None:
        return []
    return [
        f"{method} {template}: {e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(_coerce(body))
    ]


@functools.cache
def _response_validator(template: str, method: str, status: str) -> Draft202012Validator | None:
    operation = (_spec() or {}).get("paths", {}).get(template, {}).get(method)
    if not operation or "application/json" not in operation.get("responses", {}).get(status, {}).get("content", {}):
        return None
    escaped = template.replace("~", "~0").replace("/", "~1")
    ref = f"urn:spec#/paths/{escaped}/{method}/responses/{status}/content/application~1json/schema"
    return Draft202012Validator({"$ref": ref}, registry=_registry())


def check_answer(method: str, path: str, status: int, body: Any) -> list[str]:
    """Problems Discord's schema finds in the fake's own answer, so the fake answers as Discord does."""
    if _spec() is None:
        return []
    route = path.removeprefix("/api/v10")
    template = next((t for pattern, t in _templates() if pattern.match(route)), None)
    validator = _response_validator(template, method.lower(), str(status)) if template else None
    if validator is None:
        return [f"{method} {path}: no {status} answer described"]
    return [f"{method} {template} answer: {e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(body)]


def _coerce(body: Any) -> Any:
    """Snowflakes discord.py sends as integers, which Discord accepts though the spec says string:
    attachments[].id (the file's index) and allowed_mentions.users/roles."""
    if not isinstance(body, dict):
        return body
    fixed = copy.deepcopy(body)
    for holder in (fixed, fixed.get("data") if isinstance(fixed.get("data"), dict) else None):
        if not holder:
            continue
        for item in holder.get("attachments") or []:
            if isinstance(item, dict) and isinstance(item.get("id"), int):
                item["id"] = str(item["id"])
        mentions = holder.get("allowed_mentions")
        if isinstance(mentions, dict):
            for key in ("users", "roles"):
                if isinstance(mentions.get(key), list):
                    mentions[key] = [str(v) if isinstance(v, int) else v for v in mentions[key]]
    return fixed
