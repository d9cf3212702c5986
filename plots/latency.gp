# latency.gp: p50 (dashed) and p99 (solid) latency against concurrency.
# Blocks: header "model p99" "model p50", rows: concurrency p99 median min
# max, p50 median min max (microseconds, over trials), saturated (1: ioload
# was saturated in a trial; hollow points, latency holding ioload's delay).
load scriptdir.'/common.gp'
set xlabel 'concurrent connections (log scale)'
set ylabel 'latency (µs, log scale)'
set logscale x 2
set logscale y 10
hollow(c) = column(8) > 0 ? column(c) : NaN
plot for [i=0:nseries-1] datafile index i using 1:2:3:4 with yerrorlines lw 2 pt 7 lc i+1 \
     title columnheader(1), \
     for [i=0:nseries-1] datafile index i using 1:5:6:7 with yerrorlines lw 1 dt 2 pt 7 lc i+1 \
     title columnheader(2), \
     for [i=0:nseries-1] for [c in "2 5"] datafile index i using 1:(hollow(int(c))) \
     with points pt 7 ps 1.3 lc rgb 'white' notitle, \
     for [i=0:nseries-1] for [c in "2 5"] datafile index i using 1:(hollow(int(c))) \
     with points pt 6 ps 1.3 lw 2 lc i+1 notitle, \
     keyentry with points pt 6 ps 1.3 lw 2 lc rgb '#333333' \
     title (nsat > 0 ? hollowkey : '')
unset output
