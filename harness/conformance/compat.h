/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Included (gcc -include) before upstream's conformance tests. Debian's
 * 6.12 selftest sources came with stable backports and use a few names
 * newer than the uAPI headers shipped beside them; this supplies those
 * names, and nothing that the headers already define.
 *
 * The values are those upstream gave these names later. A test relying on
 * the newer behaviour behind them fails on upstream 6.12 too, and is on
 * harness/conformance/unimplemented.txt.
 */
#ifndef _HARNESS_CONFORMANCE_COMPAT_H
#define _HARNESS_CONFORMANCE_COMPAT_H

/* enum iommu_hw_info_type: let the kernel pick the type. */
#define IOMMU_HW_INFO_TYPE_DEFAULT 0

/* iommu_hw_info.flags: the type to report is given in in_data_type. */
#define IOMMU_HW_INFO_FLAG_INPUT_TYPE (1 << 0)

/*
 * Upstream later made in_data_type share a union with out_data_type in
 * struct iommu_hw_info; naming the same member gives the same layout.
 */
#define in_data_type out_data_type

/* Selftest mock device with PASID support, and its PASID width. */
#define MOCK_FLAGS_DEVICE_PASID (1 << 2)
#define MOCK_PASID_WIDTH 20

#endif
