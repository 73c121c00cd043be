# SPDX-License-Identifier: GPL-2.0
# The chart of 'make bench': one bar per row, the paired ratio iommufd /
# type1 on a log scale (1 is a tie) from the smallest decade the ratios
# need, its value at its end, and the row's target as a black mark across
# it.
#   gnuplot -e 'data="bench.dat"; out="bench.png"; rows=N; reps=N' chart.gp
set terminal pngcairo noenhanced size 1000, 160 + 40 * rows font "sans,10"
set output out
set title sprintf("iommufd / VFIO type1, %d repetitions: lower is better\nbar green where it meets its target (black mark), red where not", reps)
set xlabel "iommufd / type1, median of the back-to-back ratios (time or memory), log scale"
set datafile separator "\t"
stats data using 3 nooutput
low = STATS_min < 0.1 ? 0.01 : 0.1
set style fill solid 0.85 border -1
set yrange [rows + 0.7:0.3]
set logscale x
set xrange [low:(STATS_max > 5 ? STATS_max * 2 : 10)]
set xtics ("0.01" 0.01, "0.02" 0.02, "0.05" 0.05, "0.1" 0.1, "0.2" 0.2, \
	"0.5" 0.5, "1" 1, "2" 2, "5" 5, "10" 10, "20" 20, "50" 50, "100" 100)
set ytics scale 0 nomirror
set grid xtics
unset key
plot data using (sqrt(low * $3)):1:(low):3:($1 - 0.35):($1 + 0.35):5:ytic(2) \
	with boxxyerror lc rgb variable, \
     data using 4:($1 - 0.45):(0):(0.9) with vectors nohead lw 3 \
	lc rgb "black", \
     data using ($3 < $4 && $3 > $4 * 0.75 ? $4 : $3):1:(sprintf(" %.2f", $3)) \
	with labels left
