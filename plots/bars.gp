# bars.gp: a workload run at one concurrency level, one group of bars per
# model: no line joins models, since nothing lies between them.
# A 0 is written on the axis where the median completed no request.
# One block; rows: "model", then per field median min max, then 1 when
# ioload was saturated in a trial of that case (the bar is drawn hollow:
# a lower bound), else 0. iobench also sets nfields (1 or 2), names (a
# word per field for the key, '' for none), ylab, xlab, nsat (hollow bars)
# and hollowkey (what a hollow bar means).
load scriptdir.'/common.gp'
set xlabel xlab noenhanced
set ylabel ylab
set yrange [0:*]
set xrange [-0.6:nseries - 0.4]
set offsets 0, 0, graph 0.05, 0
set grid noxtics nomxtics
set xtics noenhanced nomirror scale 0
# Models run along x: the key only explains fills, above the chart.
set key noenhanced outside top center horizontal noreverse Right width 0 box opaque
if (nfields < 2 && nsat == 0) unset key  # nothing to explain
bw = 0.8 / nfields
x(k) = $0 - 0.4 + bw * (k + 0.5)
satcol = 2 + 3 * nfields
plot for [k=0:nfields-1] datafile using (x(k)):(column(satcol) > 0 ? NaN : column(2 + 3 * k)):(bw * 0.9) \
         with boxes fs solid 0.75 lc k+1 title word(names, k+1), \
     for [k=0:nfields-1] datafile using (x(k)):(column(satcol) > 0 ? column(2 + 3 * k) : NaN):(bw * 0.9) \
         with boxes fs empty border lt k+1 lw 2 lc k+1 notitle, \
     for [k=0:nfields-1] datafile using (x(k)):(column(3 + 3 * k)):(0):(column(4 + 3 * k) - column(3 + 3 * k)) \
         with vectors heads size 0.05,90 lc rgb '#333333' lw 1.5 notitle, \
     for [k=0:nfields-1] datafile using (x(k)):(column(2 + 3 * k)):(column(2 + 3 * k) == 0 ? '0' : '') \
         with labels offset 0,0.7 notitle, \
     datafile using ($0):(NaN):xtic(1) notitle, \
     keyentry with boxes fs empty border lt -1 lw 2 lc rgb '#333333' \
         title (nsat > 0 ? hollowkey : '')
unset output
