// SPDX-License-Identifier: MIT
/*
 * Test oracle for test/btf: applies a list of mutations to a raw BTF blob with the system's
 * libbpf, the way libbpf's own object code does (direct writes through btf__type_by_id() for
 * fix-ups, btf__add_*() for additions), then writes btf__raw_data() to a file.
 *
 *   libbpf_raw_data IN.btf OUT.btf OP...
 *   OP: size:ID:N  secoff:ID:I:OFF  secinfo:ID:I:TYPE:OFF:SIZE  sort:ID  varlink:ID:L
 *       vartype:ID:T  funclink:ID:L  paramname:PROTO:I:OFF  addstr:S  addvar:NAME:L:TYPE
 *       addint:NAME:SZ:ENC  addfunc:NAME:L:PROTO
 * Prints one line per add* op with the returned offset/id.
 *
 * Build: cc -O1 -o libbpf_raw_data libbpf_raw_data.c -lbpf
 */
#include <bpf/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_vsi(const void *a, const void *b)
{
	const struct btf_var_secinfo *x = a, *y = b;

	return x->offset - y->offset;
}

static struct btf_type *type_rw(struct btf *btf, unsigned int id)
{
	return (struct btf_type *)btf__type_by_id(btf, id);
}

int main(int argc, char **argv)
{
	static char buf[1 << 22];
	FILE *f;
	size_t n;
	struct btf *btf;
	const void *raw;
	__u32 raw_sz;
	int i;

	if (argc < 3)
		return 2;
	f = fopen(argv[1], "rb");
	if (!f)
		return 2;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	btf = btf__new(buf, n);
	if (!btf) {
		perror("btf__new");
		return 1;
	}
	for (i = 3; i < argc; i++) {
		char *op = strtok(argv[i], ":");
		char *a = strtok(NULL, ":"), *b = strtok(NULL, ":"), *c = strtok(NULL, ":");
		char *d = strtok(NULL, ":"), *e = strtok(NULL, ":");
		struct btf_type *t;

		if (!strcmp(op, "size")) {
			type_rw(btf, atoi(a))->size = strtoul(b, NULL, 0);
		} else if (!strcmp(op, "secoff")) {
			t = type_rw(btf, atoi(a));
			btf_var_secinfos(t)[atoi(b)].offset = strtoul(c, NULL, 0);
		} else if (!strcmp(op, "secinfo")) {
			struct btf_var_secinfo *v;

			t = type_rw(btf, atoi(a));
			v = &btf_var_secinfos(t)[atoi(b)];
			v->type = strtoul(c, NULL, 0);
			v->offset = strtoul(d, NULL, 0);
			v->size = strtoul(e, NULL, 0);
		} else if (!strcmp(op, "sort")) {
			t = type_rw(btf, atoi(a));
			qsort(btf_var_secinfos(t), btf_vlen(t), sizeof(struct btf_var_secinfo), cmp_vsi);
		} else if (!strcmp(op, "varlink")) {
			btf_var(type_rw(btf, atoi(a)))->linkage = atoi(b);
		} else if (!strcmp(op, "vartype")) {
			type_rw(btf, atoi(a))->type = atoi(b);
		} else if (!strcmp(op, "funclink")) {
			t = type_rw(btf, atoi(a));
			t->info &= ~0xffff;
			t->info |= atoi(b);
		} else if (!strcmp(op, "paramname")) {
			btf_params(type_rw(btf, atoi(a)))[atoi(b)].name_off = atoi(c);
		} else if (!strcmp(op, "addstr")) {
			printf("%d\n", btf__add_str(btf, a));
		} else if (!strcmp(op, "addvar")) {
			printf("%d\n", btf__add_var(btf, a, atoi(b), atoi(c)));
		} else if (!strcmp(op, "addint")) {
			printf("%d\n", btf__add_int(btf, a, atoi(b), atoi(c)));
		} else if (!strcmp(op, "addfunc")) {
			printf("%d\n", btf__add_func(btf, a, atoi(b), atoi(c)));
		} else {
			fprintf(stderr, "unknown op %s\n", op);
			return 2;
		}
	}
	raw = btf__raw_data(btf, &raw_sz);
	if (!raw)
		return 1;
	f = fopen(argv[2], "wb");
	if (!f || fwrite(raw, 1, raw_sz, f) != raw_sz)
		return 2;
	fclose(f);
	btf__free(btf);
	return 0;
}
