"""Features' outbound ports, implemented on the running Discord client (see gateway.py)."""
