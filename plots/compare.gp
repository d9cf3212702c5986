# compare.gp: change of each case's medians, CUR against BASE, in percent,
# for the cases past the threshold or significant, largest change first.
# Rows: "case" throughput-change p99-change (percent; nan when unknown)
# throughput-significant p99-significant (1 when p < alpha). A solid bar
# is significant, a hollow one is not. iobench also sets ncases,
# threshold (percent), alpha and footnote (what was left out). For
# throughput higher is better, for p99 lower is: both drawn as measured.
set terminal @term size 960,(220 + 30 * ncases) enhanced font 'sans,11' background rgb 'white'
set output outfile
set title title noenhanced
set key noenhanced outside top center horizontal
set datafile missing 'nan'
set grid xtics lc rgb '#dddddd'
set offsets graph 0.05, graph 0.05, 0, 0
set xlabel "change of the median (%)\n".footnote noenhanced
set ylabel 'model/workload/concurrency'
set yrange [ncases - 0.3:-0.7]
set ytics noenhanced
set arrow 1 from -threshold, graph 0 to -threshold, graph 1 nohead dt 2 lc rgb '#888888'
set arrow 2 from threshold, graph 0 to threshold, graph 1 nohead dt 2 lc rgb '#888888'
set arrow 3 from 0, graph 0 to 0, graph 1 nohead lc rgb '#000000'
# gnuplot skips a boxxyerror row only when x or y is undefined.
sig(c, y) = column(c) > 0 ? y : 1/0
ns(c, y) = column(c) > 0 ? 1/0 : y
plot datafile using (1/0):($0):ytic(1) notitle, \
     datafile using (0):(sig(4, $0 - 0.18)):(0):2:($0 - 0.36):($0) with boxxyerror \
     fs solid 0.7 noborder lc rgb '#1f77b4' title 'throughput (higher is better)', \
     datafile using (0):(ns(4, $0 - 0.18)):(0):2:($0 - 0.36):($0) with boxxyerror \
     fs empty lw 1.5 lc rgb '#1f77b4' notitle, \
     datafile using (0):(sig(5, $0 + 0.18)):(0):3:($0):($0 + 0.36) with boxxyerror \
     fs solid 0.7 noborder lc rgb '#d62728' title 'p99 latency (lower is better)', \
     datafile using (0):(ns(5, $0 + 0.18)):(0):3:($0):($0 + 0.36) with boxxyerror \
     fs empty lw 1.5 lc rgb '#d62728' notitle, \
     keyentry with boxes fs empty lc rgb '#333333' \
     title sprintf('hollow: not significant (p >= %g)', alpha)
unset output
