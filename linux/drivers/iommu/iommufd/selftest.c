// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test-only interfaces (CONFIG_IOMMUFD_TEST). Never enable in production.
 *
 * IOMMU_TEST_CMD lets the selftests look inside the kernel (page pin
 * counts) and steer it (a smaller temporary memory budget, so that batch
 * boundaries are crossed with small buffers).
 *
 * debugfs "iommufd/inject": writing "warn", "kasan" or "leak" makes the
 * kernel print a WARN, a KASAN out-of-bounds report or leak an object that
 * kmemleak will report. The test harness uses it to prove that its console
 * judge fails a run that shows any of these.
 */
#define pr_fmt(fmt) "iommufd: " fmt

#include <linux/compiler.h>
#include <linux/device.h>
#include <linux/idr.h>
#include <linux/iommu.h>
#include <linux/debugfs.h>
#include <linux/fault-inject.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"
#include "iommufd_test.h"

static struct dentry *iommufd_test_dir, *iommufd_fail_dir;

/*
 * fail_iommufd: the allocation and pinning paths ask it whether to fail,
 * so a fail-nth sweep (/proc/self/task/<tid>/fail-nth) reaches every
 * unwind path.
 */
static DECLARE_FAULT_ATTR(fail_iommufd);

bool iommufd_should_fail(void)
{
	return should_fail(&fail_iommufd, 1);
}

/* The default budget for temporary buffers, in bytes; see iommufd_private.h. */
#define IOMMUFD_TEST_DEFAULT_MEMORY_LIMIT 65536
size_t iommufd_test_memory_limit = IOMMUFD_TEST_DEFAULT_MEMORY_LIMIT;

/*
 * The mock IOMMU
 * ==============
 *
 * Mock devices sit on a bus of their own whose iommu_ops are the mock's, so
 * the mock works next to a real IOMMU driver (which owns the PCI and
 * platform buses). A mock domain is an xarray from IO page number to
 * physical address, with IO pages half the CPU page size so that IOVAs
 * inside a CPU page get exercised, and an aperture that does not start at
 * 0 so that reserved ranges do.
 */
#define MOCK_IO_PAGE_SIZE (PAGE_SIZE / 2)

struct mock_iommu_domain {
	struct iommu_domain domain;
	struct xarray pfns;	/* IO page number -> physical address / IO page */
};

static struct mock_iommu_domain *to_mock_domain(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_iommu_domain, domain);
}

static const struct iommu_domain_ops mock_domain_ops;

static struct iommu_domain *mock_domain_alloc(unsigned int type)
{
	struct mock_iommu_domain *mock;

	/* Blocking falls back to an empty paging domain. */
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA)
		return NULL;
	mock = kzalloc(sizeof(*mock), GFP_KERNEL);
	if (!mock)
		return NULL;
	mock->domain.geometry.aperture_start = MOCK_APERTURE_START;
	mock->domain.geometry.aperture_end = MOCK_APERTURE_LAST;
	mock->domain.geometry.force_aperture = true;
	xa_init(&mock->pfns);
	return &mock->domain;
}

static void mock_domain_free(struct iommu_domain *domain)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);

	/* Whatever was mapped must have been unmapped. */
	WARN_ON(!xa_empty(&mock->pfns));
	xa_destroy(&mock->pfns);
	kfree(mock);
}

static int mock_domain_attach_dev(struct iommu_domain *domain,
				  struct device *dev)
{
	return 0;
}

static void mock_domain_detach_dev(struct iommu_domain *domain,
				   struct device *dev)
{
}

static size_t mock_domain_unmap_pages(struct iommu_domain *domain,
				      unsigned long iova, size_t pgsize,
				      size_t pgcount,
				      struct iommu_iotlb_gather *gather);

static int mock_domain_map_pages(struct iommu_domain *domain,
				 unsigned long iova, phys_addr_t paddr,
				 size_t pgsize, size_t pgcount, int prot,
				 gfp_t gfp, size_t *mapped)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	size_t done;
	void *old;

	for (done = 0; done != pgsize * pgcount; done += MOCK_IO_PAGE_SIZE) {
		old = xa_store(&mock->pfns, (iova + done) / MOCK_IO_PAGE_SIZE,
			       xa_mk_value((paddr + done) / MOCK_IO_PAGE_SIZE),
			       gfp);
		if (xa_is_err(old) || WARN_ON(old)) {
			xa_erase(&mock->pfns, (iova + done) / MOCK_IO_PAGE_SIZE);
			if (done)
				mock_domain_unmap_pages(domain, iova,
							MOCK_IO_PAGE_SIZE,
							done / MOCK_IO_PAGE_SIZE,
							NULL);
			return xa_is_err(old) ? xa_err(old) : -EBUSY;
		}
	}
	*mapped = done;
	return 0;
}

