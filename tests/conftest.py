"""The fixtures come from the `zkrecipes.testing.plugin` pytest plugin, registered by the
wheel's `pytest11` entry point (see pyproject.toml)."""
