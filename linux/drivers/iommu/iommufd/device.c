// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DEVICE object: a device a driver handed to an iommufd context.
 *
 * Binding claims the DMA ownership of the device's group for the context,
 * so the kernel's own DMA API no longer uses the group. Attaching points
 * the group at a page table built from an IOAS; the page table is shared by
 * the devices attached to the same IOAS when their IOMMU accepts it. All
 * attached devices of a group are attached to the same page table.
 *
 * The driver that bound the device holds a reference on the object until it
 * unbinds, so userspace cannot destroy it (IOMMU_DESTROY gives EBUSY).
 */
#include <linux/iommu.h>
#include <linux/irqdomain.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/pci-ats.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"
#include "iommufd_trace.h"

static bool allow_unsafe_interrupts;
module_param(allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Bind devices whose MSIs the platform cannot isolate (no interrupt remapping): such a device can raise any interrupt");

/* Whether the platform stops the device from raising others' MSIs. */
static bool iommufd_device_msi_isolated(struct device *dev)
{
	return device_iommu_capable(dev, IOMMU_CAP_INTR_REMAP) ||
	       irq_domain_check_msi_remap();
}

/*
 * Groups
 * ======
 *
 * An IOMMU group has one domain for all its devices, so the devices of a
 * group bound to a context share an iommufd_group: the page table the group
 * is attached to, and how many of its devices are attached (all to that
 * page table). A device can move the group only while no other device of
 * the group is attached.
 */
/* Called by kref_put_mutex() with groups_lock held; drops it. */
static void iommufd_group_release(struct kref *kref)
{
	struct iommufd_group *igroup =
		container_of(kref, struct iommufd_group, ref);
	struct iommufd_ctx *ictx = igroup->ictx;

	xa_erase(&ictx->groups, iommu_group_id(igroup->group));
	mutex_unlock(&ictx->groups_lock);
	WARN_ON(igroup->hwpt || igroup->attached);
	iommu_group_put(igroup->group);
	mutex_destroy(&igroup->lock);
	kfree(igroup);
}

static void iommufd_put_group(struct iommufd_group *igroup)
{
	kref_put_mutex(&igroup->ref, iommufd_group_release,
		       &igroup->ictx->groups_lock);
}

/* The context's iommufd_group for @dev's group, made on first use. */
static struct iommufd_group *iommufd_get_group(struct iommufd_ctx *ictx,
					       struct device *dev)
{
	struct iommufd_group *igroup;
	struct iommu_group *group;
	int rc;

	group = iommu_group_get(dev);
	if (!group)
		return ERR_PTR(-ENODEV);

	mutex_lock(&ictx->groups_lock);
	igroup = xa_load(&ictx->groups, iommu_group_id(group));
	if (igroup) {
		kref_get(&igroup->ref);
		iommu_group_put(group);
		goto out_unlock;
	}

	igroup = kzalloc(sizeof(*igroup), GFP_KERNEL_ACCOUNT);
	if (!igroup) {
		igroup = ERR_PTR(-ENOMEM);
		goto out_put_group;
	}
	kref_init(&igroup->ref);
	mutex_init(&igroup->lock);
	igroup->ictx = ictx;
	igroup->group = group;
	rc = xa_err(xa_store(&ictx->groups, iommu_group_id(group), igroup,
			     GFP_KERNEL_ACCOUNT));
	if (rc) {
		mutex_destroy(&igroup->lock);
		kfree(igroup);
		igroup = ERR_PTR(rc);
		goto out_put_group;
	}
	goto out_unlock;

out_put_group:
	iommu_group_put(group);
out_unlock:
	mutex_unlock(&ictx->groups_lock);
	return igroup;
}

/*
 * What moving a group between two page tables locks: the iova_rwsem of the
 * IOAS of each that mirrors its IOAS (filled), for writing. The driver may
 * change both domains at an attach: the one joined (VT-d may free top
 * levels, virtio-iommu replays every mapping, then counts the endpoint
 * that maps and unmaps must reach) and the one left (virtio-iommu counts
 * the endpoint gone, and the host drops the domain's mappings); neither
 * may meet a map, an unmap or another attach. Two IOASes are locked under
 * the context's ioas_pair_lock: two threads locking the same two in
 * opposite orders would deadlock, and lockdep sees one class twice.
 */
struct iommufd_attach_locks {
	/* The context's ioas_pair_lock, held when two rwsems are */
	struct mutex *nest;
	struct rw_semaphore *rwsem[2];
};

static struct rw_semaphore *
iommufd_hw_pagetable_rwsem(struct iommufd_hw_pagetable *hwpt)
{
	return hwpt && hwpt->filled ? &hwpt->ioas->iopt.iova_rwsem : NULL;
}

static void iommufd_attach_lock(struct iommufd_group *igroup,
				struct iommufd_hw_pagetable *from,
				struct iommufd_hw_pagetable *to,
				struct iommufd_attach_locks *locks)
{
	struct rw_semaphore *a = iommufd_hw_pagetable_rwsem(to);
	struct rw_semaphore *b = iommufd_hw_pagetable_rwsem(from);

	if (!a || a == b)
		swap(a, b);
	if (a == b)
		b = NULL;
	locks->rwsem[0] = a;
	locks->rwsem[1] = b;
	locks->nest = NULL;
	if (a && b) {
		locks->nest = &igroup->ictx->ioas_pair_lock;
		mutex_lock(locks->nest);
		down_write_nest_lock(a, locks->nest);
		down_write_nest_lock(b, locks->nest);
	} else if (a) {
		down_write(a);
	}
}

static void iommufd_attach_unlock(struct iommufd_attach_locks *locks)
{
	if (locks->rwsem[1])
		up_write(locks->rwsem[1]);
	if (locks->rwsem[0])
		up_write(locks->rwsem[0]);
	if (locks->nest)
		mutex_unlock(locks->nest);
}

/*
 * Move the group from @from's domain (the one it is on) to @to's (NULL:
 * block its DMA), as the driver's attach_dev() does it: in one step,
 * though not hitless (see iommu_group_replace_domain()).
 */
static int iommufd_group_set_domain(struct iommufd_group *igroup,
				    struct iommufd_hw_pagetable *from,
				    struct iommufd_hw_pagetable *to)
{
	struct iommufd_attach_locks locks;
	int rc;

	lockdep_assert_held(&igroup->lock);

	iommufd_attach_lock(igroup, from, to, &locks);
	rc = iommu_group_replace_domain(igroup->group, to ? to->domain : NULL);
	iommufd_attach_unlock(&locks);
	return rc;
}

/**
 * iommufd_group_restore - put a group back on the domain iommufd records
 * @igroup: the group, its lock held
 * @from: the page table whose domain the group is on now, or NULL if
 *	blocking
 * @dev: a device of the group
 *
 * After the group was moved to another domain for a moment (a new domain
 * its driver had to finish), or an attach failed half-way: the group goes
 * back to its page table's domain, or to blocking DMA if it has none. A
 * driver may need memory to attach a domain again (VT-d does), so this is
 * tried a few times.
 *
 * Return: 0, or the driver's errno: the group is then blocking DMA, or on
 * @from's domain if even that failed (the IOMMU core warns); that domain is
 * then never freed, as the group may still translate through it.
 * iommufd_device_set_domain() notices either and attaches again.
 */
int iommufd_group_restore(struct iommufd_group *igroup,
			  struct iommufd_hw_pagetable *from, struct device *dev)
{
	int tries, rc = 0;

	for (tries = 0; tries != 3; tries++) {
		rc = iommufd_group_set_domain(igroup, from, igroup->hwpt);
		if (!rc)
			return 0;
	}
	pr_warn_ratelimited("iommufd: IOMMU group %d: its driver cannot attach its domain again (%d)\n",
			    iommu_group_id(igroup->group), rc);
	iommu_detach_group(NULL, igroup->group);
	if (from && iommu_get_domain_for_dev(dev) == from->domain)
		from->domain_stuck = true;
	return rc;
}

/*
 * A device of the group stops holding the group's ownership for the
 * context: before the claim is released, so that iommufd_ctx_has_group()
 * never answers for a group the context may no longer own.
 */
static void iommufd_group_disown(struct iommufd_group *igroup)
{
	mutex_lock(&igroup->ictx->groups_lock);
	igroup->owners--;
	mutex_unlock(&igroup->ictx->groups_lock);
}

void iommufd_device_destroy(struct iommufd_object *obj)
{
	struct iommufd_device *idev =
		container_of(obj, struct iommufd_device, obj);

	WARN_ON(idev->hwpt);
	mutex_destroy(&idev->attach_lock);
	iommufd_group_disown(idev->igroup);
	iommu_device_release_dma_owner(idev->dev);
	iommufd_put_group(idev->igroup);
}

/*
 * Where MSI doorbells are mapped for the device, if that is left to the
 * OS: its IOMMU_RESV_SW_MSI window. A driver names one at most.
 */
static void iommufd_device_find_sw_msi(struct iommufd_device *idev)
{
	struct iommu_resv_region *resv;
	LIST_HEAD(regions);

	idev->sw_msi_start = PHYS_ADDR_MAX;
	iommu_get_resv_regions(idev->dev, &regions);
	list_for_each_entry(resv, &regions, list) {
		if (resv->type != IOMMU_RESV_SW_MSI)
			continue;
		idev->sw_msi_start = resv->start;
		idev->sw_msi_length = resv->length;
		break;
	}
	iommu_put_resv_regions(idev->dev, &regions);
}

/**
 * iommufd_device_bind - hand a device to an iommufd context
 * @ictx: the context
 * @dev: the device; no device of its group may have a kernel driver using
 *	the DMA API, and the group may only be bound to this context
 * @id: the ID of the new device object
 *
 * The devices of a group are bound one by one; the first takes the group
 * from the kernel, which gets it back when the last is unbound.
 *
 * Return: the device object, or an ERR_PTR: -ENODEV without an IOMMU group,
 * -EPERM if the group is owned by the kernel's DMA API (a driver using it
 * is bound to one of its devices) or by another context, -EPERM also if
 * the platform cannot isolate the device's MSIs (see the
 * allow_unsafe_interrupts module parameter), -EBUSY if the device itself
 * is claimed already.
 */
struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id)
{
	struct iommufd_group *igroup;
	struct iommufd_device *idev;
	int rc;

	if (!iommufd_device_msi_isolated(dev)) {
		if (!allow_unsafe_interrupts)
			return ERR_PTR(-EPERM);
		dev_warn(dev,
			 "MSIs cannot be isolated (no interrupt remapping); bound anyway because of allow_unsafe_interrupts\n");
	}

	igroup = iommufd_get_group(ictx, dev);
	if (IS_ERR(igroup))
		return ERR_CAST(igroup);

	rc = iommu_device_claim_dma_owner(dev, ictx);
	if (rc)
		goto out_put_group;
	mutex_lock(&ictx->groups_lock);
	igroup->owners++;
	mutex_unlock(&ictx->groups_lock);

	idev = iommufd_object_alloc(ictx, idev, IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(idev)) {
		rc = PTR_ERR(idev);
		goto out_release_owner;
	}
	idev->ictx = ictx;
	idev->dev = dev;
	idev->igroup = igroup;
	idev->enforce_cache_coherency =
		device_iommu_capable(dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
	iommufd_device_find_sw_msi(idev);
	mutex_init(&idev->attach_lock);
	/* The binding driver's reference, dropped by iommufd_device_unbind(). */
	refcount_inc(&idev->obj.users);
	iommufd_object_finalize(ictx, &idev->obj);
	*id = idev->obj.id;
	return idev;

out_release_owner:
	iommufd_group_disown(igroup);
	iommu_device_release_dma_owner(dev);
out_put_group:
	iommufd_put_group(igroup);
	return ERR_PTR(rc);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_bind, IOMMUFD);

/**
 * iommufd_device_unbind - undo iommufd_device_bind()
 * @idev: the device object, detached
 */
void iommufd_device_unbind(struct iommufd_device *idev)
{
	iommufd_object_destroy_owned(idev->ictx, &idev->obj);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_unbind, IOMMUFD);

/* Devices of the device's group attached, the device itself excluded. */
static unsigned int iommufd_device_group_others(struct iommufd_device *idev)
{
	return idev->igroup->attached - (idev->hwpt ? 1 : 0);
}

/*
 * Whether the device may use @hwpt, as far as iommufd itself can tell
 * without asking the driver to attach: what a page table promises must
 * hold for every device on it.
 */
static int iommufd_device_compatible(struct iommufd_device *idev,
				     struct iommufd_hw_pagetable *hwpt)
{
	/* Another IOMMU driver's domain. */
	if (hwpt->domain->ops != dev_iommu_ops(idev->dev)->default_domain_ops)
		return -EINVAL;
	/* What a page table records must cover every device's writes. */
	if (hwpt->domain->dirty_ops &&
	    !device_iommu_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING))
		return -EINVAL;
	/*
	 * A device that can enforce coherency has it enforced (VFIO tells
	 * KVM so), which a domain can only start doing while empty; and one
	 * that cannot must not weaken a domain that enforces it.
	 */
	if (hwpt->enforce_cache_coherency != idev->enforce_cache_coherency)
		return -EINVAL;
	/* One MSI cookie serves the whole page table. */
	if (hwpt->msi_cookie && idev->sw_msi_start != PHYS_ADDR_MAX &&
	    idev->sw_msi_start != hwpt->sw_msi_start)
		return -EINVAL;
	return 0;
}

