# idle.gp: throughput of a fixed busy load against idle connections beside it.
# Blocks (one per model): header "model", rows: idle connections, req/s
# median min max, saturated (1: hollow, a lower bound). Lines join one
# model's idle levels: the count is a continuous axis.
load scriptdir.'/common.gp'
set xlabel 'idle keep-alive connections beside the busy ones'
set ylabel 'throughput (requests/s)'
set yrange [0:*]
hollow(c) = column(5) > 0 ? column(c) : NaN
plot for [i=0:nseries-1] datafile index i using 1:2:3:4 with yerrorlines lw 2 pt 7 lc i+1 \
       title columnheader(1), \
     for [i=0:nseries-1] datafile index i using 1:(hollow(2)) with points pt 7 ps 1.3 \
       lc rgb 'white' notitle, \
     for [i=0:nseries-1] datafile index i using 1:(hollow(2)) with points pt 6 ps 1.3 lw 2 \
       lc i+1 notitle, \
     keyentry with points pt 6 ps 1.3 lw 2 lc rgb '#333333' title (nsat > 0 ? hollowkey : '')
unset output
