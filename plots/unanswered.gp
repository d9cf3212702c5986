# unanswered.gp: connections that got no response during the run, against
# concurrency; what latency percentiles cannot show (they describe only the
# requests that were answered). The dotted diagonal is "every connection".
# Blocks: header "model", rows: concurrency median min max (over trials).
load scriptdir.'/common.gp'
set xlabel 'concurrent connections (log scale)'
set ylabel 'connections without any response'
set logscale x 2
set yrange [0:*]
plot for [i=0:nseries-1] datafile index i using 1:2:3:4 with yerrorlines lw 2 \
     title columnheader(1), \
     x with lines dt 3 lc rgb '#888888' title 'all connections'
unset output
