"""Dashboard sign-ins kept on the server, so a logout ends one for good (not only the cookie)."""
