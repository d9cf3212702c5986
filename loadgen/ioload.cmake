# ioload: the load generator. Everything but main() is in ioload_core so the
# tests can link the modules directly.
add_library(ioload_core STATIC
  ${CMAKE_CURRENT_LIST_DIR}/ioload_opts.c
  ${CMAKE_CURRENT_LIST_DIR}/ioload_errors.c
  ${CMAKE_CURRENT_LIST_DIR}/ioload_engine.c
  ${CMAKE_CURRENT_LIST_DIR}/ioload_worker.c
  ${CMAKE_CURRENT_LIST_DIR}/ioload_sched.c
  ${CMAKE_CURRENT_LIST_DIR}/ioload_curl.c
  ${CMAKE_CURRENT_LIST_DIR}/ioload_transfer.c
  ${CMAKE_CURRENT_LIST_DIR}/ioload_stream.c
  ${CMAKE_CURRENT_LIST_DIR}/respframe.c
  ${CMAKE_CURRENT_LIST_DIR}/ioload_env.c
  ${CMAKE_CURRENT_LIST_DIR}/ioload_report.c
  ${CMAKE_CURRENT_LIST_DIR}/ioload_merge.c)
target_include_directories(ioload_core PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(ioload_core PUBLIC hdr iobench_common PkgConfig::CURL PkgConfig::JANSSON Threads::Threads m)

add_executable(ioload ${CMAKE_CURRENT_LIST_DIR}/ioload_main.c)
target_link_libraries(ioload PRIVATE ioload_core)
