# Integration tests: limits, durability, recording (itest-store).
TESTS += \
	tests/integration/test_roundtrip.py \
	tests/integration/test_limits.py \
	tests/integration/test_sessions.py \
	tests/integration/test_crash.py \
	tests/integration/test_diskfull.py \
	tests/integration/test_unwritable.py \
	tests/integration/test_daemon.py \
	tests/integration/test_syslog.py
EXTRA_DIST += tests/fixtures
