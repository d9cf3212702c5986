iobench_test(test_model_limits test_model_limits.c DEPENDS ioserve)
