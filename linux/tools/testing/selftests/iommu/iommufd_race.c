// SPDX-License-Identifier: GPL-2.0-only
/*
 * Races on one context, on the mock IOMMU: calls that overlap in time must
 * each get one of their documented answers, and once everything is closed
 * nothing stays pinned. The kernel's checkers watch for the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/iommufd.h>

#include "../../../../drivers/iommu/iommufd/iommufd_test.h"

#include "../kselftest_harness.h"
#include "vfio_edu_util.h"

#define PAGES 16
#define ROUNDS 200
#define BYSTANDER_IOAS 2000	/* for IOMMU_IOAS_CHANGE_PROCESS to walk */
#define IOVA MOCK_APERTURE_START

static long page_size;

/* A mock device on @pt_id; *@hwpt, if not NULL: its page table. */
static int mock_device_hwpt(int fd, uint32_t pt_id, uint32_t *stdev,
			    uint32_t *hwpt)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = pt_id,
	};
	int rc = ioctl(fd, IOMMU_TEST_CMD, &cmd);

	*stdev = cmd.mock_domain.out_stdev_id;
	if (hwpt)
		*hwpt = cmd.mock_domain.out_hwpt_id;
	return rc;
}

static int mock_device(int fd, uint32_t pt_id, uint32_t *stdev)
{
	return mock_device_hwpt(fd, pt_id, stdev, NULL);
}

static int access_create(int fd, uint32_t ioas, int *access)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = ioas,
		.create_access = { .flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES },
	};
	int rc = ioctl(fd, IOMMU_TEST_CMD, &cmd);

	*access = cmd.create_access.out_access_fd;
	return rc;
}

/* What the threads of a race share. */
struct race {
	int fd;
	uint32_t ioas;
	uint8_t *mem;
	atomic_bool stop;
	/* The IOAS is being destroyed: its ID may go to another object. */
	atomic_bool destroying;
	atomic_ulong calls;
	/* The first answer outside the allowed ones, and its call. */
	atomic_int bad_errno;
	const char *bad_call;
};

static void race_check(struct race *race, const char *call, int rc,
		       const int *allowed)
{
	int err = errno, none = 0;

	atomic_fetch_add(&race->calls, 1);
	if (!rc)
		return;
	for (; *allowed; allowed++)
		if (*allowed == err)
			return;
	if (atomic_compare_exchange_strong(&race->bad_errno, &none, err))
		race->bad_call = call;
}

/*
 * Map and unmap, mock devices come and go, accesses pin and go. Each call
 * may fail only for a reason the race gives it: the IOAS destroyed
 * (ENOENT), another thread's mapping in the way (EEXIST), a mapping being
 * unmapped under a pin (EINVAL), or, after the context's file number went
 * to /dev/null, ENOTTY. A destroyed IOAS's ID may be taken at once by an
 * object another thread makes (a mock device, its page table): once the
 * destroy is under way, a mock device asked for on such an ID may get
 * EINVAL (not an IOAS or page table).
 * What works is checked: a device made is destroyed by its maker alone,
 * and an unmap of everything takes whole mappings.
 */
