noinst_LIBRARIES += conf/libconf.a
conf_libconf_a_SOURCES = conf/conf.c conf/conf.h conf/conf_defs.h
dist_sysconf_DATA = conf/relaytrap.conf

check_PROGRAMS += tests/unit/test_conf
TESTS += tests/unit/test_conf
tests_unit_test_conf_SOURCES = tests/unit/test_conf.c
tests_unit_test_conf_LDADD = $(RT_BASE_LIBS) $(RT_EXT_LIBS)

# The sample's paths are relative, for README's first command run from the
# checkout. Installed, a relative spool would be resolved against whatever
# directory relaytrapd is started in (/ under an init system: ./var/spool
# would be the system's), so the installed copy gets absolute paths.
install-data-hook: install-conf-paths
install-conf-paths:
	$(MKDIR_P) '$(DESTDIR)$(localstatedir)/log'
	sed -i -e 's|^spool = "\./var/spool"|spool = "$(localstatedir)/spool/relaytrap"|' \
	    -e 's|^event_log = "\./var/events\.jsonl"|event_log = "$(localstatedir)/log/relaytrap-events.jsonl"|' \
	    -e 's|keeps its spool under \./var and|keeps its spool under $(localstatedir)/spool/relaytrap and|' \
	    '$(DESTDIR)$(sysconfdir)/relaytrap.conf'
.PHONY: install-conf-paths

# make distcheck runs this on its staged installation
installcheck-local:
	grep -q '^spool = "/' '$(DESTDIR)$(sysconfdir)/relaytrap.conf'
	grep -q '^event_log = "/' '$(DESTDIR)$(sysconfdir)/relaytrap.conf'
	'$(DESTDIR)$(sbindir)/relaytrapd' -t -o 'user = nobody' \
	    -c '$(DESTDIR)$(sysconfdir)/relaytrap.conf'
