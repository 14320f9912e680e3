/**
 * Raw Ethernet frames for the hostile network test, as a guest with
 * CAP_NET_RAW in its own network namespace could send them: a host-side
 * python3 run inside the instance's namespace (`ip netns exec`) with an
 * AF_PACKET socket on its eth0. Every frame carries a tag (`KILNTAG:<tag>.`,
 * in the UDP payload or the ARP padding) so the receiving side can say
 * which of them arrived.
 */
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** One frame: `kind` ip (UDP over IPv4 to the peer), arp (a reply to the peer), ip6 (UDP over IPv6, link-local). */
export interface Frame { tag: string; srcMac: string; srcIp: string; kind: 'ip' | 'arp' | 'ip6' }

const SEND = String.raw`
import socket, struct, sys
def mac(m): return bytes.fromhex(m.replace(':', ''))
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
dst, dstip = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); s.bind(('eth0', 0))
for spec in sys.argv[3:]:
    tag, src, srcip, kind = spec.split(',')
    payload = ('KILNTAG:' + tag + '.').encode()
    udp = struct.pack('!HHHH', 40000, 9999, 8 + len(payload), 0) + payload
    if kind == 'ip':
        hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, socket.inet_aton(srcip), socket.inet_aton(dstip))
        frame = mac(dst) + mac(src) + b'\x08\x00' + hdr[:10] + struct.pack('!H', csum(hdr)) + hdr[12:] + udp
    elif kind == 'arp':
        arp = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 2, mac(src), socket.inet_aton(srcip), mac(dst), socket.inet_aton(dstip))
        frame = mac(dst) + mac(src) + b'\x08\x06' + arp + payload
    else:
        hdr = struct.pack('!IHBB16s16s', 0x60000000, len(udp), 17, 64, socket.inet_pton(socket.AF_INET6, 'fe80::1'), socket.inet_pton(socket.AF_INET6, 'fe80::2'))
        frame = mac(dst) + mac(src) + b'\x86\xdd' + hdr + udp
    for _ in range(3): s.send(frame)
`;

const LISTEN = String.raw`
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); s.bind(('eth0', 0)); s.settimeout(0.2)
print('ready', flush=True)
seen, end = set(), time.time() + float(sys.argv[1])
while time.time() < end:
    try: f = s.recv(65535)
    except socket.timeout: continue
    i = f.find(b'KILNTAG:')
    if i >= 0: seen.add(f[i + 8:i + 40].split(b'.')[0].decode())
print(' '.join(sorted(seen)), flush=True)
`;

/**
 * Listens on eth0 in namespace `rxNs` while `txNs` sends `frames` to the
 * peer (`dstMac`, `dstIp`); resolves with the tags that arrived, sorted.
 */
export async function framesThrough(txNs: string, rxNs: string, dstMac: string, dstIp: string, frames: Frame[]): Promise<string[]> {
  const rx = spawn('ip', ['netns', 'exec', rxNs, 'python3', '-c', LISTEN, '3'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise<void>((resolve) => rx.stdout.on('data', (c: Buffer) => { out += c.toString(); if (out.startsWith('ready\n')) resolve(); }));
  const done = new Promise<void>((resolve) => rx.on('close', () => resolve()));
  await ready;
  await execFileP('ip', ['netns', 'exec', txNs, 'python3', '-c', SEND, dstMac, dstIp, ...frames.map((f) => `${f.tag},${f.srcMac},${f.srcIp},${f.kind}`)]);
  await done;
  return out.slice('ready\n'.length).trim().split(/\s+/).filter(Boolean).sort();
}

/** The MAC of eth0 in namespace `ns`. */
export async function macIn(ns: string): Promise<string> {
  const [link] = JSON.parse((await execFileP('ip', ['-n', ns, '-j', 'link', 'show', 'eth0'])).stdout) as Array<{ address: string }>;
  return link!.address;
}
