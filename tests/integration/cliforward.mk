# tests/integration/cliforward.mk -- relaytrap dropbox/verdict/release/forward (issue 3)
TESTS += tests/integration/test_cli_forward.py
