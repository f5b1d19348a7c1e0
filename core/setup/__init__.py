"""The first-run setup page's checks (``core/web/setup/`` renders them): every setting the
operator fills in, whether it works, and what to do about it. No Flask, no discord.py here."""
