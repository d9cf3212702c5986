# common.gp: what every iobench chart shares. Loaded first by each script.
# iobench sets: datafile, outfile, title, term ('pngcairo' or 'svg'),
# scriptdir, nseries (data blocks in datafile, one per model), and for
# the per-workload charts subtitle (what was held fixed) and nsat (points
# drawn hollow because ioload was saturated).
set terminal @term size 960,600 enhanced font 'sans,11' background rgb 'white'
set output outfile
set title title.(exists('subtitle') && subtitle ne '' ? "\n".subtitle : '') noenhanced
# Model and workload names are data: no enhanced-text markup in them.
set key noenhanced outside right top box opaque Left reverse width 0
# Thirteen servers in the default suite: gnuplot's eight colours would give
# two models one colour, so sixteen distinct ones, cycling after that.
set linetype 1 lc rgb '#9400d3'
set linetype 2 lc rgb '#009e73'
set linetype 3 lc rgb '#56b4e9'
set linetype 4 lc rgb '#e69f00'
set linetype 5 lc rgb '#c8b400'
set linetype 6 lc rgb '#0072b2'
set linetype 7 lc rgb '#e51e10'
set linetype 8 lc rgb '#000000'
set linetype 9 lc rgb '#8c564b'
set linetype 10 lc rgb '#e377c2'
set linetype 11 lc rgb '#7f7f7f'
set linetype 12 lc rgb '#8fa31a'
set linetype 13 lc rgb '#17becf'
set linetype 14 lc rgb '#393b79'
set linetype 15 lc rgb '#ad494a'
set linetype 16 lc rgb '#ff7f0e'
set linetype cycle 16
set grid xtics ytics mxtics mytics lc rgb '#dddddd'
set border 3
set tics nomirror
set datafile missing 'nan'
set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05
