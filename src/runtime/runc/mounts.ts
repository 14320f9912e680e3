/**
 * The runc driver's mounts inside a bundle: the tmpfs of volume mount points
 * and the loop-mounted volumes in it, freezing and thawing them, growing them
 * online, and taking mounts down again (flushed, their loop devices released).
 */
import { constants } from 'node:fs';
import { access, mkdir, readFile, rmdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkExt4 } from '../../lib/ext4-check.js';
import { VolumeBusyError } from '../runtime.js';
import { ID_RANGE, IDMAP_HELPER, readHostId } from './userns.js';
import type { VolumeAttachment } from '../runtime.js';
import type { Bundle } from './bundle.js';
import type { MountEntry } from './host.js';
import { exec, HostCommandError, loopBackingFile, mountAt, mountsUnder, realpathOrNull } from './host.js';

/** The host tools mounting needs. */
export type MountTool = 'mount' | 'umount' | 'losetup' | 'fsfreeze' | 'sync' | 'resize2fs' | 'e2fsck' | 'python3';

const POLL_MS = 20;
/**
 * How the host mounts an instance's volumes: never a device node of the guest's (nodev), and on further
 * volumes no setuid program either (nosuid). The root volume keeps suid: sudo and su inside need it, and
 * only root on the host can reach it (the bundle directory is 0700).
 */
export const ROOT_OPTIONS = 'loop,nodev';
export const VOLUME_OPTIONS = 'loop,nodev,nosuid';
/** The tmpfs holding the volumes' mount points: only directories, so tiny. */
const VOLUMES_TMPFS = 'size=64k,mode=755';

/** Mount work on bundles, running the host tools that `tool` finds (it throws RuntimeUnavailableError for a missing one). */
export class BundleMounts {
  /** `checked()`: whether volumes are checked before they are mounted (off only in the bench's baseline). */
  constructor(private readonly tool: (tool: MountTool) => Promise<string>, private readonly checked: () => boolean = () => true) {}

  /** The tmpfs whose subdirectories are the volumes' mount points; shared, so later mounts propagate into the instance. */
  async mountVolumesDir(b: Bundle): Promise<void> {
    await mkdir(b.volumes, { recursive: true });
    const mount = await this.tool('mount');
    await exec(mount, ['-t', 'tmpfs', '-o', VOLUMES_TMPFS, 'kiln-volumes', b.volumes]);
    await exec(mount, ['--make-shared', b.volumes]);
  }

  /** Loop-mounts a non-root volume at mnt/<device basename>; refuses a file that is already behind a loop device. */
  async mountVolume(b: Bundle, v: VolumeAttachment): Promise<void> {
    await access(v.path, constants.R_OK | constants.W_OK).catch(() => {
      throw new HostCommandError(`volume ${v.path} does not exist or is not writable`, [], '');
    });
    const inUse = (await exec(await this.tool('losetup'), ['-j', v.path])).trim();
    if (inUse) throw new HostCommandError(`volume ${v.path} is still in use (${inUse})`, [], '');
    const dir = join(b.volumes, basename(v.device));
    await mkdir(dir);
    try {
      await this.mountExt4(v, dir, VOLUME_OPTIONS, await readHostId(b.dir), join(b.dir, `.${basename(v.device)}`));
    } catch (err) {
      await rmdir(dir).catch(() => undefined);
      throw err;
    }
  }

  /** Loop-mounts the ext4 volume at `dir` with `options` once e2fsck -n finds it sound (lib/ext4-check.ts); DamagedFilesystemError otherwise. */
  async mountExt4(v: VolumeAttachment, dir: string, options: string, hostId?: number, stage = `${dir}.stage`): Promise<void> {
    if (this.checked()) await checkExt4(await this.tool('e2fsck'), v.path, `the volume at ${v.device}`);
    if (hostId === undefined) {
      await exec(await this.tool('mount'), ['-t', 'ext4', '-o', options, v.path, dir]);
      return;
    }
    // In a user namespace (userns.ts): mounted where the instance cannot see it yet, then moved to `dir`
    // id-mapped (the same filesystem, its ids seen shifted to the instance's range).
    await mkdir(stage);
    try {
      await exec(await this.tool('mount'), ['-t', 'ext4', '-o', options, v.path, stage]);
      await exec(await this.tool('python3'), [IDMAP_HELPER, stage, dir, String(hostId), String(ID_RANGE)]).catch(async (err: Error) => {
        await exec(await this.tool('umount'), [stage]).catch(() => undefined);
        throw err;
      });
    } finally {
      await rmdir(stage).catch(() => undefined);
    }
  }

