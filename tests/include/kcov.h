/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Coverage of the mshv module from KCOV (tests/lib/kcov.c): a set of the
 * module's PCs the process reached, written out at exit.
 */
#ifndef MSHV_KCOV_H
#define MSHV_KCOV_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Starts tracing this process (its threads, forks) and writes its PCs to dir at exit. The test
 * programs do this from MSHV_KCOV_DIR by themselves; the fuzzer calls it.
 */
void kcov_setup(const char *dir);
/* Whether the calling thread is traced. */
bool kcov_enabled(void);
/* Moves the calling thread's trace into the set; returns how many PCs were new. */
int kcov_collect(void);
/* Distinct module PCs in the set (since the last write-out). */
size_t kcov_pcs(void);
/* Runs argv traced (insmod, rmmod: the module's init and exit); its exit status. */
int kcov_run(char **argv);
/* Collects the module's work items (its KCOV common handle) until SIGTERM. */
int kcov_remote(void);

#endif /* MSHV_KCOV_H */
