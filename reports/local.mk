# reports/: resolver, forwarder, abuse reports and their tests
include $(srcdir)/reports/resolver.mk
include $(srcdir)/reports/forward.mk
