# ioload through its command line and JSON against a real ioserve: open-loop
# rate, timeline, --idle seen by the server, SIGINT, merge's failure paths.
if(TARGET ioload AND TARGET ioserve)
  iobench_test(test_ioload_cli test_ioload_cli.c LIBS hdr PkgConfig::JANSSON
               DEPENDS ioload ioserve)
endif()
