"""Sign-in with Kick and Twitch: one blueprint per platform, both made by ``signin.py`` from what
the platform says of itself (``kick.py``, ``twitch.py``), on the pages in ``pages.py``."""
