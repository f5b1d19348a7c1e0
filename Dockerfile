# StreamKeeper: one image for every process (combined, web, bot).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/app/data

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY core ./core
COPY bot.py combined_server.py setup_database.py health_check.py gunicorn.conf.py ./

RUN useradd --create-home --uid 10001 streamkeeper \
    && mkdir -p /app/data && chown streamkeeper /app/data
USER streamkeeper
VOLUME ["/app/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python health_check.py > /dev/null || exit 1

CMD ["python", "combined_server.py"]
