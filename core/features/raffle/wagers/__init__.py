"""Tickets for wagers on Shuffle: the settings, account claims, polls of the affiliate
statistics and their rules."""
