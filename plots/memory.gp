# memory.gp: server peak resident memory against open connections, over
# every workload. Blocks: header "model", rows: open connections, peak RSS
# median min max (MiB, over the runs with that many connections open).
# Points, not lines: neighbouring points come from different workloads,
# so nothing lies between them.
load scriptdir.'/common.gp'
set xlabel 'open connections (log scale)'
set ylabel 'server peak RSS (MiB)'
set logscale x 2
set yrange [0:*]
plot for [i=0:nseries-1] datafile index i using 1:2:3:4 with yerrorbars pt 7 ps 1.2 lw 1.5 \
     title columnheader(1)
unset output
