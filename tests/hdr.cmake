# The histogram and its HdrHistogram V2 codec (loadgen/hdr.c, hdr_codec.c).
iobench_test(test_hdr test_hdr.c LIBS hdr)
