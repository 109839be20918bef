# Protocol integration tests (real relaytrapd on loopback, real clients).
TESTS += tests/integration/test_smtp_dialog.py \
	tests/integration/test_relay_forms.py \
	tests/integration/test_clients.py \
	tests/integration/test_data.py \
	tests/integration/test_proxy.py \
	tests/integration/test_bdat.py \
	tests/integration/test_bdat_exim.py