  /** Unmounts mnt/<device basename> if mounted; busy -> VolumeBusyError, or a lazy unmount when `force`. */
  async unmountVolume(b: Bundle, device: string, force: boolean): Promise<void> {
    const dir = join(b.volumes, basename(device));
    const m = await mountAt(dir);
    if (m) {
      try {
        await this.unmountOne(m);
      } catch (err) {
        if (!/busy/i.test((err as HostCommandError).stderr ?? '')) throw err;
        if (!force) throw new VolumeBusyError(`${device} is busy: a process in the instance still uses it`);
        await exec(await this.tool('umount'), ['-l', m.mountPoint]);
      }
    }
    await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** The volumes mounted in the bundle's volumes directory (not the directory's own tmpfs). */
  async volumeMounts(b: Bundle): Promise<MountEntry[]> {
    const dir = await realpathOrNull(b.volumes);
    return dir ? (await mountsUnder(dir)).filter((m) => m.mountPoint !== dir) : [];
  }

  /** Runs `fn` with the root filesystem and every volume of the bundle frozen, thawing them in reverse even if `fn` throws. */
  async frozen<T>(b: Bundle, fn: () => Promise<T>): Promise<T> {
    const fsfreeze = await this.tool('fsfreeze');
    const frozen: string[] = [];
    try {
      for (const m of [await realpathOrNull(b.rootfs), ...(await this.volumeMounts(b)).map((v) => v.mountPoint)]) {
        if (!m) continue;
        await exec(fsfreeze, ['--freeze', m]);
        frozen.push(m);
      }
      return await fn();
    } finally {
      // Thaw every one even if one fails: a filesystem left frozen would hang the instance.
      const failed: Error[] = [];
      for (const m of frozen.reverse()) await exec(fsfreeze, ['--unfreeze', m]).catch((err: Error) => failed.push(err));
      if (failed.length) throw failed[0];
    }
  }

  /** Thaws the filesystem at `mountPoint` if it is mounted and frozen; a no-op otherwise. */
  async thaw(mountPoint: string): Promise<void> {
    if (!(await mountAt(mountPoint))) return;
    // Fails with EINVAL when not frozen, which is the usual case.
    await exec(await this.tool('fsfreeze'), ['--unfreeze', mountPoint]).catch(() => undefined);
  }

  /** Thaws the root filesystem and every volume of the bundle (a no-op for those not frozen). */
  async thawAll(b: Bundle): Promise<void> {
    for (const m of [b.rootfs, ...(await this.volumeMounts(b)).map((v) => v.mountPoint)]) await this.thaw(m);
  }

  /**
   * The loop device behind the volume file at `path` learns the file's new
   * length, then the ext4 on it grows to fill it (online) if the kernel lets
   * us. Resolves whether it grew; false when no loop device has the file.
   */
  async grow(path: string): Promise<boolean> {
    const line = (await exec(await this.tool('losetup'), ['-j', path])).trim();
    const loop = /^(\/dev\/loop\d+):/.exec(line)?.[1];
    if (!loop) return false;
    await exec(await this.tool('losetup'), ['-c', loop]);
    // Online resizing needs CAP_SYS_RESOURCE, which a containerised host may withhold (EPERM).
    return exec(await this.tool('resize2fs'), [loop]).then(() => true, () => false);
  }

  /** Unmounts everything mounted under `dir`, deepest first, flushing each and waiting for its loop device to go. */
  async unmountUnder(dir: string): Promise<void> {
    const real = await realpathOrNull(dir);
    if (!real) return;
    for (;;) {
      const under = await mountsUnder(real);
      if (!under.length) return;
      const deepest = under.sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
      await this.unmountOne(deepest);
    }
  }

  private async unmountOne(m: MountEntry): Promise<void> {
    const backing = await loopBackingFile(m.majorMinor);
    await this.thaw(m.mountPoint);
    await exec(await this.tool('sync'), ['-f', m.mountPoint]).catch(() => undefined);
    const umount = await this.tool('umount');
    const deadline = Date.now() + 5_000;
    for (;;) {
      try {
        await exec(umount, [m.mountPoint]);
        break;
      } catch (err) {
        if (!/busy/i.test((err as HostCommandError).stderr ?? '') || Date.now() >= deadline) throw err;
        await sleep(50);
      }
    }
    if (backing) await this.waitLoopReleased(m.majorMinor, backing);
  }

  /**
   * `mount -o loop` sets autoclear, so the device detaches itself once the
   * filesystem is gone, but the kernel does that asynchronously. Waiting makes
   * "stopped" mean "no loop device left"; a device that stays is detached.
   */
  private async waitLoopReleased(majorMinor: string, backing: string): Promise<void> {
    const deadline = Date.now() + 2_000;
    while (Date.now() < deadline) {
      if ((await loopBackingFile(majorMinor)) !== backing) return;
      await sleep(POLL_MS);
    }
    const loop = await readFile(`/sys/dev/block/${majorMinor}/uevent`, 'utf8').then((t) => /DEVNAME=(\S+)/.exec(t)?.[1]);
    if (loop) await exec(await this.tool('losetup'), ['-d', `/dev/${loop}`]).catch(() => undefined);
  }
}
