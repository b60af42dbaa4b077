// SPDX-License-Identifier: GPL-2.0
#include "ucall.h"

void vp_get_ucall(int vp_fd, struct ucall *uc)
{
	struct hv_message msg;

	vp_run(vp_fd, &msg);
	TEST_ASSERT(msg.type == HVMSG_X64_IO_PORT_INTERCEPT, "not a ucall: message %#x at rip %#llx",
		    msg.type, (unsigned long long)msg.intercept.rip);
	TEST_ASSERT(msg.io.port >= UCALL_PORT && msg.io.port <= UCALL_PORT + UCALL_ABORT,
		    "not a ucall port: %#x", msg.io.port);
	uc->kind = msg.io.port - UCALL_PORT;
	uc->arg = (__u16)msg.io.rax;
	vp_skip(vp_fd, &msg);
}
