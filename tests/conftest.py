pytest_plugins = ["zkrecipes.testing.plugin"]
