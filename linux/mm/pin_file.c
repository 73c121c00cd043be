// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pin the pages of a shmem or hugetlbfs file's page cache for DMA, with no
 * user mapping of the file to fault them in through: iommufd maps such
 * files for devices by file descriptor (IOMMU_IOAS_MAP_FILE), so that a
 * VMM can hand its guest memory to another process by fd.
 *
 * The pins are those pin_user_pages(FOLL_LONGTERM) takes, and are dropped
 * with unpin_user_page() and friends. This is the one place outside
 * mm/gup.c that takes FOLL_PIN references on page-cache folios, so that no
 * module needs try_grab_page() or shmem_get_folio() exported.
 */
#include <linux/export.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/memfd.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pin_file.h>
#include <linux/shmem_fs.h>

/*
 * Pin pages of @folio from its page @first on, at most @n, into @out;
 * returns how many, or -EFAULT if not even one. A folio the kernel may
 * have to move (ZONE_MOVABLE, CMA) is not pinned for the long term: with
 * no user mapping there is no migration before the pin, as GUP would do.
 */
static long pin_folio_pages(struct folio *folio, unsigned long first,
			    unsigned long n, struct page **out)
{
	unsigned long i;

	if (!folio_is_longterm_pinnable(folio))
		return -EFAULT;
	n = min(n, folio_nr_pages(folio) - first);
	for (i = 0; i != n; i++) {
		struct page *page = folio_page(folio, first + i);

		if (!try_grab_page(page, FOLL_PIN))
			break;
		out[i] = page;
	}
	return i ? i : -EFAULT;
}

/*
 * shmem: the folio of page @index, a hole filled as a read fault of a
 * shared mapping would fill it; *@start is the index of its first page.
 */
static struct folio *pin_shmem_folio(struct file *file, pgoff_t index,
				     pgoff_t *start)
{
	struct folio *folio;
	int rc;

	if (!IS_ENABLED(CONFIG_SHMEM))
		return ERR_PTR(-EINVAL);
	rc = shmem_get_folio(file_inode(file), index, &folio, SGP_CACHE);
	if (rc)
		return ERR_PTR(rc);
	folio_unlock(folio);
	*start = folio->index;
	return folio;
}

/*
 * hugetlbfs: the same, from a page cache indexed in huge pages. A hole is
 * filled through the file's fallocate(), which keeps hugetlbfs's
 * reservations and accounting right, so only in a file open for writing.
 */
static struct folio *pin_hugetlb_folio(struct file *file, pgoff_t index,
				       pgoff_t *start)
{
	struct hstate *h = hstate_file(file);
	loff_t pos = (loff_t)index << PAGE_SHIFT;
	struct folio *folio;
	int rc;

	if (pos >= i_size_read(file_inode(file)))
		return ERR_PTR(-EINVAL);
	folio = filemap_get_folio(file->f_mapping, pos >> huge_page_shift(h));
	if (!folio) {
		if (!(file->f_mode & FMODE_WRITE))
			return ERR_PTR(-EFAULT);
		rc = vfs_fallocate(file, FALLOC_FL_KEEP_SIZE,
				   pos & huge_page_mask(h), huge_page_size(h));
		/*
		 * No huge page to be had (the pool, a size= limit or the
		 * hugetlb cgroup): ENOSPC to fallocate(), ENOMEM to a pin,
		 * as upstream's memfd_pin_folios() answers.
		 */
		if (rc == -ENOSPC)
			rc = -ENOMEM;
		if (rc)
			return ERR_PTR(rc);
		/* Gone again only if the file was cut meanwhile. */
		folio = filemap_get_folio(file->f_mapping,
					  pos >> huge_page_shift(h));
		if (!folio)
			return ERR_PTR(-EFAULT);
	}
	*start = (pos & huge_page_mask(h)) >> PAGE_SHIFT;
	return folio;
}

/**
 * pin_file_pages - pin pages of a shmem or hugetlbfs file for DMA
 * @file: the file
 * @index: the first page, counted in PAGE_SIZE pages from the file's start
 * @nr_pages: how many pages to pin at most
 * @pages: the pinned pages, in file order
 *
 * Holes are filled, as a read fault of a shared mapping would fill them
 * (for hugetlbfs only when @file is open for writing); nothing past the
 * end of the file is. Release the pages with unpin_user_pages().
 *
 * Return: how many pages were pinned, which may be fewer than @nr_pages,
 * or if none: -EINVAL for a file of another kind or a page past the end of
 * the file, -EFAULT for a page that cannot be pinned for the long term or
 * a hugetlbfs hole in a file not open for writing, -ENOMEM for a hole no
 * page can fill (shmem's tmpfs limits give -ENOSPC), or another errno of
 * filling a hole.
 */
long pin_file_pages(struct file *file, pgoff_t index, unsigned long nr_pages,
		    struct page **pages)
{
	bool hugetlb = is_file_hugepages(file);
	unsigned long done = 0;

	if (!hugetlb && !shmem_file(file))
		return -EINVAL;
	while (done != nr_pages) {
		struct folio *folio;
		pgoff_t start;
		long rc;

		folio = hugetlb ? pin_hugetlb_folio(file, index + done, &start) :
				  pin_shmem_folio(file, index + done, &start);
		if (IS_ERR(folio))
			return done ? done : PTR_ERR(folio);
		rc = pin_folio_pages(folio, index + done - start,
				     nr_pages - done, pages + done);
		folio_put(folio);
		if (rc < 0)
			return done ? done : rc;
		done += rc;
	}
	return done;
}
EXPORT_SYMBOL_NS_GPL(pin_file_pages, IOMMUFD_INTERNAL);

/**
 * pin_file_map_writable - count a device's writable mapping of a file
 * @file: a shmem or hugetlbfs file
 *
 * What mmap(PROT_WRITE, MAP_SHARED) of the file checks and counts: a file
 * sealed against writes, by F_SEAL_WRITE or F_SEAL_FUTURE_WRITE, gets no
 * new writable mapping, and while the count is held F_SEAL_WRITE cannot be
 * added. Drop the count with mapping_unmap_writable().
 *
 * Return: 0, or -EPERM for a sealed file.
 */
int pin_file_map_writable(struct file *file)
{
	struct inode *inode = file_inode(file);
	unsigned int *seals;
	int rc;

	/* memfd_add_seals() adds seals under the inode lock. */
	inode_lock(inode);
	seals = memfd_file_seals_ptr(file);
	if (seals && (*seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		rc = -EPERM;
	else
		rc = mapping_map_writable(file->f_mapping);
	inode_unlock(inode);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(pin_file_map_writable, IOMMUFD_INTERNAL);
