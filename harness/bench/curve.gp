# SPDX-License-Identifier: GPL-2.0
# A curve of 'make bench': the medians of both backends against a count on
# a log scale, the repetitions' range as error bars.
#   gnuplot -e 'data="F"; out="F.png"; first="type1 column's name";
#   what="..."; xlabel="..."; ylabel="..."' curve.gp
# data: "x, type1 median, min, max, iommufd median, min, max", tab separated.
set terminal pngcairo noenhanced size 900, 520 font "sans,10"
set output out
set title what . "\nlower is better; bars span the repetitions"
set xlabel xlabel
set ylabel ylabel
set datafile separator "\t"
set logscale x
set yrange [0:*]
set grid
set key top left
plot data using 1:2:3:4 with yerrorlines lw 2 lc rgb "0x7f8c8d" \
	title first, \
     data using 1:5:6:7 with yerrorlines lw 2 lc rgb "0x2e8b57" \
	title "iommufd"
