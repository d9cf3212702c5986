# iobench run end to end (harness/run.c and friends), against the real
# ioserve and ioload, which must exist as targets for the test to mean anything.
if(TARGET iobench AND TARGET ioserve AND TARGET ioload)
  iobench_test(test_harness_run test_harness_run.c
               LIBS PkgConfig::JANSSON Threads::Threads
               DEPENDS iobench ioserve ioload)
endif()
