"""Chat commands: what the bot answers in a streamer's chat."""
