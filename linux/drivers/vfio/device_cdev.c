// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO device cdev: /dev/vfio/devices/vfioN.
 *
 * A file opened through a device's cdev can do nothing until userspace
 * binds it to an iommufd (VFIO_DEVICE_BIND_IOMMUFD). Binding claims the
 * device's DMA for that iommufd context, which blocks it, and only then
 * opens the device in its driver; an emulated device is bound as an access
 * instead (see drivers/vfio/iommufd.c). Userspace then attaches the device
 * to an IOAS or page table of the context, replaces and detaches it;
 * closing the file closes the device, detaches and unbinds it.
 *
 * A group is used either through its group file or through the cdevs of its
 * devices, never both: group->cdev_device_open_cnt counts the bound cdev
 * files of the group's devices, and the group file cannot be opened while
 * it is nonzero, nor a cdev bound while the group file is open (EBUSY, as
 * upstream). Merely opening a cdev, as a manager that hands the file on
 * does, blocks nothing.
 *
 * A device is open at most once through its cdev: only one file binds it,
 * and the group path cannot open it meanwhile. That file's state lives in
 * struct vfio_device_file; the device's binding is protected by the device
 * set's lock, like open_count.
 *
 * Locking: the device set's lock, then the group's group_lock. The iommufd
 * calls are made under the device set's lock; the only call back, an
 * emulated device's dma_unmap(), takes no VFIO lock.
 */
#include <linux/cdev.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/iommufd.h>
#if IS_ENABLED(CONFIG_KVM)
#include <linux/kvm_host.h>
#endif
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include "vfio.h"

static dev_t vfio_device_devt;

/**
 * struct vfio_device_file - a file opened through a device's cdev
 * @device: the device, whose registration the file holds
 * @bound: set, with release ordering, once the bind completed; never
 *	cleared while the file exists
 * @iommufd: the context the file bound the device to
 * @kvm_lock: protects @kvm
 * @kvm: the VM KVM's VFIO device linked the file to, given to the driver
 *	when the device is opened at bind
 * @put_kvm: kvm_put_kvm(), while the device holds a reference on the VM it
 *	was given (in device->kvm), under the device set's lock
 */
struct vfio_device_file {
	struct vfio_device *device;
	bool bound;
	struct iommufd_ctx *iommufd;
	spinlock_t kvm_lock; /* protects kvm */
	struct kvm *kvm;
	void (*put_kvm)(struct kvm *kvm);
};

static const struct file_operations vfio_device_cdev_fops;

void vfio_device_cdev_init(struct vfio_device *device)
{
	/* The index is below MINORMASK, see vfio_init_device(). */
	device->device.devt = MKDEV(MAJOR(vfio_device_devt), device->index);
	cdev_init(&device->cdev, &vfio_device_cdev_fops);
	device->cdev.owner = THIS_MODULE;
}

bool vfio_file_is_device_cdev(struct file *file)
{
	return file->f_op == &vfio_device_cdev_fops;
}

/*
 * Whether the IOMMU makes the device's DMA snoop the CPU caches. iommufd
 * attaches a device whose IOMMU can enforce that only to page tables that
 * do (and one whose IOMMU cannot only to page tables that do not), so the
 * capability answers for whatever the device is or will be attached to:
 * KVM asks when the file is added to its VFIO device, maybe before bind.
 */
