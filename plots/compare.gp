# compare.gp: change of each case's medians, CUR against BASE, in percent.
# Rows: "case" throughput-change p99-change (percent; nan when unknown).
# iobench also sets ncases and threshold (percent). For throughput higher
# is better, for p99 lower is: both are drawn as measured.
set terminal @term size 960,(220 + 30 * ncases) enhanced font 'sans,11' background rgb 'white'
set output outfile
set title title noenhanced
set key noenhanced outside top center horizontal
set datafile missing 'nan'
set grid xtics lc rgb '#dddddd'
set offsets graph 0.05, graph 0.05, 0, 0
set xlabel 'change of the median (%)'
set ylabel 'model/workload/concurrency'
set yrange [ncases - 0.3:-0.7]
set ytics noenhanced
set style fill solid 0.7 noborder
set arrow 1 from -threshold, graph 0 to -threshold, graph 1 nohead dt 2 lc rgb '#888888'
set arrow 2 from threshold, graph 0 to threshold, graph 1 nohead dt 2 lc rgb '#888888'
set arrow 3 from 0, graph 0 to 0, graph 1 nohead lc rgb '#000000'
plot datafile using (0):($0 - 0.18):(0):2:($0 - 0.36):($0):ytic(1) with boxxyerror \
     lc rgb '#1f77b4' title 'throughput (higher is better)', \
     datafile using (0):($0 + 0.18):(0):3:($0):($0 + 0.36) with boxxyerror \
     lc rgb '#d62728' title 'p99 latency (lower is better)'
unset output
