# ioload's two engines against real ioserve servers and canned responses.
if(TARGET ioload AND TARGET ioserve)
  iobench_test(test_engines test_engines.c DEPENDS ioload ioserve)
endif()
