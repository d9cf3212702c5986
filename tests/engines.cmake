# ioload's two engines against real ioserve servers and canned responses.
if(TARGET ioload AND TARGET ioserve)
  iobench_test(test_engines test_engines.c LIBS hdr DEPENDS ioload ioserve)
endif()
# Open-loop timing: Release only (not in the sanitizer builds' list).
if(TARGET ioload AND TARGET ioserve)
  iobench_test(test_openloop test_openloop.c DEPENDS ioload ioserve)
endif()
