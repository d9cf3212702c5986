# iobench: the benchmark harness (run, plot, compare, report).
set(iobench_sources main.c util.c run.c suite.c verify.c procmon.c slowclients.c)
# iobench run's modules (run.c is the order of things, each concern its own file).
list(APPEND iobench_sources runopts.c cpuplan.c resultsdir.c server.c load.c runrecord.c
     summary.c child.c resume.c refserver.c)
# The analysis subcommands; history draws with plot.c's renderer.
list(APPEND iobench_sources plot.c compare.c report.c stats_mw.c findings.c history.c
     history_chart.c edivisive.c)

add_executable(iobench ${iobench_sources})
target_include_directories(iobench PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(iobench PRIVATE PkgConfig::CURL PkgConfig::JANSSON hdr iobench_common m Threads::Threads)
# The binaries run launches; servers/ and loadgen/ are processed first.
foreach(tool ioserve ioload)
  string(TOUPPER ${tool} TOOL)
  if(TARGET ${tool})
    target_compile_definitions(iobench PRIVATE ${TOOL}_BIN="$<TARGET_FILE:${tool}>")
  endif()
endforeach()
