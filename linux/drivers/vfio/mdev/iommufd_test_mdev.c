// SPDX-License-Identifier: GPL-2.0-only
/*
 * A test-only mdev driver for the iommufd selftests (CONFIG_IOMMUFD_TEST).
 *
 * Its devices are emulated: they have no IOMMU and reach the memory of the
 * process that opened them only through vfio_pin_pages(), vfio_unpin_pages()
 * and vfio_dma_rw(), as a mediated GPU or an s390 channel subsystem device
 * does. Userspace drives them with one ioctl, IOMMU_TEST_MDEV_CMD (see
 * iommufd_test_mdev.h), to pin IOVA, copy through the pinned pages or
 * through vfio_dma_rw(), and to see the dma_unmap() calls that made the
 * driver give pins up. The same device works in a type1 container and bound
 * to an iommufd, so the selftests compare the two.
 *
 * Locking: each device's lock protects its pins and counters. VFIO calls
 * dma_unmap() without its own locks held, and the driver calls into VFIO
 * with the device's lock held; neither waits for the other. A copy made
 * by a workqueue's thread is waited for with the lock held: the worker
 * takes none of the driver's locks.
 */
#include <linux/device.h>
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <linux/workqueue.h>

#include "iommufd_test_mdev.h"

/* vfio_dma_rw() copies through a kernel buffer of at most this size. */
#define IOMMU_TEST_MDEV_MAX_RW	(64 * 1024)

struct iommufd_test_mdev_pin {
	dma_addr_t iova;
	unsigned long npages;
	bool keep;	/* IOMMU_TEST_MDEV_KEEP */
	struct page *pages[VFIO_PIN_PAGES_MAX_ENTRIES];
};

/**
 * struct iommufd_test_mdev - one test device
 * @vdev: the VFIO device
 * @lock: protects the pins and the counters
 * @pins: the pinned ranges; the first @npins are in use
 * @npins: how many ranges are pinned
 * @unmaps: ranges given up in dma_unmap() since the device was opened
 * @unmap_calls: dma_unmap() calls since the device was opened
 * @unmap_iova: the IOVA of the last one
 * @unmap_length: its length
 * @open_rw: what a vfio_dma_rw() in the last open_device() returned
 */
struct iommufd_test_mdev {
	struct vfio_device vdev;
	struct mutex lock; /* protects the pins and counters */
	struct iommufd_test_mdev_pin *pins[IOMMU_TEST_MDEV_MAX_PINS];
	unsigned int npins;
	unsigned int unmaps;
	unsigned int unmap_calls;
	u64 unmap_iova;
	u64 unmap_length;
	int open_rw;
};

static struct iommufd_test_mdev *to_test_mdev(struct vfio_device *vdev)
{
	return container_of(vdev, struct iommufd_test_mdev, vdev);
}

/*
 * The IOVA of the page a pin starts in: VFIO pins from the page a byte
 * address is in (s390's vfio-ap and vfio-ccw pin byte addresses), and the
 * driver finds its data at the address's offset in the first page. The
 * pin keeps the address it was made with, which type1 unpins by.
 */
static u64 iommufd_test_mdev_pin_base(struct iommufd_test_mdev_pin *pin)
{
	return ALIGN_DOWN(pin->iova, PAGE_SIZE);
}

/* Unpin range @i and drop it from the list; the lock is held. */
static void iommufd_test_mdev_unpin(struct iommufd_test_mdev *tdev,
				    unsigned int i)
{
	struct iommufd_test_mdev_pin *pin = tdev->pins[i];

	lockdep_assert_held(&tdev->lock);

	vfio_unpin_pages(&tdev->vdev, pin->iova, pin->npages);
	kfree(pin);
	tdev->pins[i] = tdev->pins[--tdev->npins];
	tdev->pins[tdev->npins] = NULL;
}

static int iommufd_test_mdev_find(struct iommufd_test_mdev *tdev,
				  dma_addr_t iova, dma_addr_t last)
{
	unsigned int i;

	for (i = 0; i != tdev->npins; i++) {
		struct iommufd_test_mdev_pin *pin = tdev->pins[i];
		u64 base = iommufd_test_mdev_pin_base(pin);

		if (iova >= base && last <= base + pin->npages * PAGE_SIZE - 1)
			return i;
	}
	return -ENOENT;
}