static void *race_worker(void *arg)
{
	static const int map_errnos[] = { EEXIST, ENOENT, ENOTTY, 0 };
	static const int ioas_gone[] = { ENOENT, ENOTTY, 0 };
	static const int device_errnos[] = { ENOENT, ENOTTY, 0 };
	static const int id_reused[] = { ENOENT, EINVAL, ENOTTY, 0 };
	static const int pin_errnos[] = { ENOENT, EINVAL, ENOTTY, 0 };
	static const int closed[] = { ENOTTY, 0 };
	struct race *race = arg;
	uint64_t unmapped;
	uint32_t stdev;
	int access, rc;

	while (!atomic_load(&race->stop)) {
		race_check(race, "map",
			   ioas_map(race->fd, race->ioas, race->mem,
				    PAGES * page_size, IOVA), map_errnos);
		if (!mock_device(race->fd, race->ioas, &stdev))
			race_check(race, "destroy device",
				   iommufd_destroy(race->fd, stdev), closed);
		else
			race_check(race, "mock device", -1,
				   atomic_load(&race->destroying) ?
				   id_reused : device_errnos);
		if (!access_create(race->fd, race->ioas, &access)) {
			race_check(race, "access pin",
				   access_pin(race->fd, access, IOVA, page_size,
					      race->mem, 0, NULL), pin_errnos);
			close(access);
		} else {
			race_check(race, "create access", -1, ioas_gone);
		}
		rc = ioas_unmap(race->fd, race->ioas, 0, UINT64_MAX, &unmapped);
		race_check(race, "unmap", rc, ioas_gone);
		if (!rc && unmapped % (PAGES * page_size)) {
			errno = EIO;
			race_check(race, "unmap took part of a mapping", -1,
				   closed);
		}
	}
	return NULL;
}

static void race_start(struct __test_metadata *_metadata, struct race *race,
		       pthread_t *threads, int n)
{
	int i;

	for (i = 0; i != n; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, race_worker,
					    race));
}

static void race_stop(struct __test_metadata *_metadata, struct race *race,
		      pthread_t *threads, int n)
{
	int i;

	atomic_store(&race->stop, true);
	for (i = 0; i != n; i++)
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
	EXPECT_EQ(0, race->bad_errno);
	if (race->bad_errno)
		TH_LOG("%s: errno %d", race->bad_call, race->bad_errno);
}

/*
 * Nothing of @mem is pinned, and VmPin is back to @vmpin. From a fixture's
 * teardown, which a failed ASSERT would enter again and again.
 */
static void expect_unpinned(struct __test_metadata *_metadata, uint8_t *mem,
			    long vmpin)
{
	int fd = open("/dev/iommu", O_RDWR);

	EXPECT_LE(0, fd);
	if (fd < 0)
		return;
	EXPECT_EQ(0, md_check_refs(fd, mem, PAGES * page_size, 0));
	close(fd);
	EXPECT_EQ(vmpin, status_kb("VmPin:"));
}

FIXTURE(race)
{
	uint8_t *mem;
	long vmpin;
};

FIXTURE_SETUP(race)
{
	page_size = sysconf(_SC_PAGESIZE);
	self->mem = mmap(NULL, PAGES * page_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	self->vmpin = status_kb("VmPin:");
}

FIXTURE_TEARDOWN(race)
{
	expect_unpinned(_metadata, self->mem, self->vmpin);
	munmap(self->mem, PAGES * page_size);
}

/*
 * Closing the context while other threads are inside its ioctls: the
 * close waits for none of them, the file goes when the last call returns.
 * The number is then taken over by /dev/null at once (dup2()), so that the
 * threads' later calls cannot reach a file that got the number.
 */
TEST_F_TIMEOUT(race, close_during_ioctls, 300)
{
	int null = open("/dev/null", O_RDONLY);
	pthread_t threads[3];
	unsigned int round;

	ASSERT_LE(0, null);
	for (round = 0; round != ROUNDS / 4; round++) {
		struct race race = { .mem = self->mem };

		race.fd = open("/dev/iommu", O_RDWR);
		ASSERT_LE(0, race.fd);
		ASSERT_EQ(0, ioas_alloc(race.fd, &race.ioas));
		race_start(_metadata, &race, threads, 3);
		usleep(1000 + round * 100);
		ASSERT_EQ(race.fd, dup2(null, race.fd));
		race_stop(_metadata, &race, threads, 3);
		close(race.fd);
		if (!_metadata->passed)
			break;
	}
	close(null);
}

/*
 * IOMMU_DESTROY of the IOAS while maps, attaches and access pins use it:
 * EBUSY until the last user is gone, then it goes, and the users get
 * ENOENT; nothing is left behind.
 */
TEST_F_TIMEOUT(race, destroy_during_use, 300)
{
	pthread_t threads[3];
	struct race race = { .mem = self->mem };
	unsigned long destroyed = 0, busy = 0, calls;
	unsigned int round;

	race.fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, race.fd);
	for (round = 0; round != ROUNDS; round++) {
		uint32_t ioas;

		ASSERT_EQ(0, ioas_alloc(race.fd, &ioas));
		race.ioas = ioas;
		atomic_store(&race.stop, false);
		atomic_store(&race.destroying, false);
		calls = atomic_load(&race.calls);
		race_start(_metadata, &race, threads, 3);
		/* Destroy only once the users are at it. */
		while (atomic_load(&race.calls) < calls + 6)
			usleep(50);
		atomic_store(&race.destroying, true);
		while (iommufd_destroy(race.fd, ioas)) {
			ASSERT_EQ(EBUSY, errno);
			busy++;
			if (busy % 64 == 0)
				usleep(100);
		}
		destroyed++;
		race_stop(_metadata, &race, threads, 3);
		if (!_metadata->passed)
			break;
	}
	printf("# %lu IOASes destroyed under use after %lu EBUSY, %lu calls\n",
	       destroyed, busy, (unsigned long)race.calls);
	close(race.fd);
}

