// SPDX-License-Identifier: GPL-2.0
/* A tracing program whose attach target no kernel has: its loader fails looking it up. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("fentry/no_such_function")
int on_nothing(void *ctx)
{
	return 0;
}
