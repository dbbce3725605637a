"""The fake Discord behaves like Discord where bots go wrong: deadlines, limits, rate limits, spec, gateway."""

from __future__ import annotations

import asyncio
import json
import os

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord_fake import FakeDiscord, spec
from tests.support.images import image_bytes


@pytest.fixture
async def fake():
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


class EchoBot(commands.Bot):
    """A minimal real discord.py bot: /echo defers, reads its attachment, posts it with a button."""

    def __init__(self) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents.none(), guild_ready_timeout=0.05)
        self.clicked: list[int] = []
        self.answers: list[str] = []
        self.typed: list[object] = []
        # What /pick suggests: right, with string values for its integer option, or a message instead of choices.
        self.suggest = "right"

    async def setup_hook(self) -> None:
        @self.tree.command(name="echo", description="echo")
        async def echo(interaction: discord.Interaction, text: str, image: discord.Attachment) -> None:
            await interaction.response.defer(ephemeral=True)
            data = await image.read()
            view = discord.ui.View(timeout=None)
            view.add_item(discord.ui.Button(label="Press", custom_id="press"))
            await interaction.channel.send(
                text, file=discord.File(__import__("io").BytesIO(data), "echo.png"), view=view
            )
            await interaction.followup.send("done", ephemeral=True)

        @self.tree.command(name="ask", description="opens a modal")
        async def ask(interaction: discord.Interaction) -> None:
            modal = discord.ui.Modal(title="Remix")
            field = discord.ui.TextInput(label="Prompt", custom_id="prompt")
            modal.add_item(field)

            async def submitted(modal_interaction: discord.Interaction) -> None:
                self.answers.append(field.value)
                thread = await modal_interaction.channel.create_thread(
                    name=field.value, type=discord.ChannelType.public_thread
                )
                await modal_interaction.response.send_message(f"thread {thread.id}")

            modal.on_submit = submitted
            await interaction.response.send_modal(modal)

        @self.tree.command(name="pick", description="an integer option with autocomplete")
        async def pick(interaction: discord.Interaction, n: int, note: str = "") -> None:
            await interaction.response.send_message(f"picked {n}")

        @pick.autocomplete("n")
        async def suggest(interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[int]]:
            self.typed.append(typed)
            if self.suggest == "message":
                await interaction.response.send_message("not a suggestion")
            numbers = [n for n in (1, 5, 10) if str(n).startswith(str(typed))]
            if self.suggest == "strings":
                return [app_commands.Choice(name=str(n), value=str(n)) for n in numbers]
            return [app_commands.Choice(name=f"{n} s", value=n) for n in numbers]

        @self.tree.command(name="slow", description="answers too late")
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("late")

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.data and interaction.data.get("custom_id") == "press":
            self.clicked.append(interaction.user.id)
            await interaction.response.defer()


@pytest.fixture
async def bot(fake: FakeDiscord, monkeypatch):
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
    client = EchoBot()
    task = asyncio.create_task(client.start(fake.token))
    await asyncio.sleep(0)
    await fake.wait_ready()
    yield client
    await client.close()
    assert not task.done() or task.cancelled() or task.exception() is None


async def test_slash_defer_attachment_send_and_button(fake: FakeDiscord, bot: EchoBot):
    picture = image_bytes(400, 400)
    ix = await fake.slash(
        "echo",
        user=fake.guild.member,
        options={"text": "hi <@&1> @everyone"},
        attachments={"image": ("a.png", picture, "image/png")},
    )
    assert (await ix.wait_acked())["type"] == 5 and ix.ephemeral
    posted = await fake.wait_for(lambda: next(iter(fake.messages(fake.guild.channel.id)), None))
    assert posted.attachments[0].data == picture and posted.content == "hi <@&1> @everyone"
    assert posted.allowed_mentions is None  # recorded exactly as sent: this bot set none
    await fake.wait_for(lambda: ix.original and ix.original.content == "done")
    await fake.click(posted.id, "press", user=fake.guild.admin)
    await fake.wait_for(lambda: bot.clicked == [fake.guild.admin.id])
    assert fake.spec_violations == [] and fake.errors == []


async def test_modal_round_trip_and_thread_in_channel(fake: FakeDiscord, bot: EchoBot):
    ix = await fake.slash("ask", user=fake.guild.member)
    await ix.wait_acked()
    assert ix.modal()["title"] == "Remix"
    answer = await fake.submit_modal(ix, {"prompt": "a new idea"}, user=fake.guild.member)
    await answer.wait_acked()
    assert bot.answers == ["a new idea"]
    (thread,) = fake.threads(fake.guild.channel.id)
    assert thread.name == "a new idea" and thread.message_id is None
    assert fake.spec_violations == []


