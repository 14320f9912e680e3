/**
 * Secret access keys sealed at rest: AES-256-GCM (node:crypto) under a host
 * key file, so a copy of the database alone (a backup, a support bundle, a
 * file another user could read) does not reveal them. SigV4 needs the
 * plaintext to verify a request, so the store opens a secret when it is looked
 * up; opened secrets are cached in memory.
 *
 * The key file holds 32 random bytes (hex), mode 0600; it is made at the first
 * open. Its default place is beside kiln.db in the data directory: a copy of
 * the whole directory then holds the key too (and every disk anyway), a copy
 * of kiln.db does not. `kiln serve --key-file` puts it elsewhere (another
 * disk, a secrets mount).
 *
 * Sealed form: `kiln-gcm1:` + base64(nonce 12 | tag 16 | ciphertext), with the
 * access key id as additional data, so a sealed secret moved to another key's
 * row does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const PREFIX = 'kiln-gcm1:';

export class SecretBox {
  private readonly opened = new Map<string, string>();

  private constructor(private readonly key: Buffer, readonly keyFile: string) {}

  /** The box of the key in `keyFile`, made (random, 0600) when the file does not exist. */
  static fromKeyFile(keyFile: string): SecretBox {
    let text: string;
    try {
      text = readFileSync(keyFile, 'utf8');
      if ((statSync(keyFile).mode & 0o077) !== 0) chmodSync(keyFile, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
      text = `${randomBytes(32).toString('hex')}\n`;
      try {
        writeFileSync(keyFile, text, { mode: 0o600, flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        text = readFileSync(keyFile, 'utf8'); // another process made it first
      }
    }
    const key = Buffer.from(text.trim(), 'hex');
    if (key.length !== 32) throw new Error(`${keyFile} does not hold a 256-bit key (64 hex digits)`);
    return new SecretBox(key, keyFile);
  }

  static isSealed(value: string): boolean {
    return value.startsWith(PREFIX);
  }

  seal(secret: string, accessKeyId: string): string {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, nonce);
    c.setAAD(Buffer.from(accessKeyId));
    const body = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
    const sealed = PREFIX + Buffer.concat([nonce, c.getAuthTag(), body]).toString('base64');
    this.opened.set(sealed, secret);
    return sealed;
  }

  /** The plaintext of a sealed secret; throws when it was sealed under another key (or for another key id). */
  open(sealed: string, accessKeyId: string): string {
    const hit = this.opened.get(sealed);
    if (hit !== undefined) return hit;
    if (!SecretBox.isSealed(sealed)) throw new Error(`the secret of access key ${accessKeyId} is not sealed`);
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    const d = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    d.setAAD(Buffer.from(accessKeyId));
    d.setAuthTag(raw.subarray(12, 28));
    let secret: string;
    try {
      secret = Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
    } catch {
      throw new Error(`the secret of access key ${accessKeyId} does not open with the key in ${this.keyFile} (was the store made with another --key-file?)`);
    }
    if (this.opened.size >= 10_000) this.opened.clear();
    this.opened.set(sealed, secret);
    return secret;
  }
}
