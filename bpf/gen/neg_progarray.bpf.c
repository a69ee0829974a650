// SPDX-License-Identifier: GPL-2.0
/* Corpus object "neg_progarray" (NEGATIVE CASE): a PROG_ARRAY whose slot 0 is
 * initialised with a program from BTF. Light skeletons cannot carry program-array
 * initial values, so `bpftool gen skeleton -L` refuses this object; see
 * test/fixtures/gen/expected-errors.txt. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
int tail_target(struct __sk_buff *skb)
{
	return 1;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, int (void *));
} jump_table SEC(".maps") = {
	.values = { [0] = (void *)&tail_target },
};

SEC("socket")
int tail_entry(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jump_table, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
