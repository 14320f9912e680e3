import { open } from 'node:fs/promises';

/** fsync of a path: a file's data, or a directory's entries (so a rename into it survives a crash). */
export async function fsyncPath(path: string, mode: 'r' | 'r+' = 'r'): Promise<void> {
  const fh = await open(path, mode);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export const syncDir = (dir: string): Promise<void> => fsyncPath(dir, 'r');
export const syncFile = (file: string): Promise<void> => fsyncPath(file, 'r+');