static size_t mock_domain_unmap_pages(struct iommu_domain *domain,
				      unsigned long iova, size_t pgsize,
				      size_t pgcount,
				      struct iommu_iotlb_gather *gather)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	size_t done;

	for (done = 0; done != pgsize * pgcount; done += MOCK_IO_PAGE_SIZE) {
		/* iommufd never unmaps what it did not map. */
		if (WARN_ON(!xa_erase(&mock->pfns,
				      (iova + done) / MOCK_IO_PAGE_SIZE)))
			break;
	}
	return done;
}

static phys_addr_t mock_domain_iova_to_phys(struct iommu_domain *domain,
					    dma_addr_t iova)
{
	struct mock_iommu_domain *mock = to_mock_domain(domain);
	void *entry = xa_load(&mock->pfns, iova / MOCK_IO_PAGE_SIZE);

	if (WARN_ON(!entry))
		return 0;
	return xa_to_value(entry) * MOCK_IO_PAGE_SIZE + iova % MOCK_IO_PAGE_SIZE;
}

static const struct iommu_domain_ops mock_domain_ops = {
	.attach_dev = mock_domain_attach_dev,
	.detach_dev = mock_domain_detach_dev,
	.map_pages = mock_domain_map_pages,
	.unmap_pages = mock_domain_unmap_pages,
	.iova_to_phys = mock_domain_iova_to_phys,
	.free = mock_domain_free,
};

static struct iommu_device mock_iommu;

static struct iommu_device *mock_probe_device(struct device *dev)
{
	return &mock_iommu;
}

static bool mock_capable(struct device *dev, enum iommu_cap cap)
{
	return cap == IOMMU_CAP_CACHE_COHERENCY;
}

static const struct iommu_ops mock_ops = {
	.owner = THIS_MODULE,
	.pgsize_bitmap = MOCK_IO_PAGE_SIZE,
	.capable = mock_capable,
	.domain_alloc = mock_domain_alloc,
	.probe_device = mock_probe_device,
	.device_group = generic_device_group,
	.default_domain_ops = &mock_domain_ops,
};

static struct bus_type iommufd_mock_bus = {
	.name = "iommufd_mock",
	.iommu_ops = &mock_ops,
};

static DEFINE_IDA(mock_dev_ida);

struct mock_dev {
	struct device dev;
	int id;
};

static void mock_dev_release(struct device *dev)
{
	struct mock_dev *mdev = container_of(dev, struct mock_dev, dev);

	ida_free(&mock_dev_ida, mdev->id);
	kfree(mdev);
}

/* A new device on the mock bus, with its own IOMMU group. */
static struct mock_dev *mock_dev_create(void)
{
	struct mock_dev *mdev;
	int rc;

	mdev = kzalloc(sizeof(*mdev), GFP_KERNEL);
	if (!mdev)
		return ERR_PTR(-ENOMEM);
	mdev->id = ida_alloc(&mock_dev_ida, GFP_KERNEL);
	if (mdev->id < 0) {
		rc = mdev->id;
		kfree(mdev);
		return ERR_PTR(rc);
	}
	device_initialize(&mdev->dev);
	mdev->dev.release = mock_dev_release;
	mdev->dev.bus = &iommufd_mock_bus;
	rc = dev_set_name(&mdev->dev, "iommufd_mock%d", mdev->id);
	if (rc)
		goto err_put;
	rc = device_add(&mdev->dev);
	if (rc)
		goto err_put;
	/* No bus notifier runs for this bus: probe the IOMMU by hand. */
	rc = iommu_probe_device(&mdev->dev);
	if (rc)
		goto err_del;
	return mdev;

err_del:
	device_del(&mdev->dev);
err_put:
	put_device(&mdev->dev);
	return ERR_PTR(rc);
}

static void mock_dev_destroy(struct mock_dev *mdev)
{
	iommu_release_device(&mdev->dev);
	device_unregister(&mdev->dev);
}

void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct iommufd_selftest_object *sobj =
		container_of(obj, struct iommufd_selftest_object, obj);

	if (sobj->held)
		iommufd_put_object(sobj->held);
	if (sobj->idev) {
		if (sobj->idev->hwpt)
			iommufd_device_detach(sobj->idev);
		iommufd_device_unbind(sobj->idev);
	}
	if (sobj->mdev)
		mock_dev_destroy(sobj->mdev);
}