/*
 * The first attach of a page table that does not mirror its IOAS yet: the
 * driver finishes the domain for the group, then it is filled. A group
 * that was attached elsewhere has its DMA blocked meanwhile.
 */
static int iommufd_device_attach_and_fill(struct iommufd_device *idev,
					  struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_group *igroup = idev->igroup;
	int rc;

	if (iommufd_should_fail())
		return -ENOMEM;
	rc = iommufd_group_set_domain(igroup, igroup->hwpt, hwpt);
	if (rc)
		return rc;
	rc = iommufd_hw_pagetable_fill(hwpt, idev);
	if (rc)
		iommufd_group_restore(igroup, hwpt, idev->dev);
	return rc;
}

/*
 * Move the device's group to @hwpt's domain, which it reaches without
 * passing through any other; refused while other devices of the group are
 * attached elsewhere. The IOAS keeps out of whatever the domain's aperture
 * lost at the attach.
 */
static int iommufd_device_set_domain(struct iommufd_device *idev,
				     struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_group *igroup = idev->igroup;
	struct io_pagetable *iopt = &hwpt->ioas->iopt;
	struct iommufd_attach_locks locks;
	int rc;

	lockdep_assert_held(&hwpt->ioas->mutex);
	lockdep_assert_held(&igroup->lock);

	rc = iommufd_device_compatible(idev, hwpt);
	if (rc)
		return rc;
	/* Unless a failed restore left the group elsewhere, see above. */
	if (igroup->hwpt == hwpt &&
	    iommu_get_domain_for_dev(idev->dev) == hwpt->domain)
		return 0;
	if (igroup->hwpt != hwpt && iommufd_device_group_others(idev))
		return -EINVAL;
	if (!hwpt->filled)
		return iommufd_device_attach_and_fill(idev, hwpt);

	if (iommufd_should_fail())
		return -ENOMEM;
	iommufd_attach_lock(igroup, igroup->hwpt, hwpt, &locks);
	rc = iommu_group_replace_domain(igroup->group, hwpt->domain);
	if (rc) {
		iommufd_attach_unlock(&locks);
		return rc;
	}
	/* Once the group is on the domain: a failed trial leaves nothing. */
	rc = iommufd_hw_pagetable_msi_cookie(hwpt, idev);
	if (!rc)
		rc = iommufd_hw_pagetable_reserve_msi(hwpt);
	if (!rc)
		rc = iopt_table_narrow_aperture(iopt, hwpt->domain,
						&hwpt->aperture_start,
						&hwpt->aperture_last);
	iommufd_attach_unlock(&locks);
	if (rc)
		iommufd_group_restore(igroup, hwpt, idev->dev);
	return rc;
}

