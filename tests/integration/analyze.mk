TESTS += tests/integration/test_analyze.py
TESTS += tests/integration/test_pipeline.py
