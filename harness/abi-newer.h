/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uAPI that upstream Linux added after 6.12, the reference abi.sh reads,
 * with upstream's numbers and layouts; abi.sh appends it to upstream's
 * iommufd.h. Each block disappears by itself once the reference has it.
 */

/* IOMMU_IOAS_CHANGE_PROCESS: Linux 6.15; QEMU 10 probes for it. */
#ifndef IOMMU_IOAS_CHANGE_PROCESS
#define IOMMUFD_CMD_IOAS_CHANGE_PROCESS 0x92
struct iommu_ioas_change_process {
	__u32 size;
	__u32 __reserved;
};
#define IOMMU_IOAS_CHANGE_PROCESS _IO(IOMMUFD_TYPE, 0x92)
#endif

/* IOMMU_IOAS_MAP_FILE: Linux 6.14; QEMU 10 maps file-backed RAM with it. */
#ifndef IOMMU_IOAS_MAP_FILE
#define IOMMUFD_CMD_IOAS_MAP_FILE 0x8f
struct iommu_ioas_map_file {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__s32 fd;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, 0x8f)
#endif

/* IOMMU_GET_HW_INFO input type: Linux 6.17, backported to 6.12.y selftests. */
#ifndef IOMMU_HW_INFO_FLAG_INPUT_TYPE
#define IOMMU_HW_INFO_TYPE_DEFAULT 0
#define IOMMU_HW_INFO_FLAG_INPUT_TYPE (1 << 0)
/* A union member sharing out_data_type's slot. */
#define in_data_type out_data_type
#endif

/*
 * The PASID-capable mock device of iommufd_test.h: Linux 6.13, used by the
 * 6.12.y selftests. Upstream's test header includes linux/iommufd.h first,
 * so these reach it.
 */
#define MOCK_FLAGS_DEVICE_PASID (1 << 2)
#define MOCK_PASID_WIDTH 20