/*
 * Move the device to an existing page table of the IOAS, or to a new one
 * when none accepts it. Returns the page table with a reference for the
 * device; *created tells whether the caller must finalize it.
 */
static struct iommufd_hw_pagetable *
iommufd_device_set_ioas(struct iommufd_device *idev, struct iommufd_ioas *ioas,
			bool *created)
{
	struct iommufd_hw_pagetable *hwpt;
	int rc;

	lockdep_assert_held(&ioas->mutex);

	*created = false;
	/*
	 * The group stays on the page table the kernel made for this IOAS,
	 * and on any page table of this IOAS while other devices of the
	 * group use it.
	 */
	hwpt = idev->igroup->hwpt;
	if (hwpt && hwpt->ioas == ioas &&
	    (hwpt->auto_domain || iommufd_device_group_others(idev))) {
		rc = iommufd_device_set_domain(idev, hwpt);
		if (rc)
			return ERR_PTR(rc);
		refcount_inc(&hwpt->obj.users);
		return hwpt;
	}
	if (iommufd_device_group_others(idev))
		return ERR_PTR(-EINVAL);

	/*
	 * Only the page tables the kernel made are shared this way: one that
	 * userspace made is used when userspace names it.
	 */
	list_for_each_entry(hwpt, &ioas->hwpt_list, hwpt_item) {
		if (!hwpt->auto_domain ||
		    !refcount_inc_not_zero(&hwpt->obj.users))
			continue;
		if (!iommufd_device_set_domain(idev, hwpt))
			return hwpt;
		iommufd_put_object(idev->ictx, &hwpt->obj);
	}

	hwpt = iommufd_hw_pagetable_alloc(idev->ictx, ioas, idev, 0);
	if (IS_ERR(hwpt))
		return hwpt;
	rc = iommufd_device_set_domain(idev, hwpt);
	if (rc) {
		iommufd_object_abort_and_destroy(idev->ictx, &hwpt->obj);
		return ERR_PTR(rc);
	}
	list_add_tail(&hwpt->hwpt_item, &ioas->hwpt_list);
	hwpt->auto_domain = true;
	refcount_inc(&hwpt->obj.users);
	*created = true;
	return hwpt;
}