static int iommufd_test_mdev_pin(struct iommufd_test_mdev *tdev,
				 struct iommu_test_mdev_cmd *cmd)
{
	int prot = IOMMU_READ;
	struct iommufd_test_mdev_pin *pin;
	unsigned long npages;
	int ret;

	if (!cmd->length || cmd->length % PAGE_SIZE ||
	    cmd->length / PAGE_SIZE > VFIO_PIN_PAGES_MAX_ENTRIES)
		return -EINVAL;
	npages = cmd->length / PAGE_SIZE;
	if (cmd->flags & IOMMU_TEST_MDEV_WRITE)
		prot |= IOMMU_WRITE;
	/* Only the detach of an iommufd access asks for kept pins. */
	if ((cmd->flags & IOMMU_TEST_MDEV_KEEP) && !tdev->vdev.iommufd_access)
		return -EINVAL;
	if (tdev->npins == IOMMU_TEST_MDEV_MAX_PINS)
		return -ENOSPC;

	pin = kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
	if (!pin)
		return -ENOMEM;
	ret = vfio_pin_pages(&tdev->vdev, cmd->iova, npages, prot, pin->pages);
	if (ret < 0)
		goto err_free;
	/* VFIO pins all or nothing; anything else is a bug to report. */
	if (WARN_ON(ret != npages)) {
		if (ret > 0)
			vfio_unpin_pages(&tdev->vdev, cmd->iova, ret);
		ret = -EFAULT;
		goto err_free;
	}
	pin->iova = cmd->iova;
	pin->npages = npages;
	pin->keep = cmd->flags & IOMMU_TEST_MDEV_KEEP;
	tdev->pins[tdev->npins++] = pin;
	return 0;

err_free:
	kfree(pin);
	return ret;
}

/* Copy through the pinned pages, a page at a time. */
static int iommufd_test_mdev_pinned_rw(struct iommufd_test_mdev *tdev,
				       struct iommu_test_mdev_cmd *cmd)
{
	void __user *uptr = u64_to_user_ptr(cmd->uptr);
	struct iommufd_test_mdev_pin *pin;
	u64 offset, done = 0;
	int i;

	if (!cmd->length || cmd->iova + cmd->length < cmd->iova)
		return -EINVAL;
	i = iommufd_test_mdev_find(tdev, cmd->iova,
				   cmd->iova + cmd->length - 1);
	if (i < 0)
		return i;
	pin = tdev->pins[i];
	offset = cmd->iova - iommufd_test_mdev_pin_base(pin);

	while (done != cmd->length) {
		struct page *page = pin->pages[offset / PAGE_SIZE];
		unsigned int in_page = offset % PAGE_SIZE;
		size_t n = min_t(u64, PAGE_SIZE - in_page, cmd->length - done);
		void *kaddr = kmap_local_page(page);
		unsigned long left;

		if (cmd->flags & IOMMU_TEST_MDEV_WRITE)
			left = copy_from_user(kaddr + in_page, uptr + done, n);
		else
			left = copy_to_user(uptr + done, kaddr + in_page, n);
		kunmap_local(kaddr);
		if (left)
			return -EFAULT;
		done += n;
		offset += n;
	}
	return 0;
}

/* A vfio_dma_rw() call that a kernel thread makes for the ioctl. */
struct iommufd_test_mdev_rw_work {
	struct work_struct work;
	struct iommufd_test_mdev *tdev;
	dma_addr_t iova;
	void *buf;
	size_t length;
	bool write;
	int ret;
};

static void iommufd_test_mdev_rw_work_fn(struct work_struct *work)
{
	struct iommufd_test_mdev_rw_work *rw =
		container_of(work, struct iommufd_test_mdev_rw_work, work);

	rw->ret = vfio_dma_rw(&rw->tdev->vdev, rw->iova, rw->buf, rw->length,
			      rw->write);
}

