"""Buttons already posted in servers carry `tween:<action>:<job id>`: after the upgrade each still reaches its
family and handler, and new buttons are posted with exactly that shape."""

from __future__ import annotations

import pytest

from cogs.buttons import FAMILIES, LABELS, JobButton, ModerationButton, SessionButton, job_view, result_view

# What earlier releases posted, verbatim.
OLD_IDS = {
    "tween:cancel:12": (JobButton, "cancel"),
    "tween:approve:12": (ModerationButton, "decide"),
    "tween:deny:12": (ModerationButton, "decide"),
    "tween:reroll:12": (SessionButton, "follow_up"),
    "tween:swap:12": (SessionButton, "follow_up"),
    "tween:remix:12": (SessionButton, "remix"),
    "tween:details:12": (SessionButton, "details"),
    "tween:vote:12": (SessionButton, "vote"),
}


@pytest.mark.parametrize("custom_id", sorted(OLD_IDS))
async def test_old_custom_ids_still_dispatch(custom_id):
    family, handler = OLD_IDS[custom_id]
    matching = [f for f in FAMILIES if f.__discord_ui_compiled_template__.fullmatch(custom_id)]
    assert matching == [family]
    match = family.__discord_ui_compiled_template__.fullmatch(custom_id)
    button = await family.from_custom_id(None, None, match)
    assert (type(button), button.action, button.job_id) == (family, custom_id.split(":")[1], 12)
    assert button.custom_id == custom_id
    assert button.handler().__name__ == handler


@pytest.mark.parametrize("custom_id", ["tween:remix-modal:12", "tween:cancel:", "tween:explode:12", "other:cancel:12"])
def test_other_ids_reach_no_family(custom_id):
    assert not [f for f in FAMILIES if f.__discord_ui_compiled_template__.fullmatch(custom_id)]


def test_every_labelled_action_belongs_to_exactly_one_family():
    owned = [a for f in FAMILIES for a in f.ACTIONS]
    assert sorted(owned) == sorted(LABELS) and len(owned) == len(set(owned))


def test_views_post_the_same_ids_as_before():
    card = job_view(7, "cancel")
    assert [i.custom_id for i in card.children] == ["tween:cancel:7"]
    approval = job_view(7, "approve", "deny")
    assert [i.custom_id for i in approval.children] == ["tween:approve:7", "tween:deny:7"]
    result = result_view(7, votes=3)
    assert [i.custom_id for i in result.children] == [
        "tween:reroll:7",
        "tween:remix:7",
        "tween:swap:7",
        "tween:details:7",
        "tween:vote:7",
    ]
    assert result.children[-1].item.label == "👍 3"
