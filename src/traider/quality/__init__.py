"""Data quality: the quarantine for rejected records and (later) the Great Expectations suites."""