/* vfio_dma_rw() from a workqueue's kernel thread, which has no mm. */
static int iommufd_test_mdev_dma_rw_kthread(struct iommufd_test_mdev *tdev,
					    dma_addr_t iova, void *buf,
					    size_t length, bool write)
{
	struct iommufd_test_mdev_rw_work rw = {
		.tdev = tdev,
		.iova = iova,
		.buf = buf,
		.length = length,
		.write = write,
	};

	INIT_WORK_ONSTACK(&rw.work, iommufd_test_mdev_rw_work_fn);
	queue_work(system_unbound_wq, &rw.work);
	flush_work(&rw.work);
	destroy_work_on_stack(&rw.work);
	return rw.ret;
}

static int iommufd_test_mdev_dma_rw(struct iommufd_test_mdev *tdev,
				    struct iommu_test_mdev_cmd *cmd)
{
	void __user *uptr = u64_to_user_ptr(cmd->uptr);
	bool write = cmd->flags & IOMMU_TEST_MDEV_WRITE;
	void *buf;
	int ret;

	if (!cmd->length || cmd->length > IOMMU_TEST_MDEV_MAX_RW)
		return -EINVAL;
	buf = kvzalloc(cmd->length, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	if (write && copy_from_user(buf, uptr, cmd->length)) {
		ret = -EFAULT;
		goto out_free;
	}
	if (cmd->flags & IOMMU_TEST_MDEV_KTHREAD)
		ret = iommufd_test_mdev_dma_rw_kthread(tdev, cmd->iova, buf,
						       cmd->length, write);
	else
		ret = vfio_dma_rw(&tdev->vdev, cmd->iova, buf, cmd->length,
				  write);
	if (!ret && !write && copy_to_user(uptr, buf, cmd->length))
		ret = -EFAULT;
out_free:
	kvfree(buf);
	return ret;
}

static long iommufd_test_mdev_cmd(struct iommufd_test_mdev *tdev,
				  struct iommu_test_mdev_cmd __user *ucmd)
{
	struct iommu_test_mdev_cmd cmd;
	long ret;

	if (copy_from_user(&cmd, ucmd, sizeof(cmd)))
		return -EFAULT;
	if (cmd.size != sizeof(cmd) || cmd.__reserved ||
	    cmd.flags & ~(IOMMU_TEST_MDEV_WRITE | IOMMU_TEST_MDEV_KTHREAD |
			  IOMMU_TEST_MDEV_KEEP) ||
	    ((cmd.flags & IOMMU_TEST_MDEV_KTHREAD) &&
	     cmd.op != IOMMU_TEST_MDEV_OP_DMA_RW) ||
	    ((cmd.flags & IOMMU_TEST_MDEV_KEEP) &&
	     cmd.op != IOMMU_TEST_MDEV_OP_PIN))
		return -EINVAL;

	mutex_lock(&tdev->lock);
	switch (cmd.op) {
	case IOMMU_TEST_MDEV_OP_PIN:
		ret = iommufd_test_mdev_pin(tdev, &cmd);
		break;
	case IOMMU_TEST_MDEV_OP_UNPIN:
		ret = iommufd_test_mdev_find(tdev, cmd.iova, cmd.iova);
		if (ret >= 0 && tdev->pins[ret]->iova != cmd.iova)
			ret = -ENOENT;
		if (ret >= 0) {
			iommufd_test_mdev_unpin(tdev, ret);
			ret = 0;
		}
		break;
	case IOMMU_TEST_MDEV_OP_PINNED_RW:
		ret = iommufd_test_mdev_pinned_rw(tdev, &cmd);
		break;
	case IOMMU_TEST_MDEV_OP_DMA_RW:
		ret = iommufd_test_mdev_dma_rw(tdev, &cmd);
		break;
	case IOMMU_TEST_MDEV_OP_STATUS:
		ret = 0;
		break;
	default:
		ret = -EINVAL;
		break;
	}
	cmd.out_pins = tdev->npins;
	cmd.out_unmaps = tdev->unmaps;
	cmd.out_open_rw = tdev->open_rw;
	cmd.out_unmap_calls = tdev->unmap_calls;
	cmd.out_unmap_iova = tdev->unmap_iova;
	cmd.out_unmap_length = tdev->unmap_length;
	mutex_unlock(&tdev->lock);