async def test_late_and_double_acks_are_refused(fake: FakeDiscord, bot: EchoBot, http):
    ix = await fake.slash("slow", user=fake.guild.member)
    await ix.wait_acked()
    url = f"{fake.api_base}/interactions/{ix.id}/{ix.token}/callback"
    again = await http.post(url, json={"type": 4, "data": {"content": "twice"}})
    assert again.status == 400 and (await again.json())["code"] == 40060
    fake.clock.advance(0)  # the bot answered in time; now one it cannot answer in time:
    ix2 = await fake.slash("slow", user=fake.guild.member)
    await ix2.wait_acked()
    ix3_id = fake.ids.next()
    missing = await http.post(f"{fake.api_base}/interactions/{ix3_id}/nope/callback", json={"type": 5})
    assert missing.status == 404 and (await missing.json())["code"] == 10062


async def test_autocomplete_round_trip_for_a_synced_option(fake: FakeDiscord, bot: EchoBot):
    await bot.tree.sync()
    ix = await fake.autocomplete("pick", user=fake.guild.member, focused="n", typed="1", options={"note": "x"})
    assert await ix.wait_choices() == [{"name": "1 s", "value": 1}, {"name": "10 s", "value": 10}]
    assert bot.typed == ["1"]  # Discord sends the text typed so far, whatever the option's type
    assert ix.type == 4 and ix.original is None  # suggestions post no message
    assert fake.spec_violations == [] and fake.errors == []


@pytest.mark.parametrize(
    ("suggest", "problem"),
    [("strings", "a numeric option's value is a number"), ("message", "answered with callback type 8, not 4")],
)
async def test_wrong_autocomplete_answers_are_refused_and_recorded(fake: FakeDiscord, bot: EchoBot, suggest, problem):
    await bot.tree.sync()
    bot.suggest = suggest
    ix = await fake.autocomplete("pick", user=fake.guild.member, focused="n")
    await fake.wait_for(lambda: fake.spec_violations)
    assert problem in fake.spec_violations[0] and ix.responses == []


async def test_autocomplete_only_for_synced_options_that_ask_for_it(fake: FakeDiscord, bot: EchoBot):
    with pytest.raises(AssertionError, match="never synced"):
        await fake.autocomplete("pick", user=fake.guild.member, focused="n")
    await bot.tree.sync()
    with pytest.raises(AssertionError, match="does not ask for autocomplete"):
        await fake.autocomplete("pick", user=fake.guild.member, focused="note")


async def test_a_synced_command_is_sent_only_with_its_required_options(fake: FakeDiscord, bot: EchoBot):
    await bot.tree.sync()
    with pytest.raises(AssertionError, match=r"needs its required option\(s\) \['n'\]"):
        await fake.slash("pick", user=fake.guild.member, options={"note": "x"})
    with pytest.raises(AssertionError, match="has no option"):
        await fake.slash("pick", user=fake.guild.member, options={"n": 1, "colour": "red"})
    ix = await fake.slash("pick", user=fake.guild.member, options={"n": 5})
    await fake.wait_for(lambda: ix.original and ix.original.content == "picked 5")


async def test_choices_answer_only_autocomplete(fake: FakeDiscord, http):
    async with _no_bot_interaction(fake) as ix:
        url = f"{fake.api_base}/interactions/{ix.id}/{ix.token}/callback"
        refused = await http.post(url, json={"type": 8, "data": {"choices": [{"name": "a", "value": "a"}]}})
        assert refused.status == 400 and "only autocomplete" in (await refused.json())["message"]
        assert ix.responses == []


async def test_ack_after_three_seconds_is_unknown_interaction(fake: FakeDiscord, http):
    async with _no_bot_interaction(fake) as ix:
        fake.clock.advance(3.5)
        late = await http.post(f"{fake.api_base}/interactions/{ix.id}/{ix.token}/callback", json={"type": 5})
        assert late.status == 404 and (await late.json())["code"] == 10062


async def test_token_dies_after_fifteen_minutes(fake: FakeDiscord, http):
    async with _no_bot_interaction(fake) as ix:
        await http.post(f"{fake.api_base}/interactions/{ix.id}/{ix.token}/callback", json={"type": 5})
        fake.clock.advance(15 * 60 + 1)
        late = await http.post(f"{fake.api_base}/webhooks/1/{ix.token}", json={"content": "too late"})
        assert late.status == 401 and (await late.json())["code"] == 50027


async def test_upload_over_limit_is_413(fake: FakeDiscord, http):
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("payload_json", json.dumps({"content": "big", "attachments": [{"id": 0, "filename": "v.mp4"}]}))
    form.add_field("files[0]", b"x" * (fake.guild.upload_limit + 1), filename="v.mp4")
    answer = await http.post(f"{fake.api_base}/channels/{fake.guild.channel.id}/messages", data=form)
    assert answer.status == 413 and (await answer.json())["code"] == 40005
    assert fake.messages(fake.guild.channel.id) == []


