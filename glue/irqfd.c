// SPDX-License-Identifier: GPL-2.0
/*
 * The eventfd side of an irqfd: a wait-queue entry on the eventfd whose wake
 * callback consumes the count and queues a work item that calls back into
 * Rust (mshv_partition/irqfd.rs) to assert the interrupt. The kernel has no Rust API for
 * custom wait-queue entries or poll tables (init_waitqueue_func_entry,
 * init_poll_funcptr and vfs_poll are static inline), so this stays in C and
 * knows nothing about partitions: it carries an opaque owner and a GSI.
 */
#include <linux/err.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/kcov.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "glue/helpers.h"

struct mshv_rs_irqfd {
	wait_queue_entry_t wait;
	poll_table pt;
	struct work_struct inject;
	struct eventfd_ctx *ctx;
	struct file *file;	/* only between new and arm */
	const void *owner;
	u32 gsi;
	bool hup;		/* the eventfd's last file was closed */
};

static int irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode, int sync, void *key)
{
	struct mshv_rs_irqfd *irqfd = container_of(wait, struct mshv_rs_irqfd, wait);
	__poll_t flags = key_to_poll(key);
	u64 cnt;

	if (flags & EPOLLIN) {
		/* The eventfd's wait-queue lock is held: the count can be taken here. */
		eventfd_ctx_do_read(irqfd->ctx, &cnt);
		schedule_work(&irqfd->inject);
	}
	/*
	 * The eventfd's last file is gone: nothing can signal it again. The
	 * partition, told so, frees such irqfds on its next assign (the context
	 * reference keeps this entry valid until then).
	 */
	if (flags & EPOLLHUP) {
		WRITE_ONCE(irqfd->hup, true);
		mshv_rs_irqfd_hangup(irqfd->owner);
	}
	return 0;
}

static void irqfd_queue_proc(struct file *file, wait_queue_head_t *wqh, poll_table *pt)
{
	struct mshv_rs_irqfd *irqfd = container_of(pt, struct mshv_rs_irqfd, pt);

	add_wait_queue_priority(wqh, &irqfd->wait);
}

/*
 * KCOV's remote coverage of the injection, which runs in a kworker: a
 * common handle of this module's own ("mshv"), for a collector of the tests
 * to register. Nothing without CONFIG_KCOV or without a collector.
 */
#define MSHV_KCOV_INSTANCE 0x6d736876

static void irqfd_inject(struct work_struct *work)
{
	struct mshv_rs_irqfd *irqfd = container_of(work, struct mshv_rs_irqfd, inject);

	kcov_remote_start(kcov_remote_handle(KCOV_SUBSYSTEM_COMMON, MSHV_KCOV_INSTANCE));
	mshv_rs_irqfd_inject(irqfd->owner, irqfd->gsi);
	kcov_remote_stop();
}

struct mshv_rs_irqfd *mshv_rs_irqfd_new(int fd, const void *owner, u32 gsi)
{
	struct mshv_rs_irqfd *irqfd;
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADF);
	irqfd = kzalloc(sizeof(*irqfd), GFP_KERNEL_ACCOUNT);
	if (!irqfd) {
		fput(file);
		return ERR_PTR(-ENOMEM);
	}
	irqfd->ctx = eventfd_ctx_fileget(file);
	if (IS_ERR(irqfd->ctx)) {
		long err = PTR_ERR(irqfd->ctx);

		kfree(irqfd);
		fput(file);
		return ERR_PTR(err);
	}
	irqfd->file = file;
	irqfd->owner = owner;
	irqfd->gsi = gsi;
	init_waitqueue_func_entry(&irqfd->wait, irqfd_wakeup);
	init_poll_funcptr(&irqfd->pt, irqfd_queue_proc);
	INIT_WORK(&irqfd->inject, irqfd_inject);
	return irqfd;
}

const void *mshv_rs_irqfd_ctx(const struct mshv_rs_irqfd *irqfd)
{
	return irqfd->ctx;
}

bool mshv_rs_irqfd_hup(const struct mshv_rs_irqfd *irqfd)
{
	return READ_ONCE(irqfd->hup);
}

void mshv_rs_irqfd_arm(struct mshv_rs_irqfd *irqfd)
{
	__poll_t events;

	if (WARN_ON_ONCE(!irqfd->file))
		return;
	events = vfs_poll(irqfd->file, &irqfd->pt);

	fput(irqfd->file);
	irqfd->file = NULL;
	/* A signal from before the entry was queued is delivered as if seen (as KVM). */
	if (events & EPOLLIN)
		schedule_work(&irqfd->inject);
}

void mshv_rs_irqfd_free(struct mshv_rs_irqfd *irqfd)
{
	u64 cnt;

	if (irqfd->file) {
		fput(irqfd->file);
	} else {
		/* After this no wakeup runs; then let a queued injection finish. */
		eventfd_ctx_remove_wait_queue(irqfd->ctx, &irqfd->wait, &cnt);
		flush_work(&irqfd->inject);
	}
	eventfd_ctx_put(irqfd->ctx);
	kfree(irqfd);
}

const void *mshv_rs_eventfd_ctx_get(int fd)
{
	return eventfd_ctx_fdget(fd);
}

void mshv_rs_eventfd_ctx_put(const void *ctx)
{
	eventfd_ctx_put((struct eventfd_ctx *)ctx);
}

void mshv_rs_eventfd_signal(const void *ctx)
{
	eventfd_signal((struct eventfd_ctx *)ctx);
}
