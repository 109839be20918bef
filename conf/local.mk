noinst_LIBRARIES += conf/libconf.a
conf_libconf_a_SOURCES = conf/conf.c conf/conf.h conf/conf_defs.h
dist_sysconf_DATA = conf/relaytrap.conf
