-- Runs once, when the TimescaleDB container initialises an empty data directory (docker-entrypoint-initdb.d).
-- TRAIDER's own database is POSTGRES_DB; Airflow's metadata lives in its own database on the same server.
-- MLflow's backend store and basic-auth databases are created by the MLflow service itself when missing.
CREATE DATABASE airflow;
