"""Neural Lab test suite (a package, so `tests.conftest` is imported once, by one name)."""
