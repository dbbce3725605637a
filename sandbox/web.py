"""The page's server on 127.0.0.1: the page itself, its live feed (server-sent events), the attachments, and the
endpoints that turn what the page does into what a Discord client sends the bot: slash commands (with files),
button presses and modal submits, as the member or as the moderator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.feed import Feed, sse
from sandbox.stage import Sandbox
from scripts.story import frames
from scripts.story.style import css
from tests.fakes.discord_fake import FakeInteraction, FakeUser, RoleRef

STATIC = Path(__file__).parent / "static"
FEED = web.AppKey("feed", Feed)
OPENED = web.AppKey("opened", dict)  # interaction id -> the interaction that opened a modal
SAMPLES = {"start": ("start.png", frames.night), "end": ("end.png", frames.sunrise)}
ACK_TIMEOUT = 5.0
# Discord's option types (application command option type) the page can fill in.
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 8, 10, 11


def app(world: Sandbox) -> web.Application:
    application = web.Application(client_max_size=64 * 1024 * 1024)
    application[FEED] = Feed(world)
    application[OPENED] = {}
    application.router.add_get("/", _index)
    application.router.add_get("/discord.css", _discord_css)
    application.router.add_static("/static", STATIC)
    application.router.add_get("/events", _events)
    application.router.add_get("/api/state", _state)
    application.router.add_get("/files/{aid}", _file)
    application.router.add_get("/files/{aid}/poster", _poster)
    application.router.add_get("/samples/{which}.png", _sample)
    application.router.add_post("/api/command", _command)
    application.router.add_post("/api/click", _click)
    application.router.add_post("/api/modal", _modal)
    return application


@contextlib.asynccontextmanager
async def serving(world: Sandbox, port: int) -> AsyncIterator[str]:
    runner = web.AppRunner(app(world), access_log=None, shutdown_timeout=0.5, handler_cancellation=True)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def _world(request: web.Request) -> Sandbox:
    return request.app[FEED].world


async def _index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "page.html")


async def _discord_css(request: web.Request) -> web.Response:
    return web.Response(text=css(760), content_type="text/css")


async def _state(request: web.Request) -> web.Response:
    """What the page shows when it opens: the commands it may run, the people, the channels, the messages."""
    feed, world = request.app[FEED], _world(request)
    people = {key: {"name": user.name, "id": str(user.id)} for key, user in world.people.items()}
    return web.json_response(
        {
            "commands": list(world.discord.commands.values()),
            "people": people,
            "channels": feed.channels(),
            "messages": feed.items(),
        }
    )


async def _events(request: web.Request) -> web.StreamResponse:
    feed = request.app[FEED]
    answer = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await answer.prepare(request)
    queue = feed.subscribe()
    try:
        await answer.write(sse({"type": "channels", "channels": feed.channels()}))
        for item in feed.items():
            await answer.write(sse({"type": "message", **item}))
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), 15)
            except TimeoutError:
                await answer.write(b": still here\n\n")
                continue
            await answer.write(sse(item))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        feed.unsubscribe(queue)
    return answer


async def _file(request: web.Request) -> web.Response:
    found = request.app[FEED].file(request.match_info["aid"])
    if found is None:
        raise web.HTTPNotFound()
    data, content_type, filename = found
    return web.Response(
        body=data, content_type=content_type, headers={"Content-Disposition": f'inline; filename="{filename}"'}
    )


async def _poster(request: web.Request) -> web.StreamResponse:
    poster = request.app[FEED].poster(request.match_info["aid"])
    if poster is None:
        raise web.HTTPNotFound()
    return web.FileResponse(poster)


async def _sample(request: web.Request) -> web.Response:
    which = request.match_info["which"]
    if which not in SAMPLES:
        raise web.HTTPNotFound()
    return web.Response(body=SAMPLES[which][1](), content_type="image/png")


def _person(world: Sandbox, key: str) -> FakeUser:
    if key not in world.people:
        raise web.HTTPBadRequest(text=f"nobody called {key!r}: use member or moderator")
    return world.people[key]


async def _command(request: web.Request) -> web.Response:
    """A slash command: form fields `as`, `channel` (an id; #general when absent), `command` ("tween-admin budget
    set"), `opt:<name>` and `file:<name>`."""
    world, feed = _world(request), request.app[FEED]
    form = await request.post()
    user = _person(world, str(form.get("as", "member")))
    name, *subcommand = str(form.get("command", "")).split()
    definition = world.discord.commands.get(name)
    if definition is None:
        raise web.HTTPBadRequest(text=f"/{name} is not a command here")
    options_def = _options_of(definition, subcommand)
    options: dict[str, Any] = {}
    attachments: dict[str, tuple[str, bytes, str | None]] = {}
    for key, value in form.items():
        if key.startswith("file:") and isinstance(value, web.FileField):
            data = value.file.read()
            if data:
                attachments[key[5:]] = (value.filename, data, value.content_type)
        elif key.startswith("opt:") and isinstance(value, str) and value.strip() != "":
            option = options_def.get(key[4:])
            if option is None:
                raise web.HTTPBadRequest(text=f"/{name} has no option {key[4:]!r}")
            options[key[4:]] = _value(world, option, value)
    channel = str(form.get("channel", ""))
    channel_id = int(channel) if channel.isdigit() and int(channel) in world.discord.channels else None
    try:
        interaction = await world.discord.slash(
            name,
            user=user,
            channel_id=channel_id,
            options=options,
            attachments=attachments,
            subcommand=tuple(subcommand),
        )
    except AssertionError as refused:  # what Discord's own client would not send
        raise web.HTTPBadRequest(text=f"Discord would not send that: {refused}") from None
    feed.used[str(interaction.id)] = " ".join(("/" + name, *subcommand))
    return web.json_response({"interaction": str(interaction.id)})


def _options_of(definition: dict[str, Any], subcommand: list[str]) -> dict[str, dict[str, Any]]:
    level = definition
    for part in subcommand:
        level = next((o for o in level.get("options", []) if o["name"] == part and o["type"] in (1, 2)), {})
    return {o["name"]: o for o in level.get("options", []) if o["type"] not in (1, 2)}


def _value(world: Sandbox, option: dict[str, Any], text: str) -> Any:
    kind = option["type"]
    try:
        if kind == INTEGER:
            return int(text)
        if kind == NUMBER:
            return float(text)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{option['name']} needs a number") from None
    if kind == BOOLEAN:
        return text.lower() in ("1", "true", "yes", "on")
    if kind == USER:
        return _person(world, text)
    if kind == CHANNEL:
        found = next((c for c in world.discord.channels.values() if c.name == text.lstrip("#")), None)
        if found is None:
            raise web.HTTPBadRequest(text=f"no channel {text!r}")
        return found
    if kind == ROLE:
        guild = world.discord.guild
        return RoleRef(guild.id if text.lstrip("@") == "everyone" else guild.mod_role_id)
    return text


async def _click(request: web.Request) -> web.Response:
    """A button press: JSON {as, message_id, custom_id}; answers with the form when the bot opened one."""
    world = _world(request)
    body = await request.json()
    user = _person(world, str(body.get("as", "member")))
    message_id, custom_id = int(body["message_id"]), str(body["custom_id"])
    if world.discord.find_message(message_id) is None:
        raise web.HTTPNotFound(text="that message is gone")
    interaction = await world.discord.click(message_id, custom_id, user=user)
    return web.json_response(await _answer(request, interaction))


async def _modal(request: web.Request) -> web.Response:
    """A form submitted: JSON {as, interaction, values: {custom_id: text}}."""
    world = _world(request)
    body = await request.json()
    opened: FakeInteraction | None = request.app[OPENED].pop(str(body.get("interaction")), None)
    if opened is None:
        raise web.HTTPBadRequest(text="that form is closed")
    values = {str(k): str(v) for k, v in dict(body.get("values", {})).items()}
    interaction = await world.discord.submit_modal(opened, values, user=_person(world, str(body.get("as"))))
    return web.json_response(await _answer(request, interaction))


async def _answer(request: web.Request, interaction: FakeInteraction) -> dict[str, Any]:
    try:
        await interaction.wait_acked(ACK_TIMEOUT)
    except AssertionError:
        return {"interaction": str(interaction.id), "error": "The bot did not answer in time (see the bot's log)."}
    modal = interaction.modal()
    if modal is not None:
        request.app[OPENED][str(interaction.id)] = interaction
    return {"interaction": str(interaction.id), "modal": modal}
