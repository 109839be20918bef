noinst_LIBRARIES += util/libutil.a
util_libutil_a_SOURCES = \
	util/addr.c util/addr.h \
	util/buf.c util/buf.h \
	util/compat.c util/compat.h \
	util/dbutil.c util/dbutil.h \
	util/evlog.c util/evlog.h \
	util/jsonutil.c util/jsonutil.h \
	util/log.c util/log.h \
	util/mix64.h \
	util/privsep.c util/privsep.h \
	util/xmalloc.c util/xmalloc.h
