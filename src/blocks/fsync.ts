import { open } from 'node:fs/promises';

/** fsync of a path: a file's data, or a directory's entries (so a rename into it survives a crash). */
export async function fsyncPath(path: string, mode: 'r' | 'r+' = 'r'): Promise<void> {
  const fh = await open(path, mode);
  try {
    await fh.sync();
    countFsync();
  } finally {
    await fh.close();
  }
}

export const syncDir = (dir: string): Promise<void> => fsyncPath(dir, 'r');
export const syncFile = (file: string): Promise<void> => fsyncPath(file, 'r+');

let fsyncs = 0;

/** Counts an fsync made elsewhere in blocks/ (through a handle already open). */
export function countFsync(): void {
  fsyncs++;
}

/** fsyncs made by blocks/ in this process so far (the bench reports them per capture). */
export function fsyncCount(): number {
  return fsyncs;
}
