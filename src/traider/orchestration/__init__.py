"""What the Airflow DAG files share: assets, schedules and task defaults. No I/O at import time."""