/* What map_during_first_attach's threads share. */
struct first_attach {
	int fd;
	uint32_t ioas;		/* the IOAS of this round */
	uint8_t *mem;
	atomic_bool stop;
	atomic_ulong maps;
	atomic_int bad_errno;
	const char *bad_call;
};

static void first_attach_check(struct first_attach *fa, const char *call,
			       int rc)
{
	if (rc && !atomic_exchange(&fa->bad_errno, errno))
		fa->bad_call = call;
}

/* Map and unmap one 4 KiB page after another, each of which must work. */
static void *first_attach_mapper(void *arg)
{
	struct first_attach *fa = arg;
	unsigned int i = 0;

	while (!atomic_load(&fa->stop)) {
		uint64_t iova = IOVA + (i % PAGES) * page_size;
		uint32_t ioas = fa->ioas;

		first_attach_check(fa, "map",
				   ioas_map(fa->fd, ioas, fa->mem +
					    (i % PAGES) * page_size,
					    page_size, iova));
		first_attach_check(fa, "unmap",
				   ioas_unmap(fa->fd, ioas, iova, page_size,
					      NULL));
		atomic_fetch_add(&fa->maps, 1);
		i++;
	}
	return NULL;
}

/*
 * A map beside the first attach to a fresh IOAS, which makes the IOAS's
 * first page table: the driver finishes the domain at that attach (and a
 * real one may free top-level tables then), so the map must not reach the
 * domain before it is filled. Every call must work, and the page table
 * must map what the IOAS maps once the attach is done.
 */
