# The bot's admin screens (/admin, /broadcast), its notifications and its top-up invoice checks.

