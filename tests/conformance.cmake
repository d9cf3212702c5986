# The conformance suite: every ioserve model against docs/protocol.md.
iobench_test(test_conformance test_conformance.c DEPENDS ioserve)
