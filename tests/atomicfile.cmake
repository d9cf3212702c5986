# common/atomicfile under SIGKILL mid-write.
iobench_test(test_atomicfile test_atomicfile.c LIBS iobench_common)
