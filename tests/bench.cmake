# Micro-benchmarks run by scripts (not tests): the response framer against
# libhttp-parser, counted in instructions by scripts/bench-framer.sh.
find_library(HTTP_PARSER_LIB http_parser)
if(HTTP_PARSER_LIB)
  add_executable(bench_framer bench/bench_framer.c ${PROJECT_SOURCE_DIR}/loadgen/respframe.c)
  target_include_directories(bench_framer PRIVATE ${PROJECT_SOURCE_DIR}/loadgen)
  target_link_libraries(bench_framer PRIVATE ${HTTP_PARSER_LIB})
endif()
# What this machine's timers and scheduler allow (timer lag, an idle
# process's wake-up, the host's stalls), printed by scripts/bench-ioload.sh
# beside the latency figures they bound.
add_executable(bench_wake bench/bench_wake.c)
