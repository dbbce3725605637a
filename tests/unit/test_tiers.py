"""Model tiers come from one table in the config: checked at load, looked up by name and by endpoint, and a new
endpoint is a config change plus, at most, one small input builder."""

from __future__ import annotations

import copy
import logging

import pytest

from bot import tiers as tiers_module
from bot.errors import ConfigError
from bot.settings import DEFAULT_CONFIG, Settings, _read_toml
from bot.tiers import kling_o1

ENV = {"DISCORD_TOKEN": "discord-secret-token", "FAL_KEY": "fal-secret-key"}
PRO = "fal-ai/kling-video/o1/image-to-video"
STANDARD = "fal-ai/kling-video/o1/standard/image-to-video"


def load(tmp_path, toml: str) -> Settings:
    extra = tmp_path / "over.toml"
    extra.write_text(toml)
    return Settings.load({**ENV, "TWEEN_CONFIG": str(extra)})


def test_the_default_table_has_pro_and_standard_with_pro_the_default():
    settings = Settings.load(ENV)
    assert list(settings.tiers) == ["pro", "standard"]
    assert settings.model.default_tier == "pro"
    pro, standard = settings.tier("pro"), settings.tier("standard")
    assert (pro.endpoint, pro.price_per_second, pro.input) == (PRO, 0.112, "kling_o1")
    assert (standard.endpoint, standard.price_per_second) == (STANDARD, 0.084)
    assert list(pro.durations) == list(range(3, 11)) and pro.default_duration == 5


def test_tier_falls_back_to_the_default_for_none_and_for_names_the_config_lost():
    settings = Settings.load(ENV)
    assert settings.tier(None).name == "pro"
    assert settings.tier("turbo").name == "pro"


def test_tier_for_endpoint_finds_each_tier_and_guesses_the_default_for_an_unknown_one(caplog):
    settings = Settings.load(ENV)
    assert settings.tier_for_endpoint(STANDARD).name == "standard"
    assert settings.tier_for_endpoint(PRO).name == "pro"
    with caplog.at_level(logging.WARNING, logger="bot.settings"):
        assert settings.tier_for_endpoint("fal-ai/gone/image-to-video").name == "pro"
    assert "fal-ai/gone/image-to-video" in caplog.text


def test_kling_o1_input_is_what_fal_takes_with_and_without_an_end_frame():
    assert kling_o1("p", "https://s", None, 5) == {"prompt": "p", "start_image_url": "https://s", "duration": "5"}
    assert kling_o1("p", "https://s", "https://e", 10) == {
        "prompt": "p",
        "start_image_url": "https://s",
        "end_image_url": "https://e",
        "duration": "10",
    }


def test_a_third_tier_is_a_config_change_plus_one_input_builder(tmp_path, monkeypatch):
    def image_pair(prompt: str, start_url: str | None, end_url: str | None, duration: int) -> dict[str, object]:
        return {"prompt": prompt, "image_urls": [start_url, end_url], "seconds": duration}

    monkeypatch.setitem(tiers_module.INPUT_BUILDERS, "image_pair", image_pair)
    settings = load(
        tmp_path,
        """
        [model]
        default_tier = "turbo"
        [tiers.turbo]
        endpoint = "fal-ai/other-model/image-to-video"
        price_per_second = 0.05
        min_duration = 4
        max_duration = 6
        default_duration = 6
        input = "image_pair"
        """,
    )
    assert list(settings.tiers) == ["pro", "standard", "turbo"]
    turbo = settings.tier("turbo")
    assert (turbo.price_per_second, list(turbo.durations), turbo.default_duration) == (0.05, [4, 5, 6], 6)
    assert settings.model.default is turbo and settings.tier(None) is turbo and settings.tier("gone") is turbo
    submit = settings.tier_for_endpoint("fal-ai/other-model/image-to-video")
    assert submit is turbo
    assert submit.arguments("go", "https://s", "https://e", 5) == {
        "prompt": "go",
        "image_urls": ["https://s", "https://e"],
        "seconds": 5,
    }
    assert settings.tier_for_endpoint(STANDARD).arguments("go", "https://s", None, 5)["duration"] == "5"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[tiers.pro]\ninput = 'sora'\n", "input must be one of kling_o1"),
        ("[tiers.pro]\nmin_duration = 2\n", "3 <= min_duration"),
        ("[tiers.pro]\nmax_duration = 11\n", "max_duration <= 10"),
        ("[tiers.pro]\ndefault_duration = 11\n", "default_duration <= max_duration"),
        ("[tiers.standard]\nmin_duration = 6\n", r"\[tiers.standard\]: durations"),
        ("[tiers.pro]\nprice_per_second = 0\n", "price_per_second must be a positive"),
        ("[tiers.pro]\nprice_per_second = -0.1\n", "price_per_second must be a positive"),
        ("[tiers.pro]\nspeed = 'fast'\n", r"unknown key\(s\) in \[tiers.pro\]: speed"),
        ("[tiers.extra]\nendpoint = 'fal-ai/x'\n", r"\[tiers.extra\] is missing default_duration"),
        ("[tiers.standard]\nendpoint = 'fal-ai/kling-video/o1/image-to-video'\n", "share an endpoint"),
        ("[model]\ndefault_tier = 'turbo'\n", "model.default_tier must name a"),
        ("[model]\nsurprise = 1\n", r"unknown key\(s\) in \[model\]: surprise"),
        ("[tiers.Loud]\nendpoint = 'x'\n", "lowercase"),
    ],
)
def test_bad_tier_tables_are_refused_at_load(tmp_path, toml, message):
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, toml)


def test_no_tiers_at_all_is_refused():
    with pytest.raises(ConfigError, match=r"\[tiers\] is missing"):
        Settings.from_mapping({"model": {"default_tier": "pro"}})


def test_old_model_keys_still_work_and_say_where_they_moved(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="bot.tiers"):
        settings = load(
            tmp_path,
            """
            [model]
            endpoint = "fal-ai/kling-video/o1/image-to-video"
            price_per_second = 0.12
            standard_endpoint = "fal-ai/kling-video/o1/standard/image-to-video"
            standard_price_per_second = 0.09
            min_duration = 4
            max_duration = 8
            default_duration = 6
            """,
        )
    assert settings.tier("pro").price_per_second == 0.12
    assert settings.tier("standard").price_per_second == 0.09
    assert {(t.min_duration, t.default_duration, t.max_duration) for t in settings.tiers.values()} == {(4, 6, 8)}
    (record,) = [r for r in caplog.records if "deprecated" in r.getMessage()]
    text = record.getMessage()
    assert "model.price_per_second -> tiers.pro.price_per_second" in text
    assert "model.standard_endpoint -> tiers.standard.endpoint" in text
    assert "model.min_duration -> tiers.*.min_duration" in text


def test_an_old_key_with_no_tier_to_move_to_is_refused_naming_it():
    data = {
        "model": {"default_tier": "pro", "standard_price_per_second": 0.09},
        "tiers": {"pro": {"endpoint": PRO, "price_per_second": 0.1, "min_duration": 3, "max_duration": 10}},
    }
    with pytest.raises(ConfigError, match=r"model.standard_price_per_second is deprecated.*\[tiers.standard\]"):
        Settings.from_mapping(data)


def test_loading_leaves_the_callers_mapping_untouched():
    data = _read_toml(DEFAULT_CONFIG)
    data["model"]["price_per_second"] = 0.2
    before = copy.deepcopy(data)
    assert Settings.from_mapping(data).tier("pro").price_per_second == 0.2
    assert data == before