/*
 * Whether a domain that no group was ever attached to can be filled: it has
 * an aperture, so its driver made its page table at allocation (VT-d,
 * AMD-Vi). ARM SMMU and virtio-iommu make it at the first attach.
 */
static bool iommufd_domain_usable_unfinished(struct iommu_domain *domain)
{
	return domain->geometry.aperture_end > domain->geometry.aperture_start;
}

/**
 * iommufd_device_fill_hwpt - finish and fill a page table made on request
 * @idev: the device it is made for
 * @hwpt: the page table, new
 *
 * The driver finishes the domain for @idev's group, which then goes back to
 * where it was, and the page table is filled, so that it maps the IOAS with
 * the aperture and page sizes of @idev's IOMMU before any attach.
 *
 * A group that is attached would have its DMA blocked meanwhile, for the
 * two attach calls (as for a replace). That is avoided where the domain
 * can be filled unfinished (VT-d, AMD-Vi): it is, and its driver finishes
 * it at its first attach, when the IOAS follows what that does to its
 * aperture. ARM SMMU and virtio-iommu domains cannot be.
 *
 * Return: 0 or a negative errno; the page table can be destroyed either way.
 */
int iommufd_device_fill_hwpt(struct iommufd_device *idev,
			     struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_group *igroup = idev->igroup;
	int rc;

	lockdep_assert_held(&hwpt->ioas->mutex);

	mutex_lock(&igroup->lock);
	if (igroup->hwpt && iommufd_domain_usable_unfinished(hwpt->domain))
		goto out_fill;
	if (iommufd_should_fail()) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	rc = iommufd_group_set_domain(igroup, igroup->hwpt, hwpt);
	if (rc)
		goto out_unlock;
	rc = iommufd_group_restore(igroup, hwpt, idev->dev);
	if (rc)
		goto out_unlock;
out_fill:
	rc = iommufd_hw_pagetable_fill(hwpt, idev);
out_unlock:
	mutex_unlock(&igroup->lock);
	return rc;
}