bool vfio_device_cdev_enforced_coherent(struct file *file)
{
	struct vfio_device_file *df = file->private_data;

	if (!vfio_file_is_device_cdev(file))
		return true;
	return device_iommu_capable(df->device->dev,
				    IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
}

void vfio_device_cdev_set_kvm(struct file *file, struct kvm *kvm)
{
	struct vfio_device_file *df = file->private_data;

	if (!vfio_file_is_device_cdev(file))
		return;
	spin_lock(&df->kvm_lock);
	df->kvm = kvm;
	spin_unlock(&df->kvm_lock);
}

static bool vfio_device_file_bound(struct vfio_device_file *df)
{
	/* Pairs with the release in vfio_device_cdev_bind(). */
	return smp_load_acquire(&df->bound);
}

/**
 * vfio_device_iommufd_ctx - the context a device is bound to through its cdev
 * @device: the device
 *
 * Callers hold the device set's lock, or call from an ioctl on the file
 * that bound the device.
 *
 * Return: the context, or NULL if the device is not bound through its cdev.
 */
struct iommufd_ctx *vfio_device_iommufd_ctx(struct vfio_device *device)
{
	/* Emulated devices take part in no hot reset: they have no ctx here. */
	if (!device->cdev_bound || !device->iommufd_device)
		return NULL;
	return iommufd_device_to_ictx(device->iommufd_device);
}
EXPORT_SYMBOL_GPL(vfio_device_iommufd_ctx);

/**
 * vfio_device_iommufd_devid - whether a context's user owns a device
 * @device: the device; the caller holds the device set's lock
 * @ictx: the context
 *
 * A device not bound to @ictx still belongs to its user when another device
 * of its IOMMU group is: the group can only be owned by one context.
 *
 * Return: the device's ID in @ictx, -ENOENT if it is not bound to @ictx but
 * its group is, -EINVAL if neither.
 */
int vfio_device_iommufd_devid(struct vfio_device *device,
			      struct iommufd_ctx *ictx)
{
	struct iommu_group *group;
	bool owned;

	lockdep_assert_held(&device->dev_set->lock);

	if (vfio_device_iommufd_ctx(device) == ictx)
		return iommufd_device_to_id(device->iommufd_device);

	group = iommu_group_get(device->dev);
	if (!group)
		return -EINVAL;
	owned = iommufd_ctx_has_group(ictx, group);
	iommu_group_put(group);
	return owned ? -ENOENT : -EINVAL;
}
EXPORT_SYMBOL_GPL(vfio_device_iommufd_devid);

static int vfio_device_cdev_open(struct inode *inode, struct file *filep)
{
	struct vfio_device *device =
		container_of(inode->i_cdev, struct vfio_device, cdev);
	struct vfio_device_file *df;

	/* Registration ends before the cdev goes: this fails from then on. */
	if (!vfio_device_try_get_registration(device))
		return -ENODEV;

	df = kzalloc(sizeof(*df), GFP_KERNEL_ACCOUNT);
	if (!df) {
		vfio_device_put_registration(device);
		return -ENOMEM;
	}
	df->device = device;
	spin_lock_init(&df->kvm_lock);
	filep->private_data = df;
	return 0;
}

/*
 * Give the device the VM KVM linked the file to, with a reference: a
 * driver (vfio-ap, KVMGT) takes its own reference on device->kvm when it
 * opens the device, which must not happen once the VM is being destroyed.
 * The group path has that from its locks: KVM's VFIO device sets the VM
 * under the group's lock that opening the device holds. Here the VM is
 * read under kvm_lock, which KVM's VFIO device takes to clear it before
 * the VM is freed, and a reference is taken only on a VM that still has
 * users (kvm_get_kvm_safe()). KVM may be a module: its functions are
 * looked up, as VFIO's KVM hooks are.
 */
#if IS_ENABLED(CONFIG_KVM)
/* With df->kvm_lock held and df->kvm set: a reference on it, or NULL. */
static struct kvm *vfio_device_cdev_kvm_get_locked(struct vfio_device_file *df,
						   void (**put)(struct kvm *))
{
	bool (*get)(struct kvm *kvm);
	struct kvm *kvm = NULL;

	/* A VM that KVM linked the file to holds KVM's module: both exist. */
	*put = symbol_get(kvm_put_kvm);
	if (WARN_ON(!*put))
		return NULL;
	get = symbol_get(kvm_get_kvm_safe);
	if (WARN_ON(!get)) {
		symbol_put(kvm_put_kvm);
		return NULL;
	}
	if (get(df->kvm))
		kvm = df->kvm;
	symbol_put(kvm_get_kvm_safe);
	if (!kvm)
		symbol_put(kvm_put_kvm);
	return kvm;
}

static void vfio_device_cdev_get_kvm(struct vfio_device_file *df)
{
	void (*put)(struct kvm *kvm);
	struct kvm *kvm = NULL;

	lockdep_assert_held(&df->device->dev_set->lock);

	spin_lock(&df->kvm_lock);
	if (df->kvm)
		kvm = vfio_device_cdev_kvm_get_locked(df, &put);
	spin_unlock(&df->kvm_lock);
	if (!kvm)
		return;
	df->device->kvm = kvm;
	df->put_kvm = put;
}

/* Drop what vfio_device_cdev_get_kvm() took; dev_set lock held. */
static void vfio_device_cdev_put_kvm(struct vfio_device_file *df)
{
	struct vfio_device *device = df->device;

	lockdep_assert_held(&device->dev_set->lock);

	if (!df->put_kvm)
		return;
	df->put_kvm(device->kvm);
	symbol_put(kvm_put_kvm);
	df->put_kvm = NULL;
	device->kvm = NULL;
}
#else
/* Without KVM, nothing links a file to a VM. */
static void vfio_device_cdev_get_kvm(struct vfio_device_file *df)
{
}

static void vfio_device_cdev_put_kvm(struct vfio_device_file *df)
{
}
#endif

/* Open the device in its driver for the bound file; dev_set lock held. */
static int vfio_device_cdev_open_device(struct vfio_device_file *df,
					struct iommufd_ctx *ictx, u32 *devid)
{
	struct vfio_device *device = df->device;
	int ret;

	lockdep_assert_held(&device->dev_set->lock);

	if (!try_module_get(device->dev->driver->owner))
		return -ENODEV;

	/*
	 * Open for VFIO from before the binding to after the unbinding, as
	 * on the group path: the driver may pin or copy from open_device()
	 * on, and the detach of an emulated device's access calls its
	 * dma_unmap() to unpin what is left.
	 */
	device->open_count = 1;
	/* The VM first: the unbind's dma_unmap() may still use it. */
	vfio_device_cdev_get_kvm(df);
	ret = vfio_device_iommufd_bind(device, ictx, devid);
	if (ret)
		goto err_put_kvm;
	device->cdev_bound = true;

	if (device->ops->open_device) {
		ret = device->ops->open_device(device);
		if (ret)
			goto err_unbind;
	}
	return 0;

err_unbind:
	vfio_device_iommufd_unbind(device);
err_put_kvm:
	vfio_device_cdev_put_kvm(df);
	device->open_count = 0;
	module_put(device->dev->driver->owner);
	return ret;
}

/* Undo vfio_device_cdev_open_device(); dev_set lock held. */
static void vfio_device_cdev_close_device(struct vfio_device_file *df)
{
	struct vfio_device *device = df->device;

	lockdep_assert_held(&device->dev_set->lock);

	/* The driver quiesces the device before it loses its page table. */
	if (device->ops->close_device)
		device->ops->close_device(device);
	/* As at open: the unbind's dma_unmap() may still use the VM. */
	vfio_device_iommufd_unbind(device);
	vfio_device_cdev_put_kvm(df);
	device->open_count = 0;
	module_put(device->dev->driver->owner);
}

/* Keep the group file from being opened; -EBUSY if it is open. */
static int vfio_device_cdev_block_group(struct vfio_device *device)
{
	struct vfio_group *group = device->group;
	int ret = 0;

	mutex_lock(&group->group_lock);
	if (group->opened_file)
		ret = -EBUSY;
	else
		group->cdev_device_open_cnt++;
	mutex_unlock(&group->group_lock);
	return ret;
}

static void vfio_device_cdev_unblock_group(struct vfio_device *device)
{
	struct vfio_group *group = device->group;

	mutex_lock(&group->group_lock);
	group->cdev_device_open_cnt--;
	mutex_unlock(&group->group_lock);
}

static long vfio_device_cdev_bind(struct vfio_device_file *df,
				  struct vfio_device_bind_iommufd __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_device_bind_iommufd,
					  out_devid);
	struct vfio_device *device = df->device;
	struct vfio_device_bind_iommufd bind;
	struct iommufd_ctx *ictx;
	struct fd f;
	u32 devid;
	long ret;

	if (copy_from_user(&bind, arg, minsz))
		return -EFAULT;
	if (bind.argsz < minsz || bind.flags || bind.iommufd < 0)
		return -EINVAL;

	f = fdget(bind.iommufd);
	if (!f.file)
		return -EBADF;
	ictx = iommufd_ctx_from_file(f.file);
	fdput(f);
	if (IS_ERR(ictx))
		return PTR_ERR(ictx);

	ret = vfio_device_cdev_block_group(device);
	if (ret)
		goto out_put_ictx;
	mutex_lock(&device->dev_set->lock);
	/* Bound already, through this file or another. */
	if (df->bound || device->open_count) {
		ret = -EINVAL;
		goto out_unlock;
	}
	ret = vfio_device_cdev_open_device(df, ictx, &devid);
	if (ret)
		goto out_unlock;
	if (put_user(devid, &arg->out_devid)) {
		ret = -EFAULT;
		goto out_close_device;
	}
	/* The context reference moves to the file, put at release. */
	df->iommufd = ictx;
	/* Lockless readers of bound see the device open once they see it. */
	smp_store_release(&df->bound, true);
	mutex_unlock(&device->dev_set->lock);
	return 0;

out_close_device:
	vfio_device_cdev_close_device(df);
out_unlock:
	mutex_unlock(&device->dev_set->lock);
	vfio_device_cdev_unblock_group(device);
out_put_ictx:
	iommufd_ctx_put(ictx);
	return ret;
}