@pytest.mark.skipif(not spec.available(), reason="needs ../shared/data/discord-api-spec")
async def test_body_discord_would_reject_is_refused_and_recorded(fake: FakeDiscord, http):
    answer = await http.post(f"{fake.api_base}/channels/{fake.guild.channel.id}/messages", json={"content": 5})
    assert answer.status == 400 and (await answer.json())["code"] == 50035
    assert fake.spec_violations and "content" in fake.spec_violations[0]


@pytest.mark.skipif(not os.environ.get("CI"), reason="CI must check bodies against the spec; locally it may be absent")
def test_ci_has_discords_spec():
    assert spec.available(), f"Discord's OpenAPI spec is missing at {spec.SPEC_PATH}"


async def test_history_is_newest_first_with_limit(fake: FakeDiscord, http):
    for text in ("one", "two", "three"):
        await http.post(f"{fake.api_base}/channels/{fake.guild.channel.id}/messages", json={"content": text})
    answer = await http.get(f"{fake.api_base}/channels/{fake.guild.channel.id}/messages", params={"limit": "2"})
    assert [m["content"] for m in await answer.json()] == ["three", "two"]
    assert answer.headers["Content-Type"] == "application/json"


async def test_rate_limit_is_retried_by_discord_py(fake: FakeDiscord, bot: EchoBot):
    fake.fail_next("POST", r"/channels/\d+/messages$", status=429, retry_after=0.05)
    channel = bot.get_partial_messageable(fake.guild.channel.id)
    await channel.send("after a 429")
    statuses = [r.status for r in fake.requests if r.path.endswith("/messages") and r.method == "POST"]
    assert statuses == [429, 200]


async def test_gateway_resume_and_new_guild(fake: FakeDiscord, bot: EchoBot):
    await fake.disconnect_gateway()
    await fake.wait_for(lambda: fake.gateway.resumed == 1)
    guild = fake.add_guild("Boosted", premium_tier=3)
    await fake.wait_for(lambda: bot.get_guild(guild.id))
    assert bot.get_guild(guild.id).filesize_limit == 100 * 1024 * 1024 == guild.upload_limit


async def test_commands_are_listed_as_synced_globally_or_per_guild(fake: FakeDiscord, bot: EchoBot, http):
    assert await bot.tree.fetch_commands() == []
    await bot.tree.sync()
    bot.tree.copy_global_to(guild=discord.Object(fake.guild.id))
    await bot.tree.sync(guild=discord.Object(fake.guild.id))
    listed = await bot.tree.fetch_commands()
    assert sorted(c.name for c in listed) == ["ask", "echo", "pick", "slow"]
    assert all(c.guild_id is None for c in listed)
    in_guild = await bot.tree.fetch_commands(guild=discord.Object(fake.guild.id))
    assert {c.guild_id for c in in_guild} == {fake.guild.id} and len(in_guild) == 4
    path = f"/api/v10/applications/{fake.bot_user.id}/commands"
    raw = await http.get(f"{fake.base_url}{path}", headers=bot_auth(fake))
    assert spec.check_answer("GET", path, raw.status, await raw.json()) == []
    bot.tree.clear_commands(guild=None)
    await bot.tree.sync()  # a bulk overwrite with none deletes them all
    assert await bot.tree.fetch_commands() == []
    assert fake.spec_violations == [] and fake.errors == []


async def test_commands_are_listed_only_to_their_own_bot(fake: FakeDiscord, http):
    ours = f"{fake.api_base}/applications/{fake.bot_user.id}/commands"
    assert (await http.get(ours)).status == 401
    other = await http.get(f"{fake.api_base}/applications/{fake.ids.next()}/commands", headers=bot_auth(fake))
    assert other.status == 403 and (await other.json())["code"] == 50001


def bot_auth(fake: FakeDiscord) -> dict[str, str]:
    return {"Authorization": f"Bot {fake.token}"}


class _no_bot_interaction:
    """An interaction registered with no bot connected, for raw-HTTP checks of the callback rules."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    async def __aenter__(self):
        from tests.fakes.discord_fake.state import FakeInteraction

        fake = self.fake
        iid = fake.ids.next()
        ix = FakeInteraction(
            iid,
            f"tok-{iid}",
            2,
            fake.guild.member,
            fake.guild,
            fake.guild.channel.id,
            created=fake.clock.now(),
            dispatched_at=0.0,
        )
        fake.interactions[iid] = ix
        fake.by_token[ix.token] = ix
        return ix

    async def __aexit__(self, *exc):
        return False
