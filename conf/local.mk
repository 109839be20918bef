noinst_LIBRARIES += conf/libconf.a
conf_libconf_a_SOURCES = conf/conf.c conf/conf.h conf/conf_defs.h
dist_sysconf_DATA = conf/relaytrap.conf

check_PROGRAMS += tests/unit/test_conf
TESTS += tests/unit/test_conf
tests_unit_test_conf_SOURCES = tests/unit/test_conf.c
tests_unit_test_conf_LDADD = $(RT_BASE_LIBS) $(RT_EXT_LIBS)