TEST_F_TIMEOUT(race, map_during_first_attach, 300)
{
	struct first_attach fa = { .mem = self->mem };
	unsigned int round;
	pthread_t mapper;

	fa.fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, fa.fd);
	for (round = 0; round != ROUNDS; round++) {
		uint32_t stdev, ioas, hwpt;
		unsigned long maps;

		ASSERT_EQ(0, ioas_alloc(fa.fd, &ioas));
		fa.ioas = ioas;
		/* A mapping that stays, for the fill to copy. */
		ASSERT_EQ(0, ioas_map(fa.fd, ioas, self->mem +
				      PAGES * page_size / 2, page_size,
				      IOVA + PAGES * page_size));
		atomic_store(&fa.stop, false);
		maps = atomic_load(&fa.maps);
		ASSERT_EQ(0, pthread_create(&mapper, NULL, first_attach_mapper,
					    &fa));
		while (atomic_load(&fa.maps) < maps + 2)
			usleep(20);
		ASSERT_EQ(0, mock_device_hwpt(fa.fd, ioas, &stdev, &hwpt));
		usleep(round % 8 * 100);
		atomic_store(&fa.stop, true);
		ASSERT_EQ(0, pthread_join(mapper, NULL));
		ASSERT_EQ(0, fa.bad_errno)
			TH_LOG("%s: errno %d", fa.bad_call, fa.bad_errno);
		/* What stayed mapped, the page table maps. */
		ASSERT_EQ(0, md_check_map(fa.fd, hwpt,
					  IOVA + PAGES * page_size,
					  self->mem + PAGES * page_size / 2,
					  page_size));
		ASSERT_EQ(0, iommufd_destroy(fa.fd, stdev));
		ASSERT_EQ(0, ioas_unmap(fa.fd, ioas, 0, UINT64_MAX, NULL));
		ASSERT_EQ(0, iommufd_destroy(fa.fd, ioas));
	}
	printf("# %u first attaches beside %lu maps\n", round,
	       (unsigned long)atomic_load(&fa.maps));
	close(fa.fd);
}

/* What auto_hwpt_goes's reader shares with the test. */
struct hwpt_reader {
	int fd;
	uint8_t *mem;
	atomic_uint hwpt;	/* the page table to hold, 0 for none */
	atomic_bool stop;
	atomic_ulong reads;
};

/* Hold short-term references on the page table, as any ioctl on it does. */
static void *hwpt_reader_fn(void *arg)
{
	struct hwpt_reader *r = arg;

	while (!atomic_load(&r->stop)) {
		uint32_t hwpt = atomic_load(&r->hwpt);

		if (hwpt)
			md_check_map(r->fd, hwpt, IOVA, r->mem, page_size);
		atomic_fetch_add(&r->reads, 1);
	}
	return NULL;
}

/*
 * The page table the kernel made for an attach goes with its last device,
 * even while ioctls on it hold it for a moment: it never stays behind,
 * pinning and charging its memory until the context closes.
 */
TEST_F_TIMEOUT(race, auto_hwpt_goes, 300)
{
	struct hwpt_reader r = { .mem = self->mem };
	pthread_t reader;
	unsigned int round;
	uint32_t ioas;

	r.fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, r.fd);
	ASSERT_EQ(0, ioas_alloc(r.fd, &ioas));
	ASSERT_EQ(0, ioas_map(r.fd, ioas, self->mem, PAGES * page_size, IOVA));
	ASSERT_EQ(0, pthread_create(&reader, NULL, hwpt_reader_fn, &r));
	for (round = 0; round != ROUNDS; round++) {
		struct iommu_test_cmd cmd = {
			.size = sizeof(cmd),
			.op = IOMMU_TEST_OP_MOCK_DOMAIN,
			.id = ioas,
		};
		unsigned long reads;

		ASSERT_EQ(0, ioctl(r.fd, IOMMU_TEST_CMD, &cmd));
		atomic_store(&r.hwpt, cmd.mock_domain.out_hwpt_id);
		reads = atomic_load(&r.reads);
		while (atomic_load(&r.reads) < reads + 2)
			usleep(10);
		ASSERT_EQ(0, iommufd_destroy(r.fd,
					     cmd.mock_domain.out_stdev_id));
		/* Gone with the device, whatever the reader was doing. */
		EXPECT_ERRNO(ENOENT, iommufd_destroy(r.fd,
						     cmd.mock_domain.out_hwpt_id));
		EXPECT_EQ(0, md_check_refs(r.fd, self->mem, PAGES * page_size,
					   0));
		atomic_store(&r.hwpt, 0);
		if (!_metadata->passed)
			break;
	}
	atomic_store(&r.stop, true);
	ASSERT_EQ(0, pthread_join(reader, NULL));
	close(r.fd);
}

