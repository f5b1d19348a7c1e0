"""StreamElements: the loyalty points API, for streamers who keep their viewers' points there."""
