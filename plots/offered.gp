# offered.gp: open loop at fractions of each model's closed-loop capacity.
# Blocks (one per model): header "model", rows: offered req/s; achieved
# req/s median min max; p50 µs median min max; p99 µs median min max;
# send lag p99 µs (median); saturated (1: ioload called itself saturated in
# a trial, points hollow). Lines join one model's fractions: offered load is
# a continuous axis, so a line between two points means something.
load scriptdir.'/common.gp'
set terminal @term size 960,980 enhanced font 'sans,11' background rgb 'white'
set output outfile
set multiplot layout 3,1 title title.(exists('subtitle') && subtitle ne '' ? "\n".subtitle : '') noenhanced
unset title
set xlabel 'offered load (requests/s)'
set key noenhanced outside right top box opaque Left reverse width -2
# The same margins in every panel, so that their x axes line up.
set lmargin 12
set rmargin 26
hollow(c) = column(12) > 0 ? column(c) : NaN

set ylabel 'µs, log: p99 solid, p50 dashed'
set logscale y 10
plot for [i=0:nseries-1] datafile index i using 1:8:9:10 with yerrorlines lw 2 pt 7 lc i+1 \
       title columnheader(1), \
     for [i=0:nseries-1] datafile index i using 1:5:6:7 with yerrorlines lw 1 dt 2 pt 7 lc i+1 \
       notitle, \
     for [i=0:nseries-1] datafile index i using 1:(hollow(8)) with points pt 6 ps 1.6 lw 2 \
       lc i+1 notitle, \
     keyentry with points pt 6 ps 1.6 lw 2 lc rgb '#333333' title (nsat > 0 ? hollowkey : '')

unset logscale y
set key inside left top
set ylabel 'achieved (requests/s)'
plot x with lines dt 3 lc rgb '#888888' title 'offered', \
     for [i=0:nseries-1] datafile index i using 1:2:3:4 with yerrorlines lw 2 pt 7 lc i+1 \
       title columnheader(1)

set ylabel 'send lag p99 (µs, log)'
set logscale y 10
plot for [i=0:nseries-1] datafile index i using 1:($11 > 0 ? $11 : 0.1) with linespoints lw 2 \
       pt 7 lc i+1 title columnheader(1)
unset multiplot
unset output
