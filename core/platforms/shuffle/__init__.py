"""Shuffle's affiliate statistics endpoint: the client and the parser of its replies."""
