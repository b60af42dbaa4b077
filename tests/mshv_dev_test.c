// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/mshv itself: the node, opening it, and ioctl numbers it does not know.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mshv_util.h"

#define MISC_MAJOR 10

TEST(node_is_a_root_only_misc_device)
{
	struct stat st;

	close(open_mshv_or_skip(O_RDONLY));
	ASSERT_EQ(0, stat(MSHV_DEV_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600U, st.st_mode & 07777);
	EXPECT_EQ(0U, st.st_uid);
	EXPECT_EQ((unsigned int)MISC_MAJOR, major(st.st_rdev));
}

TEST(opens_read_only_and_read_write)
{
	int flags[] = { O_RDONLY, O_RDWR, O_RDWR | O_CLOEXEC, O_RDWR | O_NONBLOCK };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		int fd = open_mshv_or_skip(flags[i]);

		EXPECT_EQ(1, __mshv_check_cap(fd, MSHV_CAP_CORE_API_STABLE));
		EXPECT_EQ(0, close(fd));
	}
}

TEST(many_opens_at_once)
{
	int fds[256];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		fds[i] = open(MSHV_DEV_PATH, O_RDWR);
		ASSERT_LE(0, fds[i]);
	}
	for (i = 0; i < ARRAY_SIZE(fds); i++)
		EXPECT_EQ(0, close(fds[i]));
}

TEST(unknown_ioctls_are_enotty)
{
	/* Numbers are matched whole: a known nr with another size or direction is unknown. */
	unsigned long cmds[] = {
		0,
		0xffffffffUL,
		_IO(MSHV_IOCTL, 0x00),
		_IOR(MSHV_IOCTL, 0x00, __u32),
		_IOWR(MSHV_IOCTL, 0x00, __u32),
		_IOW(MSHV_IOCTL, 0x00, __u64),
		_IOW(MSHV_IOCTL, 0x01, __u32),
		_IOW(MSHV_IOCTL, 0xff, __u32),
		_IO(MSHV_IOCTL, 0x3f),
		_IO(0xAE, 0x03), /* KVM_CHECK_EXTENSION */
		_IOW(0xAE, 0x00, __u32),
	};
	int fd = open_mshv_or_skip(O_RDWR);
	__u32 arg = MSHV_CAP_CORE_API_STABLE;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(fd, cmds[i], &arg)) TH_LOG("cmd %#lx", cmds[i]);
		EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd %#lx", cmds[i]);
	}
	close(fd);
}

TEST_HARNESS_MAIN
