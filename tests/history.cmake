# iobench history: the change-point statistics (harness/edivisive.c) in
# process, and the subcommand and scripts/history.sh run as processes on
# summary.json fixtures the test writes.
if(TARGET iobench AND EXISTS ${PROJECT_SOURCE_DIR}/harness/edivisive.c)
  iobench_test(test_history test_history.c ${PROJECT_SOURCE_DIR}/harness/edivisive.c
               LIBS PkgConfig::JANSSON m DEPENDS iobench)
  target_include_directories(test_history PRIVATE ${PROJECT_SOURCE_DIR}/harness)
endif()
