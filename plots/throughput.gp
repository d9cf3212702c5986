# throughput.gp: requests per second against concurrency, one line per model.
# Blocks: header "model", rows: concurrency median min max (over trials),
# saturated (1: ioload was saturated in a trial, the point is hollow and the
# figure a lower bound).
load scriptdir.'/common.gp'
set xlabel 'concurrent connections (log scale)'
set ylabel 'throughput (requests/s)'
set logscale x 2
set yrange [0:*]
hollow(c) = column(5) > 0 ? column(c) : NaN
plot for [i=0:nseries-1] datafile index i using 1:2:3:4 with yerrorlines lw 2 pt 7 lc i+1 \
     title columnheader(1), \
     for [i=0:nseries-1] datafile index i using 1:(hollow(2)) with points pt 7 ps 1.3 \
     lc rgb 'white' notitle, \
     for [i=0:nseries-1] datafile index i using 1:(hollow(2)) with points pt 6 ps 1.3 lw 2 \
     lc i+1 notitle, \
     keyentry with points pt 6 ps 1.3 lw 2 lc rgb '#333333' \
     title (nsat > 0 ? hollowkey : '')
unset output
