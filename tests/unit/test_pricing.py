import pytest

from bot.pricing import format_seconds_price, format_usd, price_micros


@pytest.mark.parametrize(
    ("seconds", "price", "micros", "text"),
    [
        (5, 0.112, 560_000, "$0.56"),
        (10, 0.112, 1_120_000, "$1.12"),
        (3, 0.112, 336_000, "$0.336"),
        (7, 0.084, 588_000, "$0.588"),
        (0, 0.112, 0, "$0.00"),
        (110, 0.112, 12_320_000, "$12.32"),
    ],
)
def test_price_micros_and_format(seconds, price, micros, text):
    assert price_micros(seconds, price) == micros
    assert format_usd(micros) == text


def test_format_seconds_price_choice_label():
    assert format_seconds_price(5, 0.112) == "5 s · $0.56"
