#!/usr/bin/env python3
"""kiln-idmap SRC DST HOSTID COUNT: moves the mount at SRC to DST as an
id-mapped copy of itself (mount_setattr MOUNT_ATTR_IDMAP; SRC may be DST): ids 0..COUNT-1 on disk are
HOSTID.. to the host's kernel, so an instance whose root is host uid HOSTID
owns its files while the volume keeps 0-based ids (and images stay as they are).
runc 1.1 does not make idmapped mounts itself; util-linux 2.38's mount cannot."""
import ctypes, os, sys

SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_MOUNT_SETATTR = 428, 429, 442
OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC, AT_EMPTY_PATH = 1, 0o2000000, 0x1000
MOVE_MOUNT_F_EMPTY_PATH, MOUNT_ATTR_IDMAP, AT_FDCWD, CLONE_NEWUSER = 0x4, 0x00100000, -100, 0x10000000

class MountAttr(ctypes.Structure):
    _fields_ = [('attr_set', ctypes.c_uint64), ('attr_clr', ctypes.c_uint64), ('propagation', ctypes.c_uint64), ('userns_fd', ctypes.c_uint64)]

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
L, I, U = ctypes.c_long, ctypes.c_int, ctypes.c_uint

def check(r, what):
    if r < 0:
        sys.exit(f'kiln-idmap: {what}: {os.strerror(ctypes.get_errno())}')
    return r

def mapped_child(hostid, count, then):
    """Forks a child that enters a new user namespace, which the parent maps 0 -> hostid (count ids);
    the child then runs then(report) and exits, report(ok) telling the parent how that went. Returns its pid."""
    up_r, up_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(up_w, b'1' if libc.unshare(CLONE_NEWUSER) == 0 else b'0')
        os.read(go_r, 1)
        then(lambda ok: os.write(up_w, b'1' if ok else b'0'))
        os._exit(0)
    if os.read(up_r, 1) != b'1':
        sys.exit('kiln-idmap: unshare(CLONE_NEWUSER) failed')
    for f in ('uid_map', 'gid_map'):
        with open(f'/proc/{pid}/{f}', 'w') as m:
            m.write(f'0 {hostid} {count}\n')
    os.write(go_w, b'x')
    if os.read(up_r, 1) != b'1':
        sys.exit('kiln-idmap: setting up the namespaces failed')
    return pid

def userns_fd(hostid, count):
    """A user namespace with the mapping, made by a short-lived child."""
    done_r, done_w = os.pipe()
    pid = mapped_child(hostid, count, lambda report: (report(True), os.read(done_r, 1)))
    fd = os.open(f'/proc/{pid}/ns/user', os.O_RDONLY | os.O_CLOEXEC)
    os.write(done_w, b'x')
    os.waitpid(pid, 0)
    return fd

CLONE_NEWNET = 0x40000000

def hold(hostid, count):
    """kiln-idmap --hold HOSTID COUNT: a user namespace with the mapping and a network namespace it owns,
    held by a child until stdin closes; prints the child's pid. The instance joins both."""
    def child(report):
        report(libc.unshare(CLONE_NEWNET) == 0)
        while sys.stdin.buffer.read(4096):
            pass
    pid = mapped_child(hostid, count, child)
    print(pid, flush=True)
    sys.stdin.close()
    os.waitpid(pid, 0)

def main():
    if sys.argv[1] == '--hold':
        return hold(int(sys.argv[2]), int(sys.argv[3]))
    source, target, hostid, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    ns = userns_fd(hostid, count)
    tree = check(libc.syscall(L(SYS_OPEN_TREE), I(AT_FDCWD), source.encode(), U(OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)), 'open_tree')
    attr = MountAttr(MOUNT_ATTR_IDMAP, 0, 0, ns)
    check(libc.syscall(L(SYS_MOUNT_SETATTR), I(tree), b'', U(AT_EMPTY_PATH), ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr))), 'mount_setattr')
    check(libc.umount2(source.encode(), 0), 'umount')
    check(libc.syscall(L(SYS_MOVE_MOUNT), I(tree), b'', I(AT_FDCWD), target.encode(), U(MOVE_MOUNT_F_EMPTY_PATH)), 'move_mount')

main()