/* Move the device to page table @hwpt; returns it with a reference. */
static struct iommufd_hw_pagetable *
iommufd_device_set_hwpt(struct iommufd_device *idev,
			struct iommufd_hw_pagetable *hwpt)
{
	int rc;

	lockdep_assert_held(&hwpt->ioas->mutex);

	/* The kernel's page table that just lost its last device. */
	if (hwpt->dying)
		return ERR_PTR(-ENOENT);
	rc = iommufd_device_set_domain(idev, hwpt);
	if (rc)
		return ERR_PTR(rc);
	refcount_inc(&hwpt->obj.users);
	return hwpt;
}

/* Take the device off the list of its page table. */
static void iommufd_device_unlink(struct iommufd_device *idev,
				  struct iommufd_hw_pagetable *hwpt)
{
	mutex_lock(&hwpt->devices_lock);
	list_del(&idev->devices_item);
	mutex_unlock(&hwpt->devices_lock);
}

/*
 * Drop the reference of a device that left @hwpt. A page table the kernel
 * made goes with its last device to get here: decided under the IOAS's
 * mutex, where every attach takes its reference, and marked dying there,
 * so that no attach (by the IOAS or by the page table's ID) can join it
 * afterwards. The device's reference then waits for the others, those of
 * devices still on their way out and the short-term ones of ioctls and
 * debugfs readers; IOMMU_DESTROY of the ID in the meantime answers EBUSY.
 * The page table never stays behind, nor does another object that reuses
 * its ID get destroyed in its place.
 */
