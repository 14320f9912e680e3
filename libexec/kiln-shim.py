#!/usr/bin/env python3
"""kiln-shim CONSOLE_LOG EXIT_FILE RUNC [RUNC_ARGS...] create [CREATE_ARGS...] ID

The runc driver's per-instance shim (the part of a machine's host side that
must outlive the Kiln server, as containerd's shim outlives containerd). It
runs `runc ... create --console-socket S ...` and then, detached in its own
session, for as long as the instance's init lives:

- receives the instance's console (the pty master runc passes over S) and
  appends everything the instance prints to CONSOLE_LOG, carriage returns
  dropped, as a bounded ring: once CONSOLE_LOG would pass CONSOLE_KEEP bytes
  it becomes CONSOLE_LOG.1 (replacing the one before) and a new CONSOLE_LOG
  begins, so a guest that prints without end holds at most twice
  CONSOLE_KEEP of the host's disk, and the last CONSOLE_KEEP bytes (more
  than GetConsoleOutput's 64 KiB) are always there. It keeps a slave end open itself: systemd opens and closes
  /dev/console per message, and with no slave open the master reads EIO;
- is the child subreaper, so the instance's init becomes its child once
  `runc create` exits, and when init ends it writes how to EXIT_FILE
  (`exited N` or `signal N`: systemd's poweroff ends init by SIGINT, its
  reboot by SIGHUP, when the instance holds CAP_SYS_BOOT).

Exits with runc create's exit code once that is known (the daemon goes on).
Node cannot do this itself: it can neither receive a file descriptor over a
unix socket nor become a subreaper for a process that outlives it.
"""
import ctypes
import os
import select
import signal
import socket
import sys
import tempfile
import time

PR_SET_CHILD_SUBREAPER = 36
CONSOLE_KEEP = 256 * 1024
TIOCGPTPEER = 0x5441


class Ring:
    """CONSOLE_LOG and CONSOLE_LOG.1, together at most 2 x CONSOLE_KEEP bytes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self.size = os.fstat(self.fd).st_size

    def write(self, data: bytes) -> None:
        while data:
            if self.size and self.size + len(data) > CONSOLE_KEEP:
                os.rename(self.path, self.path + '.1')
                os.close(self.fd)
                self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o640)
                self.size = 0
            chunk, data = data[:CONSOLE_KEEP], data[CONSOLE_KEEP:]
            os.write(self.fd, chunk)
            self.size += len(chunk)


def main() -> None:
    log_path, exit_path, runc_args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if 'create' not in runc_args:
        sys.exit('kiln-shim: the runc arguments have no create')
    r, w = os.pipe()
    if os.fork():
        # The caller: wait for the daemon to report runc create's exit code.
        os.close(w)
        result = os.read(r, 16).decode() or '255'
        os._exit(int(result))
    os.close(r)
    os.setsid()
    if os.fork():
        os._exit(0)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    null = os.open('/dev/null', os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    sock_dir = tempfile.mkdtemp(prefix='kiln-console-')
    sock_path = os.path.join(sock_dir, 'sock')
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(1)
    i = runc_args.index('create')
    pid_path = os.path.join(sock_dir, 'pid')
    args = runc_args[:i + 1] + ['--console-socket', sock_path, '--pid-file', pid_path] + runc_args[i + 1:]
    runc = os.fork()
    if runc == 0:
        # The guest's init starts with the usual umask, not the 077 of kiln serve (whose files are its owner's alone).
        os.umask(0o022)
        os.execvp(args[0], args)
    # runc connects before it exits, or fails without connecting: waiting for
    # either, so a failed create does not leave the shim hanging in accept().
    master = None
    server.setblocking(False)
    while master is None:
        ready, _, _ = select.select([server], [], [], 0.05)
        if ready:
            conn, _ = server.accept()
            conn.setblocking(True)
            _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
            conn.close()
            master = fds[0] if fds else -1
        elif os.waitpid(runc, os.WNOHANG)[0]:
            runc = 0
            break
    server.close()
    code = 1
    if runc:
        _, status = os.waitpid(runc, 0)
        code = os.waitstatus_to_exitcode(status)
    try:
        with open(pid_path) as f:
            init_pid = int(f.read())
    except (OSError, ValueError):
        init_pid = 0
        code = code or 1
    for name in os.listdir(sock_dir):
        os.unlink(os.path.join(sock_dir, name))
    os.rmdir(sock_dir)
    os.write(w, str(code if code >= 0 else 255).encode())
    os.close(w)
    if code != 0 or master is None or master < 0:
        sys.exit(1)
    peer = libc.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY)  # held open
    log = Ring(log_path)
    if peer < 0:
        # A kernel without TIOCGPTPEER (< 4.13): the master reports a hang-up whenever no slave is
        # open, so the loop below must not spin on it.
        log.write(b'kiln-shim: cannot hold the console open; console output may be lost between writes\n')
    os.set_blocking(master, False)

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            log.write(data.replace(b'\r', b''))

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    poller = select.poll()
    poller.register(master, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    result = None
    while result is None:
        try:
            poller.poll()
        except InterruptedError:
            pass
        if peer < 0:
            time.sleep(0.05)
        drain()
        try:
            os.read(wake_r, 512)
        except BlockingIOError:
            pass
        while True:
            # Children: the instance's init, and whatever is orphaned to us as its namespace goes.
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                result = result or 'unknown'
                break
            if pid == 0:
                break
            if pid != init_pid:
                continue
            if os.WIFEXITED(status):
                result = 'exited %d' % os.WEXITSTATUS(status)
            else:
                result = 'signal %d' % os.WTERMSIG(status)
    drain()
    tmp = exit_path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(result + '\n')
    os.rename(tmp, exit_path)


if __name__ == '__main__':
    main()