static long
vfio_device_cdev_attach(struct vfio_device_file *df,
			struct vfio_device_attach_iommufd_pt __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_device_attach_iommufd_pt,
					  pt_id);
	struct vfio_device *device = df->device;
	struct vfio_device_attach_iommufd_pt attach;
	bool replace;
	long ret;

	if (copy_from_user(&attach, arg, minsz))
		return -EFAULT;
	if (attach.argsz < minsz || attach.flags)
		return -EINVAL;
	/*
	 * The answer cannot be taken back once the device moved: make sure
	 * it can be written before moving.
	 */
	if (put_user(attach.pt_id, &arg->pt_id))
		return -EFAULT;

	mutex_lock(&device->dev_set->lock);
	replace = device->iommufd_attached;
	ret = vfio_device_iommufd_attach(device, &attach.pt_id);
	if (ret)
		goto out_unlock;
	if (put_user(attach.pt_id, &arg->pt_id)) {
		/* Userspace unmapped the structure meanwhile. */
		ret = -EFAULT;
		if (!replace)
			vfio_device_iommufd_detach(device);
	}
out_unlock:
	mutex_unlock(&device->dev_set->lock);
	return ret;
}

static long
vfio_device_cdev_detach(struct vfio_device_file *df,
			struct vfio_device_detach_iommufd_pt __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_device_detach_iommufd_pt,
					  flags);
	struct vfio_device *device = df->device;
	struct vfio_device_detach_iommufd_pt detach;

	if (copy_from_user(&detach, arg, minsz))
		return -EFAULT;
	if (detach.argsz < minsz || detach.flags)
		return -EINVAL;

	mutex_lock(&device->dev_set->lock);
	/* Detaching a detached device does nothing, as upstream. */
	vfio_device_iommufd_detach(device);
	mutex_unlock(&device->dev_set->lock);
	return 0;
}

