# Two images from one file (docker-compose.yml builds both):
#   superset  (`target: superset`)  Superset for the `bi` profile, with the DuckDB driver the published file needs
#   the last stage (default target)  Airflow 3 with the maturity package, dbt project, expectations and DAGs
# Every service runs what requirements.lock pins: the Celery provider, celery, redis (the broker client),
# psycopg2-binary (the metadata DB) — and curl for the health checks, Chromium for the PDF reports.

# --- Superset reading the published marts (read-only) through duckdb-engine
FROM apache/superset:4.1.1 AS superset
USER root
# The published file is written by DuckDB 1.5.5: it must be read by DuckDB 1.5.x (storage version).
RUN pip install --no-cache-dir "duckdb==1.5.5" "duckdb-engine==0.17.0"
USER superset

# --- Airflow + the project
FROM python:3.11-slim AS airflow
ARG INSTALL_CHROMIUM=true
ENV PIP_NO_CACHE_DIR=1 \
    AIRFLOW_HOME=/opt/airflow \
    PYTHONUNBUFFERED=1 \
    MATURITY_CHROMIUM=/usr/bin/chromium
# curl: the api-server and scheduler health checks; chromium: the direktion report PDFs (else HTML only)
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl ca-certificates \
    && if [ "$INSTALL_CHROMIUM" = "true" ]; then apt-get install -y --no-install-recommends chromium; fi \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/maturity
COPY pyproject.toml requirements.lock README.md ./
COPY include ./include
COPY dags ./dags
COPY dbt_project ./dbt_project
COPY expectations ./expectations
# The lock carries asyncpg too: Airflow 3 also opens the Postgres metadata DB asynchronously.
RUN pip install "uv==0.13.9" && uv pip install --system --compile-bytecode -r requirements.lock -e . \
    && python -c "import airflow.providers.celery, celery, redis, psycopg2, asyncpg" \
    && useradd --create-home --uid 50000 --gid 0 airflow \
    && mkdir -p /opt/airflow/logs /data/landing /data/warehouse \
    && chown -R airflow:0 /opt/airflow /opt/maturity /data
# Empty named volumes mounted on /data/* and /opt/airflow take this ownership on first use.
USER airflow
EXPOSE 8080
CMD ["airflow", "version"]