/* What change_process_during_copies's threads share. */
struct moving {
	int fd, mfd;
	uint32_t src;		/* the IOAS that maps the file */
	atomic_bool stop;
	atomic_ulong copies;
	atomic_int bad_errno;
};

/* IOMMU_DESTROY, again while a move holds the object for a moment. */
static int destroy_retry(int fd, uint32_t id)
{
	int rc;

	while ((rc = iommufd_destroy(fd, id)) && errno == EBUSY)
		usleep(10);
	return rc;
}

/*
 * New IOASes come and go, each with a mock device's page table, filled by
 * an IOMMU_IOAS_COPY of the file's mapping and a map of its own of the
 * file's first page: each copy pins the pages of the one shared iopt_pages
 * anew, each map pins an iopt_pages of its own (which a move may have
 * listed when the destroy frees it), each destroy unpins them. Every
 * other round pins the other ways: an access pins a page of the copy
 * before any page table, then the mock device's page table is filled.
 */
static void *copier_fn(void *arg)
{
	uint32_t flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE;
	struct moving *mv = arg;
	unsigned long round;
	uint64_t iova, own;
	uint32_t dst, stdev = 0;
	int access;

	for (round = 0; !atomic_load(&mv->stop); round++) {
		bool fill_last = round % 2;

		if (ioas_alloc(mv->fd, &dst)) {
			atomic_store(&mv->bad_errno, errno);
			break;
		}
		iova = IOVA;
		own = IOVA + PAGES * page_size;
		if ((!fill_last && mock_device(mv->fd, dst, &stdev)) ||
		    ioas_copy(mv->fd, flags, dst, &iova, mv->src, IOVA,
			      PAGES * page_size) ||
		    map_file(mv->fd, dst, flags, mv->mfd, 0, page_size, &own) ||
		    (fill_last &&
		     (access_create(mv->fd, dst, &access) ||
		      access_pin(mv->fd, access, IOVA, page_size, NULL, 0,
				 NULL) ||
		      close(access) ||
		      mock_device(mv->fd, dst, &stdev))) ||
		    destroy_retry(mv->fd, stdev) ||
		    destroy_retry(mv->fd, dst)) {
			atomic_store(&mv->bad_errno, errno);
			break;
		}
		atomic_fetch_add(&mv->copies, 1);
	}
	return NULL;
}

/*
 * IOMMU_IOAS_CHANGE_PROCESS back and forth between two processes sharing
 * the context (a parent and a forked child, as in a live update), while
 * IOASes are made and filled by copies: each move must uncharge the old
 * owner exactly what it charges the new one, and walks thousands of
 * IOASes (each mapping a page of the file, pinning nothing) besides the
 * ones the copier makes and destroys meanwhile. The pins are charged to the
 * mm (IOMMU_OPTION_RLIMIT_MODE 1, without CAP_IPC_LOCK, which would charge
 * nothing), where VmLck shows them. At the end the parent takes everything
 * back and closes it: VmLck and VmPin are back where they were, which they
 * are not if a move from or to the parent got the count wrong.
 */