	if (put_user(cmd.out_pins, &ucmd->out_pins) ||
	    put_user(cmd.out_unmaps, &ucmd->out_unmaps) ||
	    put_user(cmd.out_open_rw, &ucmd->out_open_rw) ||
	    put_user(cmd.out_unmap_calls, &ucmd->out_unmap_calls) ||
	    put_user(cmd.out_unmap_iova, &ucmd->out_unmap_iova) ||
	    put_user(cmd.out_unmap_length, &ucmd->out_unmap_length))
		return -EFAULT;
	return ret;
}

static long iommufd_test_mdev_ioctl(struct vfio_device *vdev,
				    unsigned int cmd, unsigned long arg)
{
	if (cmd != IOMMU_TEST_MDEV_CMD)
		return -ENOTTY;
	return iommufd_test_mdev_cmd(to_test_mdev(vdev), (void __user *)arg);
}

/* Userspace unmaps [iova, iova + length): give up the pins inside it. */
static void iommufd_test_mdev_dma_unmap(struct vfio_device *vdev, u64 iova,
					u64 length)
{
	struct iommufd_test_mdev *tdev = to_test_mdev(vdev);
	u64 last = iova + length - 1;
	unsigned int i = 0;

	mutex_lock(&tdev->lock);
	tdev->unmap_calls++;
	tdev->unmap_iova = iova;
	tdev->unmap_length = length;
	while (i != tdev->npins) {
		struct iommufd_test_mdev_pin *pin = tdev->pins[i];
		u64 base = iommufd_test_mdev_pin_base(pin);
		u64 pin_last = base + pin->npages * PAGE_SIZE - 1;

		if (base > last || pin_last < iova) {
			i++;
			continue;
		}
		/* The last range moves to @i: look at it next. */
		iommufd_test_mdev_unpin(tdev, i);
		tdev->unmaps++;
	}
	mutex_unlock(&tdev->lock);
}

/*
 * A driver may reach the memory from its open_device() already (a mediated
 * GPU reads guest tables there): VFIO must count the device open by then.
 * What a one-byte read answers is kept for IOMMU_TEST_MDEV_OP_STATUS.
 */
static int iommufd_test_mdev_open_device(struct vfio_device *vdev)
{
	struct iommufd_test_mdev *tdev = to_test_mdev(vdev);
	u8 byte;

	mutex_lock(&tdev->lock);
	WARN_ON(tdev->npins);
	tdev->unmaps = 0;
	tdev->unmap_calls = 0;
	tdev->unmap_iova = 0;
	tdev->unmap_length = 0;
	tdev->open_rw = vfio_dma_rw(vdev, 0, &byte, 1, false);
	mutex_unlock(&tdev->lock);
	return 0;
}

/*
 * Pins must not outlive the open device, which loses its IOVA space: all
 * go here but those kept for dma_unmap(), which VFIO calls before the
 * device counts as closed.
 */
static void iommufd_test_mdev_close_device(struct vfio_device *vdev)
{
	struct iommufd_test_mdev *tdev = to_test_mdev(vdev);
	unsigned int i = 0;

	mutex_lock(&tdev->lock);
	while (i != tdev->npins) {
		if (tdev->pins[i]->keep)
			i++;
		else
			iommufd_test_mdev_unpin(tdev, i);
	}
	mutex_unlock(&tdev->lock);
}

static int iommufd_test_mdev_init_dev(struct vfio_device *vdev)
{
	mutex_init(&to_test_mdev(vdev)->lock);
	return 0;
}

static void iommufd_test_mdev_release_dev(struct vfio_device *vdev)
{
	/* Every pin went at the close, or at the detach after it. */
	WARN_ON(to_test_mdev(vdev)->npins);
	mutex_destroy(&to_test_mdev(vdev)->lock);
	vfio_free_device(vdev);
}

static const struct vfio_device_ops iommufd_test_mdev_ops = {
	.name = "iommufd-test-mdev",
	.init = iommufd_test_mdev_init_dev,
	.release = iommufd_test_mdev_release_dev,
	.open_device = iommufd_test_mdev_open_device,
	.close_device = iommufd_test_mdev_close_device,
	.ioctl = iommufd_test_mdev_ioctl,
	.dma_unmap = iommufd_test_mdev_dma_unmap,
};

static int iommufd_test_mdev_probe(struct mdev_device *mdev)
{
	struct iommufd_test_mdev *tdev;
	int ret;

	tdev = vfio_alloc_device(iommufd_test_mdev, vdev, &mdev->dev,
				 &iommufd_test_mdev_ops);
	if (IS_ERR(tdev))
		return PTR_ERR(tdev);
	ret = vfio_register_emulated_iommu_dev(&tdev->vdev);
	if (ret) {
		vfio_put_device(&tdev->vdev);
		return ret;
	}
	dev_set_drvdata(&mdev->dev, tdev);
	return 0;
}

static void iommufd_test_mdev_remove(struct mdev_device *mdev)
{
	struct iommufd_test_mdev *tdev = dev_get_drvdata(&mdev->dev);

	vfio_unregister_group_dev(&tdev->vdev);
	vfio_put_device(&tdev->vdev);
}

static struct mdev_driver iommufd_test_mdev_driver = {
	.device_api = "iommufd-test",
	.max_instances = 4,
	.driver = {
		.name = "iommufd_test_mdev",
		.owner = THIS_MODULE,
		.mod_name = KBUILD_MODNAME,
	},
	.probe = iommufd_test_mdev_probe,
	.remove = iommufd_test_mdev_remove,
};

static struct mdev_type iommufd_test_mdev_type_pin = {
	.sysfs_name = "pin",
	.pretty_name = "pins, copies and watches unmaps",
};

static struct mdev_type *iommufd_test_mdev_types[] = {
	&iommufd_test_mdev_type_pin,
};

/*
 * The parent is a class device, so that the type's sysfs name is
 * "<class>-pin" (mdev prefixes the parent's driver, bus or class name).
 */
static struct class *iommufd_test_mdev_class;
static struct device *iommufd_test_mdev_parent_dev;
static struct mdev_parent iommufd_test_mdev_parent;

static int __init iommufd_test_mdev_init(void)
{
	int ret;

	ret = mdev_register_driver(&iommufd_test_mdev_driver);
	if (ret)
		return ret;
	iommufd_test_mdev_class = class_create(THIS_MODULE,
					       IOMMU_TEST_MDEV_PARENT);
	if (IS_ERR(iommufd_test_mdev_class)) {
		ret = PTR_ERR(iommufd_test_mdev_class);
		goto err_driver;
	}
	iommufd_test_mdev_parent_dev =
		device_create(iommufd_test_mdev_class, NULL, MKDEV(0, 0), NULL,
			      IOMMU_TEST_MDEV_PARENT);
	if (IS_ERR(iommufd_test_mdev_parent_dev)) {
		ret = PTR_ERR(iommufd_test_mdev_parent_dev);
		goto err_class;
	}
	ret = mdev_register_parent(&iommufd_test_mdev_parent,
				   iommufd_test_mdev_parent_dev,
				   &iommufd_test_mdev_driver,
				   iommufd_test_mdev_types,
				   ARRAY_SIZE(iommufd_test_mdev_types));
	if (ret)
		goto err_device;
	return 0;

err_device:
	device_unregister(iommufd_test_mdev_parent_dev);
err_class:
	class_destroy(iommufd_test_mdev_class);
err_driver:
	mdev_unregister_driver(&iommufd_test_mdev_driver);
	return ret;
}

static void __exit iommufd_test_mdev_exit(void)
{
	mdev_unregister_parent(&iommufd_test_mdev_parent);
	device_unregister(iommufd_test_mdev_parent_dev);
	class_destroy(iommufd_test_mdev_class);
	mdev_unregister_driver(&iommufd_test_mdev_driver);
}

module_init(iommufd_test_mdev_init);
module_exit(iommufd_test_mdev_exit);

MODULE_DESCRIPTION("Emulated VFIO device for the iommufd selftests");
MODULE_LICENSE("GPL");
