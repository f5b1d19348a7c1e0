"""Importers: another bot's data (kick-watchtime-bot's database, a StreamElements points
leaderboard) written into StreamKeeper's features through their own repositories.

Every imported row is remembered by its source reference (``import_markers``), written in the
same transaction as what it changed, so a second import of the same source changes nothing.
"""
