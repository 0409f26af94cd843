"""The demo run's steps after the ELT (``make run``): each runs the real DAG with ``dag.test()``."""
