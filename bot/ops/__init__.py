"""Operating the bot: health, metrics, fal webhooks, configuration checks and backups."""
