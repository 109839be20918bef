EXTRA_DIST += tests/tap.h
include $(srcdir)/tests/integration/local.mk
EXTRA_DIST += tests/testutil.h tests/unbound.h
