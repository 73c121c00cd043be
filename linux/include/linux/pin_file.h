/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Pinning a file's pages for DMA without a user mapping of the file; see
 * mm/pin_file.c.
 */
#ifndef _LINUX_PIN_FILE_H
#define _LINUX_PIN_FILE_H

#include <linux/types.h>

struct file;
struct page;

long pin_file_pages(struct file *file, pgoff_t index, unsigned long nr_pages,
		    struct page **pages);
int pin_file_map_writable(struct file *file);

#endif
