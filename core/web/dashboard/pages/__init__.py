"""A guild's settings pages, one module per area: each declares ``AREA = guild_blueprint(...)``
(core/web/dashboard/guilds.py) and an optional ``ORDER`` for the navigation, and is found by
looking. Templates live in ``templates/dashboard/<area>.html``."""
