# make bench: the VT-d machine on the bench kernel (no debug options), with
# 4 GiB, 1 GiB of hugetlbfs pages and a second lone edu for the COPY
# workload.
. "$MACHINES/test.sh"
kernel=bench
devices+=(-device edu,bus=pcie.0,addr=0x7)
mem=4G
append+=" hugepages=512"
