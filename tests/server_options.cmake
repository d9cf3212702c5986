# ioserve's options and signals the protocol suites leave alone (SIGINT,
# --drain-timeout, --max-conns, --write-timeout, --host), on every model.
iobench_test(test_server_options test_server_options.c DEPENDS ioserve)