/* A mock device bound to the context and attached to IOAS @ioas_id. */
static int iommufd_test_mock_domain(struct iommufd_ucmd *ucmd,
				    struct iommu_test_cmd *cmd)
{
	struct iommufd_selftest_object *sobj;
	u32 idev_id, pt_id = cmd->id;
	int rc;

	sobj = iommufd_object_alloc(ucmd->ictx, sobj, IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);

	sobj->mdev = mock_dev_create();
	if (IS_ERR(sobj->mdev)) {
		rc = PTR_ERR(sobj->mdev);
		sobj->mdev = NULL;
		goto out_destroy;
	}
	sobj->idev = iommufd_device_bind(ucmd->ictx, &sobj->mdev->dev,
					 &idev_id);
	if (IS_ERR(sobj->idev)) {
		rc = PTR_ERR(sobj->idev);
		sobj->idev = NULL;
		goto out_destroy;
	}
	rc = iommufd_device_attach(sobj->idev, &pt_id);
	if (rc)
		goto out_destroy;

	cmd->mock_domain.out_stdev_id = sobj->obj.id;
	cmd->mock_domain.out_hwpt_id = pt_id;
	cmd->mock_domain.out_idev_id = idev_id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_destroy;
	iommufd_object_finalize(ucmd->ictx, &sobj->obj);
	return 0;

out_destroy:
	iommufd_object_abort_and_destroy(ucmd->ictx, &sobj->obj);
	return rc;
}

/* Check that mock page table @hwpt_id maps the IOVA range to @uptr. */
static int iommufd_test_check_map(struct iommufd_ucmd *ucmd, u32 hwpt_id,
				  unsigned long iova, size_t length,
				  void __user *uptr)
{
	struct iommufd_hw_pagetable *hwpt;
	struct mock_iommu_domain *mock;
	struct iommufd_object *obj;
	unsigned long uaddr = (unsigned long)uptr;
	int rc = 0;

	if (iova % MOCK_IO_PAGE_SIZE || length % MOCK_IO_PAGE_SIZE ||
	    uaddr % MOCK_IO_PAGE_SIZE)
		return -EINVAL;

	obj = iommufd_get_object(ucmd->ictx, hwpt_id, IOMMUFD_OBJ_HW_PAGETABLE);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	if (hwpt->domain->ops != &mock_domain_ops) {
		rc = -EINVAL;
		goto out_put;
	}
	mock = to_mock_domain(hwpt->domain);

	for (; length; length -= MOCK_IO_PAGE_SIZE) {
		struct page *page;
		void *entry;
		phys_addr_t want;

		rc = get_user_pages_fast(uaddr & PAGE_MASK, 1, 0, &page);
		if (rc < 0)
			goto out_put;
		want = page_to_phys(page) + uaddr % PAGE_SIZE;
		put_page(page);
		entry = xa_load(&mock->pfns, iova / MOCK_IO_PAGE_SIZE);
		if (!entry || xa_to_value(entry) * MOCK_IO_PAGE_SIZE != want) {
			rc = -EINVAL;
			goto out_put;
		}
		rc = 0;
		iova += MOCK_IO_PAGE_SIZE;
		uaddr += MOCK_IO_PAGE_SIZE;
	}
out_put:
	iommufd_put_object(obj);
	return rc;
}

/*
 * Check that every page of [uptr, uptr + length) is pinned exactly refs
 * times. Compound pages are skipped: their pin count lives elsewhere.
 */
