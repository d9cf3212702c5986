# The report's findings rules (harness/findings.c) in-process, on summaries
# the tests build and on tests/data/results-fixture.
if(TARGET iobench AND EXISTS ${PROJECT_SOURCE_DIR}/harness/findings.c)
  set(h ${PROJECT_SOURCE_DIR}/harness)
  iobench_test(test_findings test_findings.c ${h}/findings.c ${h}/plot.c ${h}/util.c
               ${h}/stats_mw.c LIBS hdr iobench_common m)
  target_include_directories(test_findings PRIVATE ${h})
endif()
