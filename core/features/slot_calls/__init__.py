"""Slot calls: viewers request slots from chat; the streamer picks from the list in Discord."""
