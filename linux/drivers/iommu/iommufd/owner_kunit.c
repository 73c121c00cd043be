// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of the IOMMU core's per-device DMA ownership, which iommufd
 * claims for every device it binds, on devices of the mock IOMMU.
 */
#include <kunit/test.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/iommu.h>

#include "iommufd_private.h"

/* Two owners; only their addresses matter. */
static int iommu_owner_a, iommu_owner_b;

/* Whether @dev's group is claimed for DMA, by any owner. */
static bool iommu_owner_test_claimed(struct device *dev)
{
	struct iommu_group *group = iommu_group_get(dev);
	bool claimed;

	if (!group)
		return false;
	claimed = iommu_group_dma_owner_claimed(group);
	iommu_group_put(group);
	return claimed;
}

static struct device *iommu_owner_test_device(struct kunit *test,
					      struct device *group_with)
{
	struct device *dev = iommufd_test_mock_device_create(group_with);

	KUNIT_ASSERT_FALSE(test, IS_ERR(dev));
	return dev;
}

/*
 * A device is claimed at most once: a second claim fails, by the same
 * owner or another, and one release gives the group back.
 */
static void iommu_owner_test_claim_once(struct kunit *test)
{
	struct device *dev = iommu_owner_test_device(test, NULL);

	KUNIT_EXPECT_FALSE(test, iommu_owner_test_claimed(dev));
	KUNIT_ASSERT_EQ(test, iommu_device_claim_dma_owner(dev, &iommu_owner_a),
			0);
	KUNIT_EXPECT_TRUE(test, iommu_owner_test_claimed(dev));
	KUNIT_EXPECT_EQ(test, iommu_device_claim_dma_owner(dev, &iommu_owner_a),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, iommu_device_claim_dma_owner(dev, &iommu_owner_b),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, iommu_device_claim_dma_owner(dev, NULL), -EINVAL);
	iommu_device_release_dma_owner(dev);
	KUNIT_EXPECT_FALSE(test, iommu_owner_test_claimed(dev));

	/* Released, the device can be claimed by anyone again. */
	KUNIT_EXPECT_EQ(test, iommu_device_claim_dma_owner(dev, &iommu_owner_b),
			0);
	iommu_device_release_dma_owner(dev);
	KUNIT_EXPECT_FALSE(test, iommu_owner_test_claimed(dev));
	iommufd_test_mock_device_destroy(dev);
}

/*
 * In a group of two devices, the owner's claims of both stack, a second
 * claim of either fails, and the group stays claimed until both are
 * released; another owner gets neither meanwhile (-EPERM, as upstream).
 */
static void iommu_owner_test_shared_group(struct kunit *test)
{
	struct device *first = iommu_owner_test_device(test, NULL);
	struct device *second = iommu_owner_test_device(test, first);
	struct iommu_group *group = iommu_group_get(first);
	struct iommu_group *other = iommu_group_get(second);

	KUNIT_ASSERT_NOT_NULL(test, group);
	KUNIT_EXPECT_PTR_EQ(test, other, group);
	if (other)
		iommu_group_put(other);

	KUNIT_ASSERT_EQ(test,
			iommu_device_claim_dma_owner(first, &iommu_owner_a), 0);
	KUNIT_EXPECT_EQ(test,
			iommu_device_claim_dma_owner(second, &iommu_owner_b),
			-EPERM);
	KUNIT_ASSERT_EQ(test,
			iommu_device_claim_dma_owner(second, &iommu_owner_a), 0);
	KUNIT_EXPECT_EQ(test,
			iommu_device_claim_dma_owner(first, &iommu_owner_a),
			-EBUSY);

	iommu_device_release_dma_owner(first);
	KUNIT_EXPECT_TRUE(test, iommu_owner_test_claimed(second));
	/* Still the first owner's group, with the first device free. */
	KUNIT_EXPECT_EQ(test,
			iommu_device_claim_dma_owner(first, &iommu_owner_b),
			-EPERM);
	KUNIT_EXPECT_EQ(test,
			iommu_device_claim_dma_owner(first, &iommu_owner_a), 0);
	iommu_device_release_dma_owner(first);
	iommu_device_release_dma_owner(second);
	KUNIT_EXPECT_FALSE(test, iommu_owner_test_claimed(first));

	iommu_group_put(group);
	iommufd_test_mock_device_destroy(second);
	iommufd_test_mock_device_destroy(first);
}

/*
 * A device that joins a claimed group (hot-added) starts on the domain the
 * owner gave the group, as its other devices are: it gets neither no
 * domain at all nor the kernel's default one.
 */
static void iommu_owner_test_hot_added(struct kunit *test)
{
	struct device *first = iommu_owner_test_device(test, NULL);
	struct iommu_group *group = iommu_group_get(first);
	struct iommu_domain *domain = iommufd_test_mock_domain_alloc();
	struct device *second;

	KUNIT_ASSERT_NOT_NULL(test, group);
	KUNIT_ASSERT_NOT_NULL(test, domain);
	KUNIT_ASSERT_EQ(test,
			iommu_device_claim_dma_owner(first, &iommu_owner_a), 0);
	KUNIT_ASSERT_EQ(test, iommu_group_replace_domain(group, domain), 0);
	KUNIT_EXPECT_PTR_EQ(test, iommufd_test_mock_device_domain(first),
			    domain);

	second = iommu_owner_test_device(test, first);
	KUNIT_EXPECT_PTR_EQ(test, iommufd_test_mock_device_domain(second),
			    domain);
	/* Both leave it together. */
	KUNIT_EXPECT_EQ(test, iommu_group_replace_domain(group, NULL), 0);
	KUNIT_EXPECT_NULL(test, iommufd_test_mock_device_domain(first));
	KUNIT_EXPECT_NULL(test, iommufd_test_mock_device_domain(second));

	iommu_device_release_dma_owner(first);
	iommufd_test_mock_device_destroy(second);
	iommu_domain_free(domain);
	iommu_group_put(group);
	iommufd_test_mock_device_destroy(first);
}

static struct kunit_case iommu_owner_test_cases[] = {
	KUNIT_CASE(iommu_owner_test_claim_once),
	KUNIT_CASE(iommu_owner_test_shared_group),
	KUNIT_CASE(iommu_owner_test_hot_added),
	{}
};

static struct kunit_suite iommu_owner_test_suite = {
	.name = "iommu_dma_owner",
	.test_cases = iommu_owner_test_cases,
};

kunit_test_suites(&iommu_owner_test_suite);
