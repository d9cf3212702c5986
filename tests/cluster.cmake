# The cluster path: scripts/slurm/iobench.sbatch on a one-node Slurm cluster
# the test starts (tests/slurm/cluster.sh). Skipped unless root with Slurm.
if(TARGET iobench AND TARGET ioserve AND TARGET ioload)
  iobench_test(test_harness_slurm test_harness_slurm.c
               LIBS PkgConfig::JANSSON
               DEPENDS iobench ioserve ioload)
  target_compile_definitions(test_harness_slurm PRIVATE
                             IOBENCH_BINARY_DIR="${CMAKE_BINARY_DIR}")
  # A skip (not root, no Slurm) shows as skipped in ctest, not as passed.
  set_tests_properties(test_harness_slurm PROPERTIES SKIP_REGULAR_EXPRESSION "\\[SKIP\\]")
endif()