static void iommufd_device_put_hwpt(struct iommufd_device *idev,
				    struct iommufd_hw_pagetable *hwpt)
{
	bool destroy = false;

	if (hwpt->auto_domain) {
		mutex_lock(&hwpt->ioas->mutex);
		mutex_lock(&hwpt->devices_lock);
		if (list_empty(&hwpt->devices) && !hwpt->dying) {
			hwpt->dying = true;
			list_del_init(&hwpt->hwpt_item);
			destroy = true;
		}
		mutex_unlock(&hwpt->devices_lock);
		mutex_unlock(&hwpt->ioas->mutex);
	}
	/*
	 * The last device to leave destroys it, so the others' references
	 * must wake it as they go: two devices may leave at once, and the
	 * first to get the IOAS's mutex sees both gone.
	 */
	if (destroy)
		iommufd_object_destroy_owned(idev->ictx, &hwpt->obj);
	else
		iommufd_put_object(idev->ictx, &hwpt->obj);
}

/*
 * Attach or replace: move the device to the page table @pt_id names, or
 * that the kernel picks for the IOAS @pt_id names.
 */
static int iommufd_device_change_pt(struct iommufd_device *idev, u32 *pt_id)
{
	struct iommufd_hw_pagetable *hwpt, *old_hwpt = idev->hwpt;
	struct iommufd_hw_pagetable *pt_hwpt = NULL;
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_object *pt_obj;
	struct iommufd_ioas *ioas;
	bool new_ioas, created = false;
	int rc;

	pt_obj = iommufd_get_object(idev->ictx, *pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj))
		return PTR_ERR(pt_obj);

	switch (pt_obj->type) {
	case IOMMUFD_OBJ_IOAS:
		ioas = container_of(pt_obj, struct iommufd_ioas, obj);
		break;
	case IOMMUFD_OBJ_HW_PAGETABLE:
		pt_hwpt = container_of(pt_obj, struct iommufd_hw_pagetable, obj);
		ioas = pt_hwpt->ioas;
		break;
	default:
		iommufd_put_object(idev->ictx, pt_obj);
		return -EINVAL;
	}

	mutex_lock(&ioas->mutex);
	mutex_lock(&igroup->lock);
	/* The device's MSI window and the like stay unmapped in its IOAS. */
	new_ioas = !old_hwpt || old_hwpt->ioas != ioas;
	if (new_ioas) {
		rc = iopt_reserve_dev_regions(&ioas->iopt, idev->dev, idev);
		if (rc) {
			hwpt = ERR_PTR(rc);
			goto out_unlock;
		}
	}
	if (pt_hwpt)
		hwpt = iommufd_device_set_hwpt(idev, pt_hwpt);
	else
		hwpt = iommufd_device_set_ioas(idev, ioas, &created);
	if (IS_ERR(hwpt)) {
		if (new_ioas)
			iopt_remove_reserved_iova(&ioas->iopt, idev);
		goto out_unlock;
	}
	if (old_hwpt && new_ioas)
		iopt_remove_reserved_iova(&old_hwpt->ioas->iopt, idev);

	if (!old_hwpt)
		igroup->attached++;
	igroup->hwpt = hwpt;

	if (hwpt == old_hwpt) {
		/* Already there: keep the one reference the device had. */
		iommufd_put_object(idev->ictx, &hwpt->obj);
	} else {
		if (old_hwpt)
			iommufd_device_unlink(idev, old_hwpt);
		mutex_lock(&hwpt->devices_lock);
		list_add_tail(&idev->devices_item, &hwpt->devices);
		mutex_unlock(&hwpt->devices_lock);
		idev->hwpt = hwpt;
		if (created)
			iommufd_object_finalize(idev->ictx, &hwpt->obj);
	}
	*pt_id = hwpt->obj.id;
	trace_iommufd_attach(idev->dev, idev->obj.id, hwpt->obj.id,
			     ioas->obj.id, old_hwpt ? old_hwpt->obj.id : 0);
