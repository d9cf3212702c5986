# cpu.gp: server CPU time (user + system) per request against concurrency.
# Blocks: header "model", rows: concurrency median min max (µs, over trials).
load scriptdir.'/common.gp'
set xlabel 'concurrent connections (log scale)'
set ylabel 'server CPU time per request (µs)'
set logscale x 2
set yrange [0:*]
plot for [i=0:nseries-1] datafile index i using 1:2:3:4 with yerrorlines lw 2 \
     title columnheader(1)
unset output