TEST_F_TIMEOUT(race, change_process_during_copies, 300)
{
	struct iommu_option mm_mode = {
		.size = sizeof(mm_mode),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_SET,
		.val64 = 1,
	};
	long locked = status_kb("VmLck:");
	struct moving mv = {};
	atomic_bool *child_stop;
	unsigned long moves = 0;
	uint64_t iova = IOVA;
	unsigned int i;
	pthread_t copier;
	int status;
	pid_t pid;

	mv.mfd = memfd_create("race", 0);
	ASSERT_LE(0, mv.mfd);
	ASSERT_EQ(0, ftruncate(mv.mfd, PAGES * page_size));
	mv.fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, mv.fd);
	ASSERT_EQ(0, ioctl(mv.fd, IOMMU_OPTION, &mm_mode));
	ASSERT_EQ(0, drop_effective_cap(CAP_IPC_LOCK));
	for (i = 0; i != BYSTANDER_IOAS; i++) {
		uint32_t id;

		iova = IOVA;
		ASSERT_EQ(0, ioas_alloc(mv.fd, &id));
		ASSERT_EQ(0, map_file(mv.fd, id, IOMMU_IOAS_MAP_FIXED_IOVA |
				      IOMMU_IOAS_MAP_READABLE, mv.mfd,
				      (i % PAGES) * page_size, page_size,
				      &iova));
	}
	iova = IOVA;
	ASSERT_EQ(0, ioas_alloc(mv.fd, &mv.src));
	ASSERT_EQ(0, map_file(mv.fd, mv.src, IOMMU_IOAS_MAP_FIXED_IOVA |
			      IOMMU_IOAS_MAP_READABLE |
			      IOMMU_IOAS_MAP_WRITEABLE, mv.mfd, 0,
			      PAGES * page_size, &iova));
	child_stop = mmap(NULL, sizeof(*child_stop), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, child_stop);
	ASSERT_EQ(0, pthread_create(&copier, NULL, copier_fn, &mv));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* A failed move is the child's only report. */
		while (!atomic_load(child_stop))
			if (change_process(mv.fd, 0))
				_exit(errno);
		_exit(0);
	}
	/* Moves back and forth until the copier has done ROUNDS / 2 copies. */
	while (atomic_load(&mv.copies) < ROUNDS / 2 && !mv.bad_errno) {
		if (change_process(mv.fd, 0)) {
			EXPECT_EQ(0, errno);
			break;
		}
		moves++;
	}
	/*
	 * The copier first: once the child has exited, pins charged to its
	 * mm fail (EFAULT) until its charges move to a live process.
	 */
	atomic_store(&mv.stop, true);
	ASSERT_EQ(0, pthread_join(copier, NULL));
	EXPECT_EQ(0, mv.bad_errno);
	atomic_store(child_stop, true);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	printf("# %lu copies while the charges moved, %lu moves here\n",
	       (unsigned long)mv.copies, moves);
	munmap(child_stop, sizeof(*child_stop));
	/* Everything is the parent's again, from an exited child too. */
	EXPECT_EQ(0, change_process(mv.fd, 0));
	close(mv.fd);
	close(mv.mfd);
	EXPECT_EQ(locked, status_kb("VmLck:"));
}

/* What same_page_maps's mappers share with the test. */
struct same_page {
	int fd;
	uint32_t ioas;
	uint8_t *mem;
	atomic_int go;		/* the round both mappers wait for */
	atomic_int bad_errno;
};

struct same_page_mapper {
	struct same_page *sp;
	uint64_t iova;		/* where this mapper maps the pages */
	int round;
};

/* Map each page of the buffer, one map a page, from the same start. */
static void *same_page_mapper_fn(void *arg)
{
	struct same_page_mapper *m = arg;
	struct same_page *sp = m->sp;
	int i;

	while (atomic_load(&sp->go) != m->round)
		;
	for (i = 0; i != PAGES; i++)
		if (ioas_map(sp->fd, sp->ioas, sp->mem + i * page_size,
			     page_size, m->iova + i * page_size))
			atomic_store(&sp->bad_errno, errno);
	return NULL;
}

/*
 * Two threads map the same pages, each at IOVAs of its own, at the same
 * time, into an IOAS with a page table: small maps of one region share a
 * description of it, but two maps of the same page must still pin and
 * charge it twice, as separate maps always do, however they interleave.
 */
