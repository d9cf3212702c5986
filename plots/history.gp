# history.gp: one metric of one workload and concurrency across commits
# (iobench history). Blocks: header "model", rows: commit-index median min
# max over the trials at that commit; a blank line where the machine, load
# generator or suite changed. iobench also sets ylabel, ylog (1: log scale)
# and markers: a file of gnuplot commands with the x tics (commit names),
# the change points and segment changes as vertical lines, and the
# detection's parameters.
load scriptdir.'/common.gp'
set bmargin 7
set xlabel 'commit (oldest first)' offset 0,-1
set ylabel ylabel
if (ylog) set logscale y 10
# Only the data's own range: whole decades would flatten a 10% step.
set autoscale yfix
set offsets 0, 0, graph 0.05, graph 0.05
load markers
plot for [i=0:nseries-1] datafile index i using 1:3:4 with filledcurves \
     fs transparent solid 0.15 noborder lc i+1 notitle, \
     for [i=0:nseries-1] datafile index i using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc i+1 \
     title columnheader(1)
unset output
