TESTS += tests/integration/test_relaytest.py
