"""Tickets earned from watchtime and gifted subs, and the watchtime conversions of many
guilds at once."""
