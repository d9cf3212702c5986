# ioload: option parsing and classification in-process (ioload_core), and the
# binary run as a process against real ioserve servers and test-local sockets.
if(TARGET ioload AND TARGET ioserve)
  iobench_test(test_ioload test_ioload.c
               LIBS ioload_core hdr PkgConfig::JANSSON
               DEPENDS ioload ioserve)
endif()
