"""On-stream overlays (issue 30): secret per-guild URLs for OBS browser sources showing the heist,
the raffle and an alert feed, read from our own database only."""
