"""Temporary VIP: a channel-point reward (or an admin) grants VIP for a while; a job removes it."""