out_unlock:
	mutex_unlock(&igroup->lock);
	mutex_unlock(&ioas->mutex);
	iommufd_put_object(idev->ictx, pt_obj);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	if (old_hwpt && old_hwpt != hwpt)
		iommufd_device_put_hwpt(idev, old_hwpt);
	return 0;
}

/**
 * iommufd_device_attach - let a device DMA through an IOAS or page table
 * @idev: the device object, not attached
 * @pt_id: an IOAS, for which a compatible page table is found or made, or a
 *	page table; set to the ID of the page table the device got
 *
 * Return: 0, -EINVAL if already attached or @pt_id names another kind of
 * object, -ENOENT if it names nothing, or the IOMMU driver's errno; on
 * error nothing changed.
 */
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id)
{
	int rc;

	mutex_lock(&idev->attach_lock);
	if (idev->hwpt)
		rc = -EINVAL;
	else
		rc = iommufd_device_change_pt(idev, pt_id);
	mutex_unlock(&idev->attach_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_attach, IOMMUFD);

/**
 * iommufd_device_replace - move an attached device to another IOAS or page
 * table
 * @idev: the device object, attached
 * @pt_id: as for iommufd_device_attach()
 *
 * The device's DMA goes through the old page table, then through the new
 * one, never through a third; it is blocked for a moment in between with
 * 6.1's VT-d, AMD-Vi and SMMUv3, and while a new page table is filled if
 * @pt_id is an IOAS that needs one. A page table the kernel created for
 * the device goes away with its last device.
 *
 * Return: 0, -EINVAL if not attached, or an errno of
 * iommufd_device_attach(); on error the device stays where it was.
 */
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id)
{
	int rc;

	mutex_lock(&idev->attach_lock);
	if (!idev->hwpt)
		rc = -EINVAL;
	else
		rc = iommufd_device_change_pt(idev, pt_id);
	mutex_unlock(&idev->attach_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_replace, IOMMUFD);

/**
 * iommufd_device_detach - stop a device's DMA through its page table
 * @idev: the device object, attached
 *
 * The group goes back to blocking DMA (it stays owned by the context). A
 * page table the kernel created for the attach goes away with its last
 * device.
 */
void iommufd_device_detach(struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *hwpt;

	mutex_lock(&idev->attach_lock);
	hwpt = idev->hwpt;
	if (WARN_ON(!hwpt))
		goto out_unlock;
	/* The group blocks DMA again once its last attached device leaves. */
	mutex_lock(&igroup->lock);
	if (!--igroup->attached) {
		igroup->hwpt = NULL;
		iommufd_group_restore(igroup, hwpt, idev->dev);
	}
	mutex_unlock(&igroup->lock);
	iopt_remove_reserved_iova(&hwpt->ioas->iopt, idev);
	idev->hwpt = NULL;
	trace_iommufd_detach(idev->dev, idev->obj.id, hwpt->obj.id,
			     hwpt->ioas->obj.id, 0);
	iommufd_device_unlink(idev, hwpt);
	iommufd_device_put_hwpt(idev, hwpt);
out_unlock:
	mutex_unlock(&idev->attach_lock);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_detach, IOMMUFD);

/**
 * iommufd_device_to_ictx - the context a device is bound to
 * @idev: the device object
 *
 * Return: the context, valid while the device stays bound.
 */
struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev)
{
	return idev->ictx;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_ictx, IOMMUFD);

