// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO compatibility.
 *
 * The compatibility IOAS is the one IOAS of a context that VFIO's group
 * interface uses, since that interface has no way to name an IOAS.
 * ictx->vfio_ioas points at it without holding a reference, under the
 * objects xarray's lock: removing the IOAS from the table clears the
 * pointer in the same critical section (iommufd_object_remove()), so a
 * reader under the lock either sees a live object or nothing.
 *
 * A context also answers VFIO's type1 container ioctls (VFIO_SET_IOMMU,
 * VFIO_IOMMU_MAP_DMA, ...) on that IOAS, so that /dev/vfio/vfio can be an
 * iommufd and programs written for type1 run unchanged: VFIO hands an open
 * of /dev/vfio/vfio to iommufd_vfio_container_open() when its
 * iommufd_container parameter says so. VFIO_TYPE1_IOMMU, which may unmap
 * part of a mapping, is type1v2 whose mappings can be cut at any page: a
 * cut through a large IO page maps that part again in smaller ones (see
 * iopt_set_cut_anywhere() for why large IO pages are kept).
 *
 * A context given a VFIO group of a device without an IOMMU (VFIO's unsafe
 * no-IOMMU mode) serves it as VFIO's no-IOMMU container does: it offers
 * VFIO_NOIOMMU_IOMMU instead of the type1 types, and has no compatibility
 * IOAS, for nothing translates that device's DMA. A context cannot serve
 * groups of both kinds.
 */
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/interval_tree.h>
#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/module.h>
#include <linux/vfio.h>
#include <uapi/linux/iommufd.h>

#include "io_pagetable.h"
#include "iommufd_private.h"
#include "iommufd_trace.h"

/* The compatibility IOAS with a reference taken, or ERR_PTR(-ENODEV). */
static struct iommufd_ioas *iommufd_vfio_ioas_get(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = ERR_PTR(-ENODEV);

	xa_lock(&ictx->objects);
	if (ictx->vfio_ioas &&
	    refcount_inc_not_zero(&ictx->vfio_ioas->obj.users))
		ioas = ictx->vfio_ioas;
	xa_unlock(&ictx->objects);
	return ioas;
}

/**
 * iommufd_vfio_compat_ioas_get_id - the compatibility IOAS, made if needed
 * @ictx: the context
 * @ioas_id: set to the IOAS's ID
 *
 * VFIO calls this when a group is given an iommufd instead of a container,
 * and attaches the group's devices to the IOAS when they are opened.
 *
 * Return: 0, -ENOMEM, or -EINVAL if the context serves a no-IOMMU group
 * (whether or not userspace set a compatibility IOAS since).
 */
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, u32 *ioas_id)
{
	struct iommufd_ioas *ioas;
	int rc = -ENOENT;

	/* Under the lock that removing the IOAS takes: it is there. */
	xa_lock(&ictx->objects);
	if (ictx->no_iommu_mode) {
		rc = -EINVAL;
	} else if (ictx->vfio_ioas) {
		*ioas_id = ictx->vfio_ioas->obj.id;
		rc = 0;
	}
	xa_unlock(&ictx->objects);
	if (rc != -ENOENT)
		return rc;

	ioas = iommufd_ioas_alloc(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	xa_lock(&ictx->objects);
	if (ictx->no_iommu_mode) {
		xa_unlock(&ictx->objects);
		iommufd_object_abort_and_destroy(ictx, &ioas->obj);
		return -EINVAL;
	}
	if (ictx->vfio_ioas) {
		/* Another thread set one meanwhile: use it. */
		*ioas_id = ictx->vfio_ioas->obj.id;
		xa_unlock(&ictx->objects);
		iommufd_object_abort_and_destroy(ictx, &ioas->obj);
		return 0;
	}
	/*
	 * Published before it is finalized: until then a lookup by its ID
	 * fails with ENOENT, as for an ID that does not exist yet.
	 */
	ictx->vfio_ioas = ioas;
	*ioas_id = ioas->obj.id;
	xa_unlock(&ictx->objects);
	iommufd_object_finalize(ictx, &ioas->obj);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_get_id, IOMMUFD);

/**
 * iommufd_vfio_compat_ioas_exists - whether a context has a compatibility IOAS
 * @ictx: the context
 *
 * For VFIO to refuse a no-IOMMU device to a context whose user set one:
 * that user expects the device's DMA to be translated.
 *
 * Return: true if so.
 */
bool iommufd_vfio_compat_ioas_exists(struct iommufd_ctx *ictx)
{
	bool exists;

	xa_lock(&ictx->objects);
	exists = !!ictx->vfio_ioas;
	xa_unlock(&ictx->objects);
	return exists;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_exists, IOMMUFD);

/**
 * iommufd_vfio_compat_set_no_iommu - serve a VFIO group without an IOMMU
 * @ictx: the context
 *
 * VFIO calls this when a no-IOMMU group is given the context as its
 * container. From then on the context offers VFIO_NOIOMMU_IOMMU rather
 * than the type1 types, and makes no compatibility IOAS: groups that need
 * one are refused.
 *
 * Return: 0, or -EINVAL if the context has a compatibility IOAS already.
 */
int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx)
{
	int rc = 0;

	xa_lock(&ictx->objects);
	if (ictx->vfio_ioas)
		rc = -EINVAL;
	else
		WRITE_ONCE(ictx->no_iommu_mode, true);
	xa_unlock(&ictx->objects);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_set_no_iommu, IOMMUFD);