TEST_F_TIMEOUT(race, same_page_maps, 300)
{
	struct same_page sp = { .mem = self->mem };
	struct same_page_mapper m[2];
	long kb = page_size / 1024;
	pthread_t threads[2];
	uint32_t stdev;
	int round, i;

	sp.fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, sp.fd);
	ASSERT_EQ(0, ioas_alloc(sp.fd, &sp.ioas));
	ASSERT_EQ(0, mock_device(sp.fd, sp.ioas, &stdev));
	for (round = 1; round <= ROUNDS; round++) {
		for (i = 0; i != 2; i++) {
			m[i] = (struct same_page_mapper){
				.sp = &sp,
				.iova = IOVA + i * PAGES * page_size,
				.round = round,
			};
			ASSERT_EQ(0, pthread_create(&threads[i], NULL,
						    same_page_mapper_fn,
						    &m[i]));
		}
		atomic_store(&sp.go, round);
		for (i = 0; i != 2; i++)
			ASSERT_EQ(0, pthread_join(threads[i], NULL));
		ASSERT_EQ(0, sp.bad_errno);
		ASSERT_EQ(0, md_check_refs(sp.fd, self->mem, PAGES * page_size,
					   2))
			TH_LOG("round %d: a page pinned once for two maps",
			       round);
		ASSERT_EQ(self->vmpin + 2 * PAGES * kb, status_kb("VmPin:"));
		ASSERT_EQ(0, ioas_unmap(sp.fd, sp.ioas, 0, UINT64_MAX, NULL));
	}
	ASSERT_EQ(0, iommufd_destroy(sp.fd, stdev));
	close(sp.fd);
}

/* What unmap_retry_lets_access_go's mapper shares with the test. */
struct crossing_mapper {
	int fd;
	uint32_t ioas;
	uint8_t *mem;		/* the two pages it maps */
	uint64_t iova;
	atomic_bool stop;
};

/* Map two pages across the end of the test's unmap range, unmap, again. */
static void *crossing_mapper_fn(void *arg)
{
	struct crossing_mapper *cm = arg;

	while (!atomic_load(&cm->stop))
		if (!ioas_map(cm->fd, cm->ioas, cm->mem, 2 * page_size,
			      cm->iova))
			ioas_unmap(cm->fd, cm->ioas, cm->iova, 2 * page_size,
				   NULL);
	return NULL;
}

/*
 * A context with a mock device and an access on one IOAS, and the mapper
 * running over [@iova, @iova + 2 pages) of it; @stdev and @access are set.
 */
static void crossing_start(struct __test_metadata *_metadata,
			   struct crossing_mapper *cm, uint64_t iova,
			   uint32_t *stdev, int *access, pthread_t *thread)
{
	cm->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, cm->fd);
	ASSERT_EQ(0, ioas_alloc(cm->fd, &cm->ioas));
	ASSERT_EQ(0, mock_device(cm->fd, cm->ioas, stdev));
	ASSERT_EQ(0, access_create(cm->fd, cm->ioas, access));
	cm->iova = iova;
	ASSERT_EQ(0, pthread_create(thread, NULL, crossing_mapper_fn, cm));
}

/* Stop the mapper and take everything crossing_start() made down. */
static void crossing_stop(struct __test_metadata *_metadata,
			  struct crossing_mapper *cm, uint32_t stdev,
			  int access, pthread_t thread)
{
	atomic_store(&cm->stop, true);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	ASSERT_EQ(0, ioas_unmap(cm->fd, cm->ioas, 0, UINT64_MAX, NULL));
	close(access);
	ASSERT_EQ(0, iommufd_destroy(cm->fd, stdev));
	close(cm->fd);
}

/*
 * An unmap asks an access to let a pinned mapping go, and finds, once it
 * did, that a mapping crossing the end of the range appeared meanwhile: it
 * fails (ENOENT) leaving the mapping, which can then be pinned again as
 * before the unmap. Only rounds where the unmap waited and then failed
 * reach that; they are counted, and none at all skips.
 */
