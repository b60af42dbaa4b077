// SPDX-License-Identifier: GPL-2.0
/*
 * mshv-kcov-run: coverage of what the test programs do not run themselves.
 *
 *   mshv-kcov-run <command> [args]   runs the command traced by KCOV (insmod and rmmod of the
 *                                    module: its init and exit)
 *   mshv-kcov-run --remote           until SIGTERM, collects the module's work items, which
 *                                    run in kworkers (KCOV's remote coverage: the module's
 *                                    common handle, glue/irqfd.c)
 *
 * The PCs go where MSHV_KCOV_DIR says, as the test programs' do (tests/lib/kcov.c).
 */
#include <stdio.h>
#include <string.h>

#include "kcov.h"

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--remote"))
		return kcov_remote();
	if (argc < 2) {
		fprintf(stderr, "usage: %s <command> [args] | --remote\n", argv[0]);
		return 2;
	}
	return kcov_run(argv + 1);
}
