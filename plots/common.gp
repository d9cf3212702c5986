# common.gp: what every iobench chart shares. Loaded first by each script.
# iobench sets: datafile, outfile, title, term ('pngcairo' or 'svg'),
# scriptdir, nseries (data blocks in datafile, one per model), and for
# the per-workload charts subtitle (what was held fixed) and nsat (points
# drawn hollow because ioload was saturated).
set terminal @term size 960,600 enhanced font 'sans,11' background rgb 'white'
set output outfile
set title title.(exists('subtitle') && subtitle ne '' ? "\n".subtitle : '') noenhanced
# Model and workload names are data: no enhanced-text markup in them.
set key noenhanced outside right top box opaque Left reverse width -5
set grid xtics ytics mxtics mytics lc rgb '#dddddd'
set border 3
set tics nomirror
set datafile missing 'nan'
set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05
