# The harness's analysis side: stats_mw.c in-process, and iobench plot,
# compare and report run as processes on tests/data/results-fixture.
if(TARGET iobench AND EXISTS ${PROJECT_SOURCE_DIR}/harness/stats_mw.c)
  iobench_test(test_harness_analysis test_harness_analysis.c
               ${PROJECT_SOURCE_DIR}/harness/stats_mw.c
               LIBS m DEPENDS iobench)
  target_include_directories(test_harness_analysis PRIVATE ${PROJECT_SOURCE_DIR}/harness)
endif()
