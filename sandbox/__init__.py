"""Try Tween without accounts: the real bot (`python -m bot`) against the fake Discord and the fake fal on
127.0.0.1, with a local page that looks like a Discord channel. `make demo`; `make demo-smoke` checks it end to end.
Nothing in bot/ or cogs/ knows about it."""