/**
 * iommufd_device_to_id - the ID userspace knows a bound device by
 * @idev: the device object
 *
 * Return: the object ID iommufd_device_bind() returned.
 */
u32 iommufd_device_to_id(struct iommufd_device *idev)
{
	return idev->obj.id;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_id, IOMMUFD);

/* How many PASID bits both the device and its IOMMU support. */
static u8 iommufd_device_pasid_log2(struct device *dev)
{
	u32 iommu_max = dev->iommu->iommu_dev->max_pasids;
	int dev_max;
	u8 log2;

	if (iommufd_test_device_pasid_log2(dev, &log2))
		return log2;
	if (!dev_is_pci(dev) || !iommu_max)
		return 0;
	dev_max = pci_max_pasids(to_pci_dev(dev));
	if (dev_max <= 0)
		return 0;
	return ilog2(min_t(u32, dev_max, iommu_max));
}

/**
 * iommufd_get_hw_info - the IOMMU_GET_HW_INFO ioctl
 * @ucmd: the ioctl call
 *
 * Return: 0 or a negative errno.
 */
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	void __user *uptr = u64_to_user_ptr(cmd->data_uptr);
	u32 want = IOMMU_HW_INFO_TYPE_DEFAULT, type, len = 0, copy;
	const struct iommu_ops *ops;
	struct iommufd_device *idev;
	void *data = NULL;
	u8 pasid_log2;
	bool dirty;
	int rc;

	if ((cmd->flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE) ||
	    cmd->__reserved[0] || cmd->__reserved[1] || cmd->__reserved[2])
		return -EOPNOTSUPP;
	if (cmd->flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE)
		want = cmd->in_data_type;

	idev = iommufd_get_device(ucmd->ictx, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);

	ops = dev_iommu_ops(idev->dev);
	type = IOMMU_HW_INFO_TYPE_NONE;
	if (ops->hw_info) {
		data = ops->hw_info(idev->dev, &len, &type);
		if (IS_ERR(data)) {
			rc = PTR_ERR(data);
			data = NULL;
			goto out_put;
		}
	}
	if (want != IOMMU_HW_INFO_TYPE_DEFAULT && want != type) {
		rc = -EOPNOTSUPP;
		goto out_free;
	}
	pasid_log2 = iommufd_device_pasid_log2(idev->dev);
	dirty = device_iommu_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING);
	/*
	 * Not across the copies: a fault there may wait on userspace, and
	 * the driver's unbind would wait for this reference meanwhile.
	 */
	iommufd_put_object(ucmd->ictx, &idev->obj);

	/* As much as both sides have; the rest of the user's buffer is 0. */
	copy = min(cmd->data_len, len);
	rc = copy_to_user(uptr, data, copy) ||
	     clear_user(uptr + copy, cmd->data_len - copy) ? -EFAULT : 0;
	kfree(data);
	if (rc)
		return rc;
	cmd->data_len = len;
	cmd->out_data_type = type;
	cmd->out_max_pasid_log2 = pasid_log2;
	cmd->out_capabilities = dirty ? IOMMU_HW_CAP_DIRTY_TRACKING : 0;
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));

out_free:
	kfree(data);
out_put:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}
