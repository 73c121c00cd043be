/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iommufd: what other kernel code (VFIO, the selftest) may call.
 *
 * A driver that hands a device to userspace takes a reference on the
 * context userspace named (iommufd_ctx_from_file()), binds the device to it
 * and attaches it where userspace asks; it detaches, unbinds and puts the
 * context when userspace closes the device.
 *
 * An access lets a driver without an IOMMU of its own, such as an emulated
 * device, reach the memory behind an IOAS: it pins pages by IOVA or copies
 * to and from IOVAs. Userspace stays in charge of the IOAS; when it unmaps
 * a range an access has pinned, the access's unmap callback must unpin it
 * before the unmap can complete.
 */
#ifndef __LINUX_IOMMUFD_H
#define __LINUX_IOMMUFD_H

#include <linux/err.h>
#include <linux/types.h>

struct device;
struct file;
struct inode;
struct iommu_group;
struct iommufd_access;
struct iommufd_ctx;
struct iommufd_device;
struct page;

/* Flags of iommufd_access_pin_pages() and iommufd_access_rw(). */
enum {
	IOMMUFD_ACCESS_RW_READ = 0,
	IOMMUFD_ACCESS_RW_WRITE = 1 << 0,
	/* The caller is a kthread that may borrow the memory's mm. */
	IOMMUFD_ACCESS_RW_KTHREAD = 1 << 1,
	/* Test kernels only: never copy through the mm, always pin. */
	__IOMMUFD_ACCESS_RW_SLOW_PATH = 1 << 2,
};

/**
 * struct iommufd_access_ops - what the driver of an access provides
 * @needs_pin_pages: the driver calls iommufd_access_pin_pages(); the IOAS
 *	then keeps every mapping CPU page aligned
 * @unmap: userspace is unmapping [iova, iova + length - 1], or the access
 *	is leaving its IOAS (then once for each run of mappings that any
 *	access pins, and not at all with none): unpin whatever the driver
 *	pinned in it before returning. Called without iommufd locks held;
 *	may call iommufd_access_unpin_pages().
 */
struct iommufd_access_ops {
	u8 needs_pin_pages : 1;
	void (*unmap)(void *data, unsigned long iova, unsigned long length);
};

#if IS_ENABLED(CONFIG_IOMMUFD)
struct iommufd_ctx *iommufd_ctx_from_file(struct file *file);
void iommufd_ctx_put(struct iommufd_ctx *ictx);
bool iommufd_ctx_has_group(struct iommufd_ctx *ictx,
			   struct iommu_group *group);

struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id);
void iommufd_device_unbind(struct iommufd_device *idev);
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id);
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id);
void iommufd_device_detach(struct iommufd_device *idev);
struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev);
u32 iommufd_device_to_id(struct iommufd_device *idev);
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, u32 *ioas_id);
int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx);
bool iommufd_vfio_compat_ioas_exists(struct iommufd_ctx *ictx);
int iommufd_vfio_container_open(struct inode *inode, struct file *file);
#else
static inline struct iommufd_ctx *iommufd_ctx_from_file(struct file *file)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static inline void iommufd_ctx_put(struct iommufd_ctx *ictx)
{
}

static inline bool iommufd_ctx_has_group(struct iommufd_ctx *ictx,
					 struct iommu_group *group)
{
	return false;
}

static inline int iommufd_vfio_container_open(struct inode *inode,
					      struct file *file)
{
	return -ENODEV;
}
#endif

struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id);
void iommufd_access_destroy(struct iommufd_access *access);
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id);
int iommufd_access_replace(struct iommufd_access *access, u32 ioas_id);
void iommufd_access_detach(struct iommufd_access *access);
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags);
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length);
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t length, unsigned int flags);

#endif
