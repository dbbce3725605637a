"""Every extension loads into the real bot class, and /tween is registered as Discord expects."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from cogs import EXTENSIONS

SPEC = Path(__file__).resolve().parents[3] / "shared" / "data" / "discord-api-spec" / "openapi.json"


def test_every_extension_module_is_listed():
    folder = Path(__file__).resolve().parents[2] / "cogs"
    with_setup = {f"cogs.{p.stem}" for p in folder.glob("*.py") if "\nasync def setup(" in p.read_text()}
    assert with_setup == set(EXTENSIONS)


async def test_tween_command_shape(bot):
    command = bot.tree.get_command("tween")
    payload = command.to_dict(bot.tree)
    options = {o["name"]: o for o in payload["options"]}
    assert [o["name"] for o in payload["options"]] == ["start", "prompt", "end", "duration"]
    # In a channel a start frame and a prompt are needed, and Discord shows required options first and marked.
    assert options["start"]["type"] == 11 and options["start"]["required"] is True
    assert options["prompt"]["type"] == 3 and options["prompt"]["required"] is True
    assert options["prompt"]["max_length"] == 2500
    assert options["end"]["type"] == 11 and not options["end"].get("required", False)
    # Prices depend on the server's tier, so Discord asks the bot for them (autocomplete) instead of fixed choices.
    duration = options["duration"]
    assert duration["type"] == 4 and duration["autocomplete"] is True and "choices" not in duration
    assert (duration["min_value"], duration["max_value"]) == (3, 10)
    assert payload["contexts"] == [0]  # guild channels only


async def test_tween_again_takes_everything_from_the_thread_unless_told(bot):
    payload = bot.tree.get_command("tween-again").to_dict(bot.tree)
    options = {o["name"]: o for o in payload["options"]}
    assert list(options) == ["prompt", "duration", "start", "end"]
    assert not any(o.get("required", False) for o in options.values())
    assert options["duration"]["autocomplete"] is True and options["prompt"]["max_length"] == 2500
    assert payload["contexts"] == [0]


async def test_the_tier_option_lists_the_configured_tiers_when_asked(bot):
    admin = bot.tree.get_command("tween-admin")
    tier = next(o for o in admin.to_dict(bot.tree)["options"] if o["name"] == "settings")
    option = next(c for c in tier["options"] if c["name"] == "tier")["options"][0]
    assert option["type"] == 3 and option["autocomplete"] is True and "choices" not in option
    assert "$" not in json.dumps(option)  # no price baked into what Discord stores


@pytest.mark.skipif(not SPEC.exists(), reason="needs ../shared/data/discord-api-spec")
async def test_command_sync_body_is_valid_for_discord(bot):
    spec = json.loads(SPEC.read_text())
    registry = Registry().with_resource("urn:spec", DRAFT202012.create_resource(spec))
    route = "~1applications~1{application_id}~1commands"
    pointer = f"urn:spec#/paths/{route}/put/requestBody/content/application~1json/schema"
    validator = Draft202012Validator({"$ref": pointer}, registry=registry)
    body = [c.to_dict(bot.tree) for c in bot.tree.get_commands()]
    errors = [e.message for e in validator.iter_errors(body)]
    assert errors == []
