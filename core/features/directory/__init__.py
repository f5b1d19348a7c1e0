"""What the bot knows of each Discord server, kept in the database (issue 27): its name and
icon, its roles (with position and whether the bot can give them), its channels (and whether
the bot can post in them) and the display names of its members. The bot writes it from its
gateway cache (``core/discord_bot/directory/``); the dashboard reads it, so every web process of
every deployment shows names rather than ids and offers role and channel pickers."""
