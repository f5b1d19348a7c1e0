"""Live updates: "topic T changed for guild G" notes for the dashboard's open pages."""
