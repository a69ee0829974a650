// SPDX-License-Identifier: MIT
/*
 * Test oracle for test/btf/btf_dump: prints libbpf's btf_dump__emit_type_decl() output, with
 * one btf_dump instance for all requests (as bpftool's skeleton generator uses one).
 *
 *   libbpf_dump IN.btf ID:NAME:LEVEL:STRIP...
 * Each declaration is followed by a NUL byte. NAME may be empty.
 *
 * Build: cc -O1 -o libbpf_dump libbpf_dump.c -lbpf
 */
#include <bpf/btf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_cb(void *ctx, const char *fmt, va_list args)
{
	vprintf(fmt, args);
}

int main(int argc, char **argv)
{
	static char buf[1 << 22];
	struct btf_dump *d;
	struct btf *btf;
	FILE *f;
	size_t n;
	int i;

	if (argc < 2)
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
	btf__set_pointer_size(btf, 8);
	d = btf_dump__new(btf, print_cb, NULL, NULL);
	if (!d)
		return 1;
	for (i = 2; i < argc; i++) {
		char *id = argv[i], *name = strchr(id, ':'), *lvl, *strip;

		if (!name)
			return 2;
		*name++ = 0;
		lvl = strchr(name, ':');
		if (!lvl)
			return 2;
		*lvl++ = 0;
		strip = strchr(lvl, ':');
		if (!strip)
			return 2;
		*strip++ = 0;
		{
			LIBBPF_OPTS(btf_dump_emit_type_decl_opts, opts,
				.field_name = name,
				.indent_level = atoi(lvl),
				.strip_mods = atoi(strip) != 0,
			);
			if (btf_dump__emit_type_decl(d, atoi(id), &opts))
				return 1;
		}
		fflush(stdout);
		fwrite("", 1, 1, stdout);
	}
	fflush(stdout);
	btf_dump__free(d);
	btf__free(btf);
	return 0;
}