static int iommufd_test_check_refs(void __user *uptr, size_t length,
				   unsigned int refs)
{
	unsigned long addr = (unsigned long)uptr, end;

	if (length % PAGE_SIZE || addr % PAGE_SIZE ||
	    check_add_overflow(addr, length, &end))
		return -EINVAL;

	for (; addr != end; addr += PAGE_SIZE) {
		struct page *page;
		int rc;

		rc = get_user_pages_fast(addr, 1, 0, &page);
		if (rc < 0)
			return rc;
		if (WARN_ON(rc != 1))
			return -EFAULT;
		if (!PageCompound(page) &&
		    page_ref_count(page) / GUP_PIN_COUNTING_BIAS != refs)
			rc = -EIO;
		put_page(page);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Reserve an IOVA range of IOAS @id, as a device's MSI window would. */
static int iommufd_test_add_reserved(struct iommufd_ucmd *ucmd, u32 id,
				     unsigned long start, unsigned long length)
{
	struct iommufd_ioas *ioas;
	unsigned long last;
	int rc;

	if (!length || check_add_overflow(start, length - 1, &last))
		return -EINVAL;

	ioas = iommufd_get_ioas(ucmd->ictx, id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	down_write(&ioas->iopt.iova_rwsem);
	rc = iopt_reserve_iova(&ioas->iopt, start, last, NULL);
	up_write(&ioas->iopt.iova_rwsem);
	iommufd_put_object(&ioas->obj);
	return rc;
}

/**
 * iommufd_test - the IOMMU_TEST_CMD ioctl
 * @ucmd: the ioctl call
 *
 * Return: 0 or a negative errno, -EOPNOTSUPP for an unknown operation.
 */
int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	if (cmd->__reserved || cmd->last)
		return -EINVAL;

	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return iommufd_test_add_reserved(ucmd, cmd->id,
						 cmd->add_reserved.start,
						 cmd->add_reserved.length);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
		return iommufd_test_mock_domain(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return iommufd_test_check_map(ucmd, cmd->id, cmd->check_map.iova,
					      cmd->check_map.length,
					      u64_to_user_ptr(cmd->check_map.uptr));
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return iommufd_test_check_refs(u64_to_user_ptr(cmd->check_refs.uptr),
					       cmd->check_refs.length,
					       cmd->check_refs.refs);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		/* A batch must hold at least one entry. */
		if (cmd->memory_limit.limit < sizeof(unsigned long) + sizeof(u32))
			return -EINVAL;
		iommufd_test_memory_limit = cmd->memory_limit.limit;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/* Read one byte past the end of a 16-byte allocation, for KASAN to catch. */
static noinline void iommufd_test_inject_kasan(void)
{
	char *buf = kmalloc(16, GFP_KERNEL);
	size_t index = 16;

	if (!buf)
		return;
	OPTIMIZER_HIDE_VAR(index);
	pr_info("harness self-test: reading byte %zu of a 16-byte buffer\n",
		index);
	pr_info("harness self-test: read %d\n", READ_ONCE(buf[index]));
	kfree(buf);
}

static noinline void iommufd_test_inject_leak(void)
{
	unsigned int i;

	/*
	 * Forget every pointer; kmemleak reports them on its next scan. A
	 * stale copy of the last one may linger on this kernel stack, where
	 * kmemleak would find it, so leak several.
	 */
	for (i = 0; i != 8; i++) {
		void *buf = kmalloc(64, GFP_KERNEL);

		OPTIMIZER_HIDE_VAR(buf);
	}
	pr_info("harness self-test: leaked 8 objects\n");
}

static ssize_t iommufd_test_inject_write(struct file *file,
					 const char __user *ubuf, size_t count,
					 loff_t *ppos)
{
	char what[16] = {};

	if (count >= sizeof(what))
		return -EINVAL;
	if (copy_from_user(what, ubuf, count))
		return -EFAULT;
	strim(what);

	if (!strcmp(what, "warn"))
		WARN(1, "iommufd: harness self-test WARN\n");
	else if (!strcmp(what, "kasan"))
		iommufd_test_inject_kasan();
	else if (!strcmp(what, "leak"))
		iommufd_test_inject_leak();
	else
		return -EINVAL;
	return count;
}

static const struct file_operations iommufd_test_inject_fops = {
	.write = iommufd_test_inject_write,
	.llseek = noop_llseek,
};

int iommufd_test_init(void)
{
	int rc;

	rc = bus_register(&iommufd_mock_bus);
	if (rc)
		return rc;
	rc = iommu_device_sysfs_add(&mock_iommu, NULL, NULL, "%s",
				    "iommufd_mock");
	if (rc) {
		bus_unregister(&iommufd_mock_bus);
		return rc;
	}
	/*
	 * Not iommu_device_register(): that would claim the PCI and platform
	 * buses, which belong to the real IOMMU driver.
	 */
	mock_iommu.ops = &mock_ops;

	iommufd_test_dir = debugfs_create_dir("iommufd", NULL);
	iommufd_fail_dir = fault_create_debugfs_attr("fail_iommufd", NULL,
						     &fail_iommufd);
	debugfs_create_file("inject", 0200, iommufd_test_dir, NULL,
			    &iommufd_test_inject_fops);
	return 0;
}

void iommufd_test_exit(void)
{
	debugfs_remove_recursive(iommufd_fail_dir);
	debugfs_remove_recursive(iommufd_test_dir);
	iommu_device_sysfs_remove(&mock_iommu);
	bus_unregister(&iommufd_mock_bus);
}
