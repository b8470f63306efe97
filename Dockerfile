# The project image: Airflow 3 with the maturity package, dbt project and DAGs installed.
FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 AIRFLOW_HOME=/opt/airflow PYTHONUNBUFFERED=1
WORKDIR /opt/maturity
COPY pyproject.toml requirements.lock README.md ./
COPY include ./include
COPY dags ./dags
COPY dbt_project ./dbt_project
COPY expectations ./expectations
RUN pip install "uv==0.13.9" && uv pip install --system -r requirements.lock -e . \
    && useradd --create-home --uid 50000 airflow && mkdir -p /opt/airflow && chown -R airflow /opt/airflow /opt/maturity
USER airflow
