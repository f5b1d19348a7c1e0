"""Subscription tiers per viewer: what each subscription event (or Helix, or a badge) said, kept
by platform user id, for the games that pay subscribers more (the heist) and for ``!tier``."""