TEST_F_TIMEOUT(race, unmap_retry_lets_access_go, 300)
{
	struct crossing_mapper cm = { .mem = self->mem + 2 * page_size };
	int access, round, rounds = 10 * ROUNDS, hits = 0;
	pthread_t thread;
	uint32_t stdev, id;

	crossing_start(_metadata, &cm, IOVA + page_size, &stdev, &access,
		       &thread);
	for (round = 0; round != rounds; round++) {
		ASSERT_EQ(0, ioas_map(cm.fd, cm.ioas, self->mem, page_size,
				      IOVA));
		ASSERT_EQ(0, access_pin(cm.fd, access, IOVA, page_size,
					self->mem, 0, &id));
		/* Unmapped, or refused before the access was asked. */
		if (!ioas_unmap(cm.fd, cm.ioas, IOVA, 2 * page_size, NULL))
			continue;
		ASSERT_EQ(ENOENT, errno);
		if (!access_unpin(cm.fd, access, id)) {
			ASSERT_EQ(0, ioas_unmap(cm.fd, cm.ioas, IOVA, page_size,
						NULL));
			continue;
		}
		hits++;
		ASSERT_EQ(0, access_pin(cm.fd, access, IOVA, page_size,
					self->mem, 0, &id))
			TH_LOG("round %d: the mapping stayed closed to accesses",
			       round);
		ASSERT_EQ(0, access_unpin(cm.fd, access, id));
		ASSERT_EQ(0, ioas_unmap(cm.fd, cm.ioas, IOVA, page_size, NULL));
	}
	crossing_stop(_metadata, &cm, stdev, access, thread);
	if (!hits)
		SKIP(return, "no unmap waited for the access and then failed, in %d rounds",
		     rounds);
	TH_LOG("%d of %d rounds waited for the access and then failed",
	       hits, rounds);
}

/*
 * An unmap that took some mappings out, waited for an access to let go of
 * the next one, and then found a mapping crossing the end of the range,
 * fails (ENOENT): it must not report success while a mapping inside the
 * range stays mapped. The rounds that took something out and failed are
 * counted, and none at all skips.
 */
TEST_F_TIMEOUT(race, unmap_retry_fails_whole, 300)
{
	struct crossing_mapper cm = { .mem = self->mem + 2 * page_size };
	int access, round, rounds = 10 * ROUNDS, hits = 0;
	uint64_t unmapped;
	pthread_t thread;
	uint32_t stdev, id;

	crossing_start(_metadata, &cm, IOVA + 2 * page_size, &stdev, &access,
		       &thread);
	for (round = 0; round != rounds; round++) {
		ASSERT_EQ(0, ioas_map(cm.fd, cm.ioas, self->mem, page_size,
				      IOVA));
		ASSERT_EQ(0, ioas_map(cm.fd, cm.ioas, self->mem + page_size,
				      page_size, IOVA + page_size));
		ASSERT_EQ(0, access_pin(cm.fd, access, IOVA + page_size,
					page_size, self->mem + page_size, 0,
					&id));
		unmapped = 0;
		if (!ioas_unmap(cm.fd, cm.ioas, IOVA, 3 * page_size,
				&unmapped)) {
			ASSERT_EQ(2 * page_size, unmapped)
				TH_LOG("round %d: success with a mapping left",
				       round);
			continue;
		}
		ASSERT_EQ(ENOENT, errno);
		/* Refused before anything went: the access was not asked. */
		if (!ioas_unmap(cm.fd, cm.ioas, IOVA, page_size, NULL)) {
			ASSERT_EQ(0, access_unpin(cm.fd, access, id));
		} else {
			hits++;
			ASSERT_NE(0, access_unpin(cm.fd, access, id));
		}
		ASSERT_EQ(0, ioas_unmap(cm.fd, cm.ioas, IOVA + page_size,
					page_size, NULL));
	}
	crossing_stop(_metadata, &cm, stdev, access, thread);
	if (!hits)
		SKIP(return, "no unmap took a mapping out and then failed, in %d rounds",
		     rounds);
	TH_LOG("%d of %d rounds took a mapping out and then failed", hits,
	       rounds);
}

TEST_HARNESS_MAIN
