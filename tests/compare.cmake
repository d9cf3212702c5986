# iobench compare's verdicts, table-driven, on results directories the test
# writes (harness/compare.c).
if(TARGET iobench)
  iobench_test(test_compare test_compare.c LIBS PkgConfig::JANSSON DEPENDS iobench)
endif()
