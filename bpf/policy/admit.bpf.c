// SPDX-License-Identifier: GPL-2.0
/*
 * Admission policy at lsm/bpf_prog_load: loads from inside the kernel (a light skeleton's
 * loader calling bpf_sys_bpf) are trusted; every other load must carry a verified signature,
 * and a signature checked against a user key or keyring is accepted only when that serial is
 * in the allowlist map. Each decision on a user load, allow or deny, goes to the audit ring
 * buffer. Compiled against the model kernel's vmlinux.h (bpfsign btf dump --model --format c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EPERM 1

char LICENSE[] SEC("license") = "GPL";

/* keyring serials (user keys / keyrings) trusted in addition to the system keyrings */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __s32);
	__type(value, __u8);
	__uint(max_entries, 64);
} allowed_keyrings SEC(".maps");

/* one record per decision, read by user space */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} audit SEC(".maps");

struct admission_record {
	__u32 prog_type;
	__u32 verdict;
	__u32 keyring_type;
	__s32 keyring_serial;
	__s32 ret;
};

/* keeps the record type in the object's BTF so that readers can decode the stream */
struct admission_record *unused_admission_record __attribute__((unused));

SEC("lsm/bpf_prog_load")
int BPF_PROG(admit, struct bpf_prog *prog, union bpf_attr *attr, struct bpf_token *token,
	     bool kernel)
{
	struct bpf_prog_aux *aux = prog->aux;
	__u32 verdict = aux->sig.verdict;
	__u32 ktype = aux->sig.keyring_type;
	__s32 serial = aux->sig.keyring_serial;
	struct admission_record *rec;
	int ret = 0;

	if (kernel)
		return 0;
	if (verdict != BPF_SIG_VERIFIED)
		ret = -EPERM;
	else if (ktype == BPF_SIG_KEYRING_USER && !bpf_map_lookup_elem(&allowed_keyrings, &serial))
		ret = -EPERM;

	rec = bpf_ringbuf_reserve(&audit, sizeof(*rec), 0);
	if (rec) {
		rec->prog_type = attr->prog_type;
		rec->verdict = verdict;
		rec->keyring_type = ktype;
		rec->keyring_serial = serial;
		rec->ret = ret;
		bpf_ringbuf_submit(rec, 0);
	}
	return ret;
}
