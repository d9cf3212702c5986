iobench_test(test_http_parser test_http_parser.c LIBS http_parser)
