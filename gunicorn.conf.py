"""gunicorn settings for the split deployment's web side (gunicorn reads this file from the
working directory; the Procfile and README commands rely on that). Same intent as the waitress
settings in core/web/server.py. gunicorn's sync workers give each connection a whole worker
while it is read, so run gunicorn behind a buffering proxy (README, "Deployment")."""

# A worker silent for 30 s is restarted; no request of ours takes a second.
timeout = 30
# On restart or stop, requests in hand get 20 s to finish.
graceful_timeout = 20
# Idle keep-alive connections (behind the proxy) are closed after 5 s.
keepalive = 5
# Request line, number of headers and each header's size: Kick sends about 1 KiB in total.
# Over these gunicorn answers 400 / 431 before the app is called.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
