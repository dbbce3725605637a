import subprocess
import sys

import pytest

from bot.errors import ConfigError
from bot.settings import Settings

ENV = {"DISCORD_TOKEN": "discord-secret-token", "FAL_KEY": "fal-secret-key"}


def test_load_defaults_and_secrets_from_env():
    settings = Settings.load(ENV)
    assert settings.model.default.endpoint == "fal-ai/kling-video/o1/image-to-video"
    assert settings.model.default.price_per_second == 0.112
    assert settings.discord.api_base == "https://discord.com/api/v10"
    assert settings.fal.queue_url == "https://queue.fal.run"
    assert settings.fal.key == "fal-secret-key"


@pytest.mark.parametrize("missing", ["DISCORD_TOKEN", "FAL_KEY"])
def test_load_missing_secret_names_it(missing):
    env = {k: v for k, v in ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        Settings.load(env)


def test_secrets_not_in_repr():
    text = repr(Settings.load(ENV))
    assert "discord-secret-token" not in text
    assert "fal-secret-key" not in text


def test_env_endpoints_override(tmp_path):
    settings = Settings.load(
        {
            **ENV,
            "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10/",
            "FAL_QUEUE_URL": "http://q",
            "FAL_REST_URL": "http://r",
            "TWEEN_DB_PATH": str(tmp_path / "x.db"),
            "DISCORD_GATEWAY_URL": "ws://127.0.0.1:9/",
        }
    )
    assert settings.discord.api_base == "http://127.0.0.1:9/api/v10"
    assert settings.fal.queue_url == "http://q"
    assert settings.fal.rest_url == "http://r"
    assert settings.storage.db_path == str(tmp_path / "x.db")


def test_tween_config_layers_over_defaults(tmp_path):
    extra = tmp_path / "over.toml"
    extra.write_text("[budget]\ndefault_seconds = 120\nperiod = 'week'\n")
    settings = Settings.load({**ENV, "TWEEN_CONFIG": str(extra)})
    assert settings.budget.default_seconds == 120
    assert settings.budget.period == "week"
    assert settings.budget.reset_hour_utc == 0


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[budget]\nperiod = 'year'\n", "period"),
        ("[budget]\nsurprise = 1\n", "unknown key"),
        ("not toml [", "not valid TOML"),
        ("[logging]\nlevel = 'LOUD'\n", "logging.level"),
        ("[logging]\nformat = 'xml'\n", "logging.format"),
        ("[server]\nport = 70000\n", "server.port"),
        ("[webhooks]\npublic_url = 'http://example.org'\n[server]\nport = 8080\n", "https"),
        ("[webhooks]\npublic_url = 'https://example.org'\n", "HTTP server"),
        ("[tracker]\nearly_margin = 1.5\n", "early_margin"),
        ("[frames]\nmax_pixels = 1_000_000\n", "frames.max_pixels"),
        ("[frames]\nmax_decodes = 0\n", "frames.max_decodes"),
    ],
)
def test_tween_config_bad_values_refused(tmp_path, toml, message):
    extra = tmp_path / "over.toml"
    extra.write_text(toml)
    with pytest.raises(ConfigError, match=message):
        Settings.load({**ENV, "TWEEN_CONFIG": str(extra)})


def test_frames_defaults_and_override(tmp_path):
    assert (Settings.load(ENV).frames.max_pixels, Settings.load(ENV).frames.max_decodes) == (4096 * 4096, 2)
    extra = tmp_path / "over.toml"
    extra.write_text("[frames]\nmax_decodes = 1\n")
    frames = Settings.load({**ENV, "TWEEN_CONFIG": str(extra)}).frames
    assert (frames.max_pixels, frames.max_decodes) == (4096 * 4096, 1)


def test_webhook_target_and_http_port_from_env():
    settings = Settings.load({**ENV, "TWEEN_HTTP_PORT": "8080", "TWEEN_PUBLIC_URL": "https://tween.example.org/"})
    assert settings.server.port == 8080
    assert settings.webhooks.target == "https://tween.example.org/fal/webhook"
    with pytest.raises(ConfigError, match="whole number"):
        Settings.load({**ENV, "TWEEN_HTTP_PORT": "eighty"})


def test_main_without_token_exits_with_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "FAL_KEY": "x"}
    result = subprocess.run([sys.executable, "-m", "bot"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip() == "tween: DISCORD_TOKEN is not set; export it in the environment and start again."
    assert "Traceback" not in result.stderr
