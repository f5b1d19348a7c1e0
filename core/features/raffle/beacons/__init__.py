"""The public randomness beacon (drand): its relays, the chains pinned by hash, and the
signatures checked offline."""
