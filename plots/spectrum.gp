# spectrum.gp: latency by percentile, HdrHistogram style, at one level.
# Blocks: header "model", rows: 1/(1-p) median min max (microseconds at
# percentile p, over trials). The band is min..max, the line the median.
load scriptdir.'/common.gp'
set xlabel 'percentile'
set ylabel 'latency (µs, log scale)'
set logscale x 10
set logscale y 10
set xtics ('0%%' 1, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000, '99.999%%' 100000)
set style fill transparent solid 0.20 noborder
plot for [i=0:nseries-1] datafile index i using 1:3:4 with filledcurves lc i+1 notitle, \
     for [i=0:nseries-1] datafile index i using 1:2 with lines lw 2 lc i+1 title columnheader(1)
unset output
