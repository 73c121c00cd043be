// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs "iommufd/contexts" (CONFIG_IOMMUFD_DEBUGFS, root only): every
 * live context, for looking at a running system. For each context: the
 * process that opened it, then its objects by ID and type; for an IOAS,
 * the page tables built from it and every area: its IOVA range, the pages
 * it maps, how many of those are pinned, whether it is mapped into the
 * page tables, and how many access pins hold it.
 *
 * A context is on the list from creation until iommufd_ctx_destroy()
 * takes it off, before destroying any object, under iommufd_debugfs_lock:
 * a reader holding that lock always sees whole contexts. Each object is
 * printed with a short-term reference, as an ioctl holds one, so an
 * IOMMU_DESTROY that races with a read may fail with EBUSY; each object's
 * own locks are taken in the documented order (iommufd_private.h).
 */
#include <linux/debugfs.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/seq_file.h>

#include "io_pagetable.h"
#include "iommufd_private.h"

static DEFINE_MUTEX(iommufd_debugfs_lock);
static LIST_HEAD(iommufd_debugfs_contexts);

/**
 * iommufd_debugfs_add_ctx - list a new context
 * @ictx: the context, not yet reachable by userspace
 *
 * Records the calling process as the context's opener.
 */
void iommufd_debugfs_add_ctx(struct iommufd_ctx *ictx)
{
	ictx->opener_tgid = task_tgid_nr(current);
	get_task_comm(ictx->opener_comm, current);
	mutex_lock(&iommufd_debugfs_lock);
	list_add_tail(&ictx->debugfs_item, &iommufd_debugfs_contexts);
	mutex_unlock(&iommufd_debugfs_lock);
}

/**
 * iommufd_debugfs_remove_ctx - take a context off the list
 * @ictx: the context, about to be destroyed
 *
 * Waits for a reader that is printing it.
 */
void iommufd_debugfs_remove_ctx(struct iommufd_ctx *ictx)
{
	mutex_lock(&iommufd_debugfs_lock);
	list_del(&ictx->debugfs_item);
	mutex_unlock(&iommufd_debugfs_lock);
}

static const char *const iommufd_debugfs_account_names[] = {
	[IOPT_PAGES_ACCOUNT_NONE] = "none",
	[IOPT_PAGES_ACCOUNT_USER] = "user",
	[IOPT_PAGES_ACCOUNT_MM] = "mm",
};

static void iommufd_debugfs_show_ioas(struct seq_file *m,
				      struct iommufd_ioas *ioas)
{
	struct io_pagetable *iopt = &ioas->iopt;
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_access *access;
	unsigned long index, naccesses = 0;
	struct iopt_area *area;

	mutex_lock(&ioas->mutex);
	down_read(&iopt->iova_rwsem);
	xa_for_each(&iopt->access_list, index, access)
		naccesses++;
	seq_printf(m, "  %u ioas domains=%u accesses=%lu page_tables=",
		   ioas->obj.id, iopt->ndomains, naccesses);
	if (list_empty(&ioas->hwpt_list))
		seq_puts(m, "none");
	list_for_each_entry(hwpt, &ioas->hwpt_list, hwpt_item)
		seq_printf(m, "%u%s", hwpt->obj.id,
			   list_is_last(&hwpt->hwpt_item, &ioas->hwpt_list) ?
				   "" : ",");
	seq_putc(m, '\n');

	for (area = iopt_area_iter_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_iter_next(area, 0, ULONG_MAX)) {
		struct iopt_pages *pages = area->pages;

		seq_printf(m, "    area iova=0x%lx-0x%lx prot=%s%s",
			   iopt_area_iova(area), iopt_area_last_iova(area),
			   area->iommu_prot & IOMMU_READ ? "r" : "",
			   area->iommu_prot & IOMMU_WRITE ? "w" : "");
		if (!pages) {
			seq_puts(m, " (being removed)\n");
			continue;
		}
		mutex_lock(&pages->mutex);
		seq_printf(m,
			   " pages=%p index=%lu-%lu source=%s npinned=%zu/%zu mapped=%s access_pins=%u\n",
			   pages, iopt_area_index(area),
			   iopt_area_last_index(area),
			   pages->source == IOPT_PAGES_FILE ? "file" : "user",
			   pages->npinned, pages->npages,
			   area->storage_domain ? "yes" : "no",
			   area->num_accesses);
		mutex_unlock(&pages->mutex);
	}
	up_read(&iopt->iova_rwsem);
	mutex_unlock(&ioas->mutex);
}

