# throughput.gp: requests per second against concurrency, one line per model.
# Blocks: header "model", rows: concurrency median min max (over trials).
load scriptdir.'/common.gp'
set xlabel 'concurrent connections (log scale)'
set ylabel 'throughput (requests/s)'
set logscale x 2
set yrange [0:*]
plot for [i=0:nseries-1] datafile index i using 1:2:3:4 with yerrorlines lw 2 \
     title columnheader(1)
unset output
