"""``python -m ml_tasks ...``: every stage of the platform from the command line."""

from ml_tasks.cli import main

raise SystemExit(main())
