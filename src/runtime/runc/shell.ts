/**
 * An interactive shell in a running instance (the console's Connect): `runc exec -t`, which makes a terminal
 * inside the container and copies it to and from its own stdio, which must be a terminal too (the caller's
 * pty: server/connect.ts), and follows that terminal's size (SIGWINCH). A login shell, bash where the image
 * has one, as root in its home directory.
 */
// umask 022: the guest's usual one, not the 077 of kiln serve, which starts this.
const LOGIN_SHELL = 'umask 022; cd ~ 2>/dev/null; if [ -x /bin/bash ]; then exec /bin/bash -l; fi; exec /bin/sh -l';

export function shellArgs(runc: string, runcRoot: string, id: string): string[] {
  return [
    runc, '--root', runcRoot, 'exec', '-t', '--env', 'TERM=xterm-256color', '--env', 'HOME=/root', '--env', 'LANG=C.UTF-8',
    id, '/bin/sh', '-c', LOGIN_SHELL,
  ];
}
