"""ML platform logic: plain, typed functions that the Airflow DAGs and the CLI both call."""
