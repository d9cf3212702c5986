# ioload's two engines against real ioserve servers and canned responses.
if(TARGET ioload AND TARGET ioserve)
  iobench_test(test_engines test_engines.c LIBS hdr DEPENDS ioload ioserve)
endif()
