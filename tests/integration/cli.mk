TESTS += tests/integration/test_cli_offline.py
