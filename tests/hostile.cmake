# Hostile clients against every I/O model (issue #5): needs the server built.
iobench_test(test_hostile test_hostile.c LIBS Threads::Threads DEPENDS ioserve)
