# iobench's open-loop workloads at fractions of each model's capacity.
if(TARGET iobench AND TARGET ioserve AND TARGET ioload)
  iobench_test(test_harness_offered test_harness_offered.c
               LIBS PkgConfig::JANSSON
               DEPENDS iobench ioserve ioload)
endif()
