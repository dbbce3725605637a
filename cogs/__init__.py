"""Thin Discord adapters. This tuple is the only list of loaded extensions."""

EXTENSIONS = (
    "cogs.errors",
    "cogs.i18n",
    "cogs.jobs",
    "cogs.buttons",
    "cogs.tween",
    "cogs.quota",
    "cogs.queue",
    "cogs.admin",
    "cogs.sessions",
    "cogs.help",
)
