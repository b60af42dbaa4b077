// SPDX-License-Identifier: GPL-2.0
/*
 * mshv-hello: runs a tiny real-mode guest through /dev/mshv and prints what it
 * writes to the serial port 0x3f8. The guest is the classic "2 + 3" program,
 * then a greeting written one character at a time, then HLT.
 *
 * The steps are those of every VMM: create a partition, initialize it, map
 * memory, create a VP, set its registers (MSHV_ROOT_HVCALL), run it and handle
 * the IO-port intercepts (advancing RIP past each OUT), until HLT.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "linux/mshv.h"
#include "../tests/include/hv_abi.h"

#define MEM_SIZE 0x10000
#define CODE 0x1000

static int die(const char *what)
{
	fprintf(stderr, "mshv-hello: %s: %s\n", what, strerror(errno));
	return 1;
}

static int set_reg(int vp, __u32 name, __u64 low, __u64 high)
{
	struct {
		struct hv_input_vp_registers head;
		struct hv_register_assoc reg;
	} __attribute__((packed)) in = { .reg = { .name = name, .low = low, .high = high } };
	struct mshv_root_hvcall a = {
		.code = HVCALL_SET_VP_REGISTERS,
		.reps = 1,
		.in_sz = sizeof(in),
		.in_ptr = (__u64)(unsigned long)&in,
	};

	return ioctl(vp, MSHV_ROOT_HVCALL, &a);
}

int main(void)
{
	static const char greeting[] = "\nHello from a guest of the Microsoft Hypervisor!\n";
	/* mov $0x3f8,%dx; add %bl,%al; add $'0',%al; out %al,(%dx) */
	static const __u8 sum[] = { 0xba, 0xf8, 0x03, 0x00, 0xd8, 0x04, '0', 0xee };
	struct mshv_create_partition pa = { .pt_flags = 1 << MSHV_PT_BIT_LAPIC };
	struct mshv_user_mem_region mem = { .size = MEM_SIZE };
	struct mshv_create_vp va = { .vp_index = 0 };
	struct hv_message msg;
	__u8 *code, *p;
	int mshv, pt, vp;
	size_t i;

	mshv = open("/dev/mshv", O_RDWR | O_CLOEXEC);
	if (mshv < 0)
		return die("/dev/mshv");
	pt = ioctl(mshv, MSHV_CREATE_PARTITION, &pa);
	if (pt < 0 || ioctl(pt, MSHV_INITIALIZE_PARTITION))
		return die("partition");
	code = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		return die("mmap");
	p = code + CODE;
	memcpy(p, sum, sizeof(sum));
	p += sizeof(sum);
	for (i = 0; i < strlen(greeting); i++) {
		*p++ = 0xb0;		/* mov $c, %al */
		*p++ = greeting[i];
		*p++ = 0xee;		/* out %al, (%dx) */
	}
	*p++ = 0xf4;			/* hlt */
	mem.userspace_addr = (__u64)(unsigned long)code;
	mem.flags = 1 << MSHV_SET_MEM_BIT_WRITABLE | 1 << MSHV_SET_MEM_BIT_EXECUTABLE;
	if (ioctl(pt, MSHV_SET_GUEST_MEMORY, &mem))
		return die("guest memory");
	vp = ioctl(pt, MSHV_CREATE_VP, &va);
	if (vp < 0)
		return die("VP");
	if (set_reg(vp, HV_X64_REGISTER_CS, 0, 0xffffULL | (0x9bULL << 48)) ||
	    set_reg(vp, HV_X64_REGISTER_RIP, CODE, 0) ||
	    set_reg(vp, HV_X64_REGISTER_RAX, 2, 0) ||
	    set_reg(vp, HV_X64_REGISTER_RBX, 3, 0))
		return die("registers");

	printf("guest on port 0x3f8: ");
	for (;;) {
		if (ioctl(vp, MSHV_RUN_VP, &msg))
			return die("MSHV_RUN_VP");
		if (msg.type == HVMSG_X64_HALT)
			break;
		if (msg.type != HVMSG_X64_IO_PORT_INTERCEPT) {
			fprintf(stderr, "mshv-hello: unexpected message %#x\n", msg.type);
			return 1;
		}
		if (msg.io.port == 0x3f8)
			putchar((char)msg.io.rax);
		if (set_reg(vp, HV_X64_REGISTER_RIP,
			    msg.intercept.rip + (msg.intercept.instruction_length & 0xf), 0))
			return die("advancing RIP");
	}
	printf("(guest halted at rip %#llx)\n", (unsigned long long)msg.intercept.rip);
	close(vp);
	close(pt);
	close(mshv);
	return 0;
}