static void iommufd_debugfs_show_hwpt(struct seq_file *m,
				      struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_device *idev;
	unsigned int ndevices = 0;

	mutex_lock(&hwpt->devices_lock);
	list_for_each_entry(idev, &hwpt->devices, devices_item)
		ndevices++;
	mutex_unlock(&hwpt->devices_lock);
	seq_printf(m, "  %u hw_pagetable ioas=%u devices=%u%s", hwpt->obj.id,
		   hwpt->ioas->obj.id, ndevices,
		   hwpt->auto_domain ? " auto" : "");
	/* What the domain's driver made of it, and what iommufd asked. */
	seq_printf(m, " filled=%s aperture=0x%llx-0x%llx pgsizes=0x%lx coherent=%s msi_cookie=%s",
		   hwpt->filled ? "yes" : "no",
		   (u64)hwpt->domain->geometry.aperture_start,
		   (u64)hwpt->domain->geometry.aperture_end,
		   hwpt->domain->pgsize_bitmap,
		   hwpt->enforce_cache_coherency ? "yes" : "no",
		   hwpt->domain->iova_cookie ? "yes" : "no");
	iommufd_test_show_domain(m, hwpt->domain);
	seq_putc(m, '\n');
}

static void iommufd_debugfs_show_device(struct seq_file *m,
					struct iommufd_device *idev)
{
	mutex_lock(&idev->attach_lock);
	seq_printf(m, "  %u device dev=%s group=%d hw_pagetable=%u",
		   idev->obj.id, dev_name(idev->dev),
		   iommu_group_id(idev->igroup->group),
		   idev->hwpt ? idev->hwpt->obj.id : 0);
	/* Whether the IOMMU translates for it with that page table indeed. */
	if (idev->hwpt)
		seq_printf(m, " in_domain=%s",
			   iommu_get_domain_for_dev(idev->dev) ==
					   idev->hwpt->domain ? "yes" : "no");
	seq_putc(m, '\n');
	mutex_unlock(&idev->attach_lock);
}

static void iommufd_debugfs_show_access(struct seq_file *m,
					struct iommufd_access *access)
{
	mutex_lock(&access->ioas_lock);
	seq_printf(m, "  %u access ioas=%u\n", access->obj.id,
		   access->ioas ? access->ioas->obj.id : 0);
	mutex_unlock(&access->ioas_lock);
}

static void iommufd_debugfs_show_object(struct seq_file *m,
					struct iommufd_object *obj)
{
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_access *access;
	struct iommufd_device *idev;
	struct iommufd_ioas *ioas;

	switch (obj->type) {
	case IOMMUFD_OBJ_IOAS:
		ioas = container_of(obj, struct iommufd_ioas, obj);
		iommufd_debugfs_show_ioas(m, ioas);
		break;
	case IOMMUFD_OBJ_HW_PAGETABLE:
		hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
		iommufd_debugfs_show_hwpt(m, hwpt);
		break;
	case IOMMUFD_OBJ_DEVICE:
		idev = container_of(obj, struct iommufd_device, obj);
		iommufd_debugfs_show_device(m, idev);
		break;
	case IOMMUFD_OBJ_ACCESS:
		access = container_of(obj, struct iommufd_access, obj);
		iommufd_debugfs_show_access(m, access);
		break;
	default:
		seq_printf(m, "  %u selftest\n", obj->id);
		break;
	}
}

static void iommufd_debugfs_show_ctx(struct seq_file *m,
				     struct iommufd_ctx *ictx)
{
	struct iommufd_object *obj;
	unsigned long index;

	seq_printf(m, "context tgid=%d comm=%s account=%s ioas=%d\n",
		   ictx->opener_tgid, ictx->opener_comm,
		   iommufd_debugfs_account_names[ictx->account_mode],
		   atomic_read(&ictx->nr_ioas));

	/*
	 * Objects are freed after an RCU grace period, so a reference can be
	 * tried on any object the xarray showed under rcu_read_lock(); one
	 * that is being destroyed has no users left and is skipped.
	 */
	rcu_read_lock();
	xa_for_each(&ictx->objects, index, obj) {
		if (!refcount_inc_not_zero(&obj->users))
			continue;
		rcu_read_unlock();
		iommufd_debugfs_show_object(m, obj);
		iommufd_put_object(ictx, obj);
		rcu_read_lock();
	}
	rcu_read_unlock();
}

static int iommufd_debugfs_contexts_show(struct seq_file *m, void *unused)
{
	struct iommufd_ctx *ictx;

	mutex_lock(&iommufd_debugfs_lock);
	list_for_each_entry(ictx, &iommufd_debugfs_contexts, debugfs_item)
		iommufd_debugfs_show_ctx(m, ictx);
	mutex_unlock(&iommufd_debugfs_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(iommufd_debugfs_contexts);

/**
 * iommufd_debugfs_init - create iommufd/contexts
 * @dir: debugfs "iommufd"
 */
void iommufd_debugfs_init(struct dentry *dir)
{
	debugfs_create_file("contexts", 0400, dir, NULL,
			    &iommufd_debugfs_contexts_fops);
}
