/**
 * What the kernel keeps per process (task_struct and files_struct, reduced): pid, credentials,
 * process keyrings, the address space and the fd table. The bpf() commands see a process as a
 * Task; process.ts adds the system-call surface on top.
 */
import { Errno } from "../uapi/errno.js";
import type { ProcessKeyrings } from "./keyring.js";
import { AddressSpace } from "./memory.js";
import type { BpfFile, Caps } from "./types.js";
import { userAccess } from "./uaccess.js";

/** fds 0, 1 and 2 are open on stdio as in any process, so BPF objects start at fd 3. */
const STDIO = ["stdin", "stdout", "stderr"] as const;
const RLIMIT_NOFILE = 1024;

export class Task {
  readonly memory = new AddressSpace();
  readonly uaccess = userAccess(this.memory);
  readonly caps: Caps;
  private readonly fds = new Map<number, BpfFile>();

  /**
   * @param release drops the reference a closed (or never installed) file held on its object
   */
  constructor(
    readonly pid: number,
    caps: Partial<Caps>,
    readonly keyrings: ProcessKeyrings,
    private readonly release: (file: BpfFile) => void,
  ) {
    this.caps = { bpf: true, sys_admin: true, net_admin: true, perfmon: true, ...caps };
    STDIO.forEach((name, fd) => {
      this.fds.set(fd, { kind: "other", name });
    });
  }

  file(fd: number): BpfFile | undefined {
    return this.fds.get(fd);
  }

  /** The open fds, lowest first (stdio included). */
  openFds(): number[] {
    return [...this.fds.keys()].sort((a, b) => a - b);
  }

  /** The open fds of BPF objects (maps, programs, BTF), lowest first. */
  bpfFds(): number[] {
    return this.openFds().filter((fd) => this.fds.get(fd)?.kind !== "other");
  }

  /** Installs a file at the lowest free fd (taking the object's reference) or -EMFILE. */
  installFd(file: BpfFile): number {
    for (let fd = 0; fd < RLIMIT_NOFILE; fd++) {
      if (!this.fds.has(fd)) {
        this.fds.set(fd, file);
        return fd;
      }
    }
    this.release(file);
    return -Errno.EMFILE;
  }

  close(fd: number): number {
    const file = this.fds.get(fd);
    if (!file) return -Errno.EBADF;
    this.fds.delete(fd);
    this.release(file);
    return 0;
  }

  /** Closes every fd, as process exit does. */
  exit(): void {
    for (const fd of this.openFds()) this.close(fd);
  }
}
