TESTS += tests/integration/test_analyze.py
