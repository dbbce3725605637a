"""Money: fal bills per second of video; we keep prices in integer millionths of a dollar."""

from __future__ import annotations

MICROS_PER_DOLLAR = 1_000_000


def price_micros(seconds: int, price_per_second: float) -> int:
    """Price of `seconds` of video in millionths of a US dollar."""
    return round(seconds * price_per_second * MICROS_PER_DOLLAR)


def format_usd(micros: int) -> str:
    """`$0.56`, `$0.336`, `$12.32`: two decimals, or three when a tenth of a cent matters."""
    dollars = micros / MICROS_PER_DOLLAR
    text = f"{dollars:.3f}"
    if text.endswith("0"):
        text = text[:-1]
    return f"${text}"


def cost(seconds: int, micros: int, *, dollars: bool = True, inline: bool = False) -> str:
    """Seconds of video and what they cost: `10 s ($1.12)`, or `10 s · $1.12` inline (labels, lists), or `10 s`
    where a server shows its members seconds only. Every text that says what a video costs says it through this."""
    if not dollars:
        return f"{seconds} s"
    return f"{seconds} s · {format_usd(micros)}" if inline else f"{seconds} s ({format_usd(micros)})"


def format_seconds_price(seconds: int, price_per_second: float, *, dollars: bool = True) -> str:
    """`5 s · $0.56`: how a duration is offered to members."""
    return cost(seconds, price_micros(seconds, price_per_second), dollars=dollars, inline=True)
