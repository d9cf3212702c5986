# respframe: the stream engine's response framer, at every split point.
iobench_test(test_respframe test_respframe.c ../loadgen/respframe.c)
target_include_directories(test_respframe PRIVATE ${PROJECT_SOURCE_DIR}/loadgen
                                                  ${CMAKE_CURRENT_SOURCE_DIR}/support)
