FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY core ./core
COPY api ./api
COPY pages ./pages
COPY config ./config
COPY catalog ./catalog
COPY orders ./orders
COPY readmodels ./readmodels
COPY templates ./templates
COPY static ./static
COPY manage.py ./
RUN pip install . \
    && SECRET_KEY=build DATABASE_URL=postgres://build@localhost/build python manage.py collectstatic --no-input \
    && useradd --create-home shop \
    && mkdir /app/metrics && chown shop /app/metrics
USER shop
# gunicorn's and Celery's processes keep their Prometheus counters here; /metrics adds them up.
ENV PROMETHEUS_MULTIPROC_DIR=/app/metrics

EXPOSE 8000
# Workers, threads and the rest: config/gunicorn.conf.py (WEB_WORKERS, WEB_THREADS).
CMD ["gunicorn", "--config", "config/gunicorn.conf.py", "config.wsgi"]