int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_ioas *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		ioas = iommufd_vfio_ioas_get(ictx);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		cmd->ioas_id = ioas->obj.id;
		iommufd_put_object(ictx, &ioas->obj);
		return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		ioas = iommufd_get_ioas(ictx, cmd->ioas_id);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		xa_lock(&ictx->objects);
		ictx->vfio_ioas = ioas;
		xa_unlock(&ictx->objects);
		iommufd_put_object(ictx, &ioas->obj);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		xa_lock(&ictx->objects);
		ictx->vfio_ioas = NULL;
		xa_unlock(&ictx->objects);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static int iommufd_vfio_map_dma(struct iommufd_ctx *ictx, void __user *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	struct vfio_iommu_type1_dma_map map;
	int prot = IOMMU_CACHE;
	struct iommufd_ioas *ioas;
	unsigned long iova;
	int rc;

	if (copy_from_user(&map, arg, minsz))
		return -EFAULT;
	/* As type1: a mapping a device can neither read nor write is none. */
	if (map.argsz < minsz ||
	    map.flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE) ||
	    !(map.flags & (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)))
		return -EINVAL;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;
	if (map.iova >= ULONG_MAX || map.size >= ULONG_MAX)
		return -EOVERFLOW;

	ioas = iommufd_vfio_ioas_get(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	iova = map.iova;
	rc = iopt_map_user_pages(ictx, &ioas->iopt, &iova,
				 u64_to_user_ptr(map.vaddr), map.size, prot,
				 false);
	if (!rc)
		trace_iommufd_map(ioas->obj.id, iova, map.size, prot,
				  IOMMUFD_TRACE_MAP_USER);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

static int iommufd_vfio_unmap_dma(struct iommufd_ctx *ictx, void __user *arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	struct vfio_iommu_type1_dma_unmap unmap;
	unsigned long unmapped = 0, last;
	struct iommufd_ioas *ioas;
	int rc;

	if (copy_from_user(&unmap, arg, minsz))
		return -EFAULT;
	/* The dirty bitmap of type1 is left to IOMMU_HWPT_GET_DIRTY_BITMAP. */
	if (unmap.argsz < minsz || unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)
		return -EINVAL;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL ?
	    unmap.iova || unmap.size : !unmap.size)
		return -EINVAL;
	if (unmap.iova >= ULONG_MAX || unmap.size >= ULONG_MAX)
		return -EOVERFLOW;

	ioas = iommufd_vfio_ioas_get(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else if (check_add_overflow((unsigned long)unmap.iova,
				      (unsigned long)unmap.size - 1, &last)) {
		/* Before anything is cut: a failed call changes nothing. */
		rc = -EOVERFLOW;
	} else {
		/* VFIO_TYPE1_IOMMU: cut mappings at the ends of the range. */
		rc = iopt_cut_iova(&ioas->iopt, unmap.iova, last);
		if (!rc)
			rc = iopt_unmap_iova(&ioas->iopt, unmap.iova,
					     unmap.size, &unmapped);
	}
	if (!rc)
		trace_iommufd_unmap(ioas->obj.id, unmap.iova, unmap.size,
				    unmapped);
	iommufd_put_object(ictx, &ioas->obj);
	if (rc)
		return rc;
	unmap.size = unmapped;
	return copy_to_user(arg, &unmap, minsz) ? -EFAULT : 0;
}

static int iommufd_vfio_set_iommu(struct iommufd_ctx *ictx, unsigned long type)
{
	bool no_iommu_mode = READ_ONCE(ictx->no_iommu_mode);
	struct iommufd_ioas *ioas;

	/*
	 * As VFIO's no-IOMMU driver: nothing to set up, but the devices'
	 * DMA reaches all of memory, so only for CAP_SYS_RAWIO. The type1
	 * ioctls then fail, having no IOAS to work on (ENODEV).
	 */
	if (IS_ENABLED(CONFIG_VFIO_NOIOMMU) && type == VFIO_NOIOMMU_IOMMU &&
	    no_iommu_mode)
		return capable(CAP_SYS_RAWIO) ? 0 : -EPERM;
	if ((type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU) ||
	    no_iommu_mode)
		return -EINVAL;
	/* As type1, there must be a group: that is, a compatibility IOAS. */
	ioas = iommufd_vfio_ioas_get(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (type == VFIO_TYPE1_IOMMU)
		iopt_set_cut_anywhere(&ioas->iopt);
	iommufd_put_object(ictx, &ioas->obj);
	return 0;
}

/*
 * Whether the IOMMU makes all DMA of the container's devices snoop the CPU
 * caches: every page table of the compatibility IOAS enforces it (see
 * iommufd_device_compatible()), as type1 answers for its domains. A
 * container without page tables (emulated devices only, or none yet)
 * answers 1, as type1's and upstream's do.
 */
static int iommufd_vfio_dma_cc(struct iommufd_ctx *ictx)
{
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_ioas *ioas;
	int rc = 1;

	ioas = iommufd_vfio_ioas_get(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt, &ioas->hwpt_list, hwpt_item) {
		if (!hwpt->enforce_cache_coherency) {
			rc = 0;
			break;
		}
	}
	mutex_unlock(&ioas->mutex);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

static int iommufd_vfio_check_extension(struct iommufd_ctx *ictx,
					unsigned long type)
{
	switch (type) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return !READ_ONCE(ictx->no_iommu_mode);
	case VFIO_NOIOMMU_IOMMU:
		return IS_ENABLED(CONFIG_VFIO_NOIOMMU);
	case VFIO_DMA_CC_IOMMU:
		return iommufd_vfio_dma_cc(ictx);
	default:
		/* Not VFIO_UPDATE_VADDR nor nesting. */
		return 0;
	}
}

/*
 * The IO page sizes type1 reports: what every domain can map, rounded to
 * CPU pages, and no smaller than the IOAS's alignment.
 */
static unsigned long iommufd_vfio_pgsizes(struct io_pagetable *iopt)
{
	unsigned long pgsizes = ULONG_MAX;
	unsigned int i;

	lockdep_assert_held(&iopt->iova_rwsem);

	for (i = 0; i != iopt->ndomains; i++)
		pgsizes &= iopt->domains[i]->pgsize_bitmap;
	if (pgsizes & ~PAGE_MASK)
		pgsizes = (pgsizes & PAGE_MASK) | PAGE_SIZE;
	if (iopt->disable_large_pages)
		pgsizes &= PAGE_SIZE | (PAGE_SIZE - 1);
	return max(pgsizes, iopt->iova_alignment);
}

/*
 * A capability of VFIO_IOMMU_GET_INFO: writes it at @ucap if @avail bytes
 * are there, returns its size either way, or -EFAULT.
 */
typedef int (*iommufd_vfio_cap_fn)(struct io_pagetable *iopt,
				   void __user *ucap, size_t avail);

static int iommufd_vfio_cap_dma_avail(struct io_pagetable *iopt,
				      void __user *ucap, size_t avail)
{
	struct vfio_iommu_type1_info_dma_avail cap = {
		.header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
		.header.version = 1,
		/*
		 * Mappings are limited by memory, not counted: say as much as
		 * the field holds, more than type1's default of 65535.
		 */
		.avail = U32_MAX,
	};

	if (avail >= sizeof(cap) && copy_to_user(ucap, &cap, sizeof(cap)))
		return -EFAULT;
	return sizeof(cap);
}

/*
 * The IOVA ranges nothing reserves, in increasing order: the gaps between
 * reserved ranges, which come by increasing start and may overlap.
 */
static int iommufd_vfio_cap_iova_range(struct io_pagetable *iopt,
				       void __user *ucap, size_t avail)
{
	struct vfio_iommu_type1_info_cap_iova_range cap = {
		.header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
		.header.version = 1,
	};
	struct vfio_iommu_type1_info_cap_iova_range __user *ucap_ranges = ucap;
	struct interval_tree_node *reserved;
	unsigned long start = 0;

	lockdep_assert_held(&iopt->iova_rwsem);

	for (reserved = interval_tree_iter_first(&iopt->reserved_itree, 0,
						 ULONG_MAX);
	     ; reserved = interval_tree_iter_next(reserved, 0, ULONG_MAX)) {
		if (!reserved || reserved->start > start) {
			struct vfio_iova_range range = {
				.start = start,
				.end = reserved ? reserved->start - 1 : ULONG_MAX,
			};

			if (avail >= struct_size(&cap, iova_ranges,
						 cap.nr_iovas + 1) &&
			    copy_to_user(&ucap_ranges->iova_ranges[cap.nr_iovas],
					 &range, sizeof(range)))
				return -EFAULT;
			cap.nr_iovas++;
		}
		if (!reserved || reserved->last == ULONG_MAX)
			break;
		start = max(start, reserved->last + 1);
	}
	if (avail >= struct_size(&cap, iova_ranges, cap.nr_iovas) &&
	    copy_to_user(ucap, &cap, sizeof(cap)))
		return -EFAULT;
	return struct_size(&cap, iova_ranges, cap.nr_iovas);
}

/*
 * VFIO_IOMMU_GET_INFO: the IO page sizes, then a chain of capabilities
 * after the structure, each 8-byte aligned. A short buffer gets the part
 * of the chain that fits, cap_offset 0 and, in argsz, the size it needs.
 */
static int iommufd_vfio_get_info(struct iommufd_ctx *ictx, void __user *arg)
{
	static const iommufd_vfio_cap_fn caps[] = {
		iommufd_vfio_cap_dma_avail,
		iommufd_vfio_cap_iova_range,
	};
	size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_iommu_type1_info info = {};
	struct vfio_info_cap_header __user *last = NULL;
	struct iommufd_ioas *ioas;
	size_t total = sizeof(info);
	unsigned int i;
	int rc = 0;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	ioas = iommufd_vfio_ioas_get(ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	down_read(&ioas->iopt.iova_rwsem);
	info.flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
	info.iova_pgsizes = iommufd_vfio_pgsizes(&ioas->iopt);
	for (i = 0; i != ARRAY_SIZE(caps); i++) {
		size_t avail = info.argsz > total ? info.argsz - total : 0;
		int size;

		size = caps[i](&ioas->iopt, avail ? arg + total : NULL, avail);
		if (size < 0) {
			rc = size;
			goto out_unlock;
		}
		/* Link the previous capability to this one, if it was written. */
		if (last && info.argsz >= total && put_user(total, &last->next)) {
			rc = -EFAULT;
			goto out_unlock;
		}
		last = arg + total;
		total += ALIGN(size, sizeof(u64));
	}
	info.cap_offset = info.argsz >= total ? sizeof(info) : 0;
	minsz = min_t(size_t, info.argsz, sizeof(info));
	info.argsz = total;
	if (copy_to_user(arg, &info, minsz))
		rc = -EFAULT;
out_unlock:
	up_read(&ioas->iopt.iova_rwsem);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/**
 * iommufd_vfio_ioctl - VFIO's type1 container ioctls on a context
 * @ictx: the context
 * @cmd: the ioctl number, outside iommufd's own range
 * @arg: its argument
 *
 * Return: what type1 would return, -ENOIOCTLCMD for anything else.
 */
long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return iommufd_vfio_check_extension(ictx, arg);
	case VFIO_SET_IOMMU:
		return iommufd_vfio_set_iommu(ictx, arg);
	case VFIO_IOMMU_GET_INFO:
		return iommufd_vfio_get_info(ictx, uarg);
	case VFIO_IOMMU_MAP_DMA:
		return iommufd_vfio_map_dma(ictx, uarg);
	case VFIO_IOMMU_UNMAP_DMA:
		return iommufd_vfio_unmap_dma(ictx, uarg);
	default:
		return -ENOIOCTLCMD;
	}
}