static long vfio_device_cdev_ioctl(struct file *filep, unsigned int cmd,
				   unsigned long arg)
{
	struct vfio_device_file *df = filep->private_data;
	void __user *uarg = (void __user *)arg;

	if (cmd == VFIO_DEVICE_BIND_IOMMUFD)
		return vfio_device_cdev_bind(df, uarg);
	if (!vfio_device_file_bound(df))
		return -EINVAL;

	switch (cmd) {
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
		return vfio_device_cdev_attach(df, uarg);
	case VFIO_DEVICE_DETACH_IOMMUFD_PT:
		return vfio_device_cdev_detach(df, uarg);
	default:
		return vfio_device_ioctl(df->device, cmd, arg);
	}
}

static ssize_t vfio_device_cdev_read(struct file *filep, char __user *buf,
				     size_t count, loff_t *ppos)
{
	struct vfio_device_file *df = filep->private_data;

	if (!vfio_device_file_bound(df))
		return -EINVAL;
	return vfio_device_read(df->device, buf, count, ppos);
}

static ssize_t vfio_device_cdev_write(struct file *filep,
				      const char __user *buf, size_t count,
				      loff_t *ppos)
{
	struct vfio_device_file *df = filep->private_data;

	if (!vfio_device_file_bound(df))
		return -EINVAL;
	return vfio_device_write(df->device, buf, count, ppos);
}

static int vfio_device_cdev_mmap(struct file *filep,
				 struct vm_area_struct *vma)
{
	struct vfio_device_file *df = filep->private_data;

	if (!vfio_device_file_bound(df))
		return -EINVAL;
	return vfio_device_mmap(df->device, vma);
}

static int vfio_device_cdev_release(struct inode *inode, struct file *filep)
{
	struct vfio_device_file *df = filep->private_data;
	struct vfio_device *device = df->device;

	if (df->bound) {
		mutex_lock(&device->dev_set->lock);
		vfio_device_cdev_close_device(df);
		mutex_unlock(&device->dev_set->lock);
		vfio_device_cdev_unblock_group(device);
		iommufd_ctx_put(df->iommufd);
	}
	kfree(df);
	vfio_device_put_registration(device);
	return 0;
}

static const struct file_operations vfio_device_cdev_fops = {
	.owner		= THIS_MODULE,
	.open		= vfio_device_cdev_open,
	.release	= vfio_device_cdev_release,
	.read		= vfio_device_cdev_read,
	.write		= vfio_device_cdev_write,
	.unlocked_ioctl	= vfio_device_cdev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= vfio_device_cdev_mmap,
};

static char *vfio_device_devnode(struct device *dev, umode_t *mode)
{
	return kasprintf(GFP_KERNEL, "vfio/devices/%s", dev_name(dev));
}

int vfio_cdev_init(struct class *device_class)
{
	device_class->devnode = vfio_device_devnode;
	return alloc_chrdev_region(&vfio_device_devt, 0, MINORMASK + 1,
				   "vfio-dev");
}

void vfio_cdev_cleanup(void)
{
	unregister_chrdev_region(vfio_device_devt, MINORMASK + 1);
}
