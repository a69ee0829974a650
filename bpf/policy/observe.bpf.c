// SPDX-License-Identifier: GPL-2.0
/*
 * Observer at lsm/bpf_prog and lsm/bpf_prog_free: the first time an fd to a verified program
 * is minted is its load (it has an id by then); later fds (BPF_PROG_GET_FD_BY_ID) find the
 * program already in the map. The entry is keyed by the program's address, because the id is
 * already 0 when bpf_prog_free runs, and is removed there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct sighting {
	__u32 id;
	__u32 keyring_type;
	__s32 keyring_serial;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, struct sighting);
	__uint(max_entries, 4096);
} live SEC(".maps");

/* how many first sightings were recorded (index 0) and how many entries freed (index 1) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2);
} counts SEC(".maps");

static void count(__u32 i)
{
	__u64 *c = bpf_map_lookup_elem(&counts, &i);

	if (c)
		__sync_fetch_and_add(c, 1);
}

SEC("lsm/bpf_prog")
int BPF_PROG(observe, struct bpf_prog *prog)
{
	__u64 key = (__u64)(unsigned long)prog;
	struct bpf_prog_aux *aux = prog->aux;
	struct sighting s = {};

	if (aux->sig.verdict != BPF_SIG_VERIFIED)
		return 0;
	if (bpf_map_lookup_elem(&live, &key))
		return 0;
	s.id = aux->id;
	s.keyring_type = aux->sig.keyring_type;
	s.keyring_serial = aux->sig.keyring_serial;
	bpf_map_update_elem(&live, &key, &s, BPF_NOEXIST);
	count(0);
	return 0;
}

SEC("lsm/bpf_prog_free")
int BPF_PROG(forget, struct bpf_prog *prog)
{
	__u64 key = (__u64)(unsigned long)prog;

	if (bpf_map_delete_elem(&live, &key) == 0)
		count(1);
	return 0;
}
