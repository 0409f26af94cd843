"""The parts of the demo data generator; :mod:`ml_platform_demo.generate` runs them."""
