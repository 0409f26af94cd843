"""``python -m ml_platform_demo ...``: the demo run, the data generator, the embedded services."""

from ml_platform_demo.cli import main

raise SystemExit(main())
