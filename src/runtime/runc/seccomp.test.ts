import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowsUnconditionally, CLONE_NAMESPACE_FLAGS, ENOSYS, EPERM, PERSONALITIES, seccompProfile } from './seccomp.js';
import { ociConfig } from './oci-config.js';

const REFUSED = [
  'keyctl', 'add_key', 'request_key', 'bpf', 'perf_event_open', 'userfaultfd', 'open_by_handle_at',
  'init_module', 'finit_module', 'delete_module', 'kexec_load', 'kexec_file_load', 'iopl', 'ioperm', 'swapon', 'swapoff',
  'mount', 'umount', 'umount2', 'pivot_root', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree', 'mount_setattr',
  'setns', 'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'settimeofday', 'clock_settime', 'quotactl', 'acct',
  'syslog', 'lookup_dcookie', 'fanotify_init', 'sethostname', 'setdomainname', 'uselib', 'vm86', 'nfsservctl', 'kcmp',
  'clone', 'clone3', 'unshare', 'personality', 'socket',
];

test('seccomp: an allow-list refusing with EPERM by default; the dangerous calls are never allowed outright', () => {
  const p = seccompProfile('x64');
  assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(p.defaultErrnoRet, EPERM);
  for (const name of REFUSED) assert.equal(allowsUnconditionally(p, name), false, name);
  for (const name of ['read', 'openat', 'execve', 'chroot', 'reboot', 'setresuid', 'prctl', 'seccomp', 'arch_prctl']) {
    assert.equal(allowsUnconditionally(p, name), true, name);
  }
  // Nothing refused appears in a rule that allows it, with or without arguments, except the argument-checked ones.
  const conditional = new Set(['clone', 'unshare', 'personality', 'socket']);
  for (const rule of p.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW')) {
    for (const name of rule.names) if (REFUSED.includes(name)) assert.ok(conditional.has(name) && rule.args?.length, name);
  }
});

test('seccomp: clone and unshare only without namespace flags (CLONE_NEWUSER among them); clone3 is ENOSYS', () => {
  const p = seccompProfile('x64');
  for (const name of ['clone', 'unshare']) {
    const rules = p.syscalls.filter((r) => r.names.includes(name));
    assert.deepEqual(rules.map((r) => r.args), [[{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]]);
  }
  const CLONE_NEWUSER = 0x10000000;
  assert.equal(CLONE_NAMESPACE_FLAGS & CLONE_NEWUSER, CLONE_NEWUSER);
  assert.deepEqual(p.syscalls.filter((r) => r.names.includes('clone3')), [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS }]);
  const personalities = p.syscalls.filter((r) => r.names.includes('personality')).map((r) => r.args?.[0]?.value);
  assert.deepEqual(personalities, PERSONALITIES);
});

test('seccomp: the architectures of the host, with their own calls; every name appears once per plain rule', () => {
  assert.deepEqual(seccompProfile('x64').architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.deepEqual(seccompProfile('arm64').architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.equal(allowsUnconditionally(seccompProfile('arm64'), 'arch_prctl'), false);
  const names = seccompProfile('x64').syscalls[0]!.names;
  assert.equal(new Set(names).size, names.length);
});

test('seccomp: the OCI config carries the profile', () => {
  const spec = { id: 'i-1', volumes: [], metadata: {}, memoryMiB: 512, vcpus: 1 } as unknown as Parameters<typeof ociConfig>[0];
  const config = ociConfig(spec, '/m', '/v', { version: 2, unified: false }) as { linux: { seccomp: unknown } };
  assert.deepEqual(config.linux.seccomp, seccompProfile());
});
