# latency.gp: p50 (dashed) and p99 (solid) latency against concurrency.
# Blocks: header "model p99" "model p50", rows: concurrency p99 median min
# max, p50 median min max (microseconds, over trials).
load scriptdir.'/common.gp'
set xlabel 'concurrent connections (log scale)'
set ylabel 'latency (µs, log scale)'
set logscale x 2
set logscale y 10
plot for [i=0:nseries-1] datafile index i using 1:2:3:4 with yerrorlines lw 2 lc i+1 \
     title columnheader(1), \
     for [i=0:nseries-1] datafile index i using 1:5:6:7 with yerrorlines lw 1 dt 2 lc i+1 \
     title columnheader(2)
unset output
