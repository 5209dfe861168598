// Reads what JavaShellRuntimeLayer checks in a layer zip, with Node alone: synth needs no unzip binary, and only
// the central directory and one small entry are read, not the whole zip (tens of MB).
import * as fs from 'fs';
import * as zlib from 'zlib';

export type LayerArch = 'amd64' | 'arm64';

/** The name `make layer` gives its zips: dist/java-shell-runtime-<arch>-<version>.zip. */
const ZIP_NAME = /^java-shell-runtime-(amd64|arm64)-(.+)\.zip$/;

export function parseLayerZipName(fileName: string): { arch: LayerArch; version: string } | undefined {
  const m = ZIP_NAME.exec(fileName);
  return m ? { arch: m[1] as LayerArch, version: m[2] } : undefined;
}

interface Entry {
  method: number;
  compressedSize: number;
  localHeaderOffset: number;
  unixMode: number;
}

/** The entries of a zip file, by name, from its central directory. */
export class ZipIndex {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly zipPath: string) {
    const fd = fs.openSync(zipPath, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      // The end-of-central-directory record is 22 bytes plus a comment of at most 65535 bytes.
      const tailLength = Math.min(size, 22 + 65535);
      const tail = read(fd, size - tailLength, tailLength);
      const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
      if (eocd < 0 || eocd + 22 > tail.length) {
        throw new Error(`${zipPath} is not a zip file (no end of central directory)`);
      }
      const count = tail.readUInt16LE(eocd + 10);
      const cdSize = tail.readUInt32LE(eocd + 12);
      const cdOffset = tail.readUInt32LE(eocd + 16);
      if (count === 0xffff || cdOffset === 0xffffffff) {
        // Zip64 is only needed past 65535 entries or 4 GiB; a Lambda layer stays far below both.
        throw new Error(`${zipPath} is a zip64 file: a layer zip never needs zip64, so this is not one`);
      }
      const cd = read(fd, cdOffset, cdSize);
      let p = 0;
      for (let i = 0; i < count; i++) {
        if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) {
          throw new Error(`${zipPath}: damaged central directory at entry ${i}`);
        }
        const nameLength = cd.readUInt16LE(p + 28);
        const name = cd.toString('utf8', p + 46, p + 46 + nameLength);
        this.entries.set(name, {
          method: cd.readUInt16LE(p + 10),
          compressedSize: cd.readUInt32LE(p + 20),
          localHeaderOffset: cd.readUInt32LE(p + 42),
          unixMode: cd.readUInt32LE(p + 38) >>> 16,
        });
        p += 46 + nameLength + cd.readUInt16LE(p + 30) + cd.readUInt16LE(p + 32);
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** True when the entry was stored as a symbolic link (its content is then the link's target). */
  isSymlink(name: string): boolean {
    return ((this.entries.get(name)?.unixMode ?? 0) & 0o170000) === 0o120000;
  }

  /** The uncompressed content of one entry (stored or deflated, the two methods zip(1) writes). */
  read(name: string): Buffer {
    const entry = this.entries.get(name);
    if (!entry) {
      throw new Error(`${this.zipPath} has no ${name}`);
    }
    const fd = fs.openSync(this.zipPath, 'r');
    try {
      const header = read(fd, entry.localHeaderOffset, 30);
      if (header.readUInt32LE(0) !== 0x04034b50) {
        throw new Error(`${this.zipPath}: damaged local header for ${name}`);
      }
      const dataOffset = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
      const data = read(fd, dataOffset, entry.compressedSize);
      if (entry.method === 0) return data;
      if (entry.method === 8) return zlib.inflateRawSync(data);
      throw new Error(`${this.zipPath}: ${name} uses compression method ${entry.method}, not stored or deflated`);
    } finally {
      fs.closeSync(fd);
    }
  }
}

function read(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const n = fs.readSync(fd, buffer, 0, length, position);
  if (n !== length) {
    throw new Error(`short read: ${n} of ${length} bytes at ${position}`);
  }
  return buffer;
}

/** The architecture an ELF file was built for, from its header; undefined for anything else. */
export function elfArch(header: Buffer): LayerArch | 'other' | undefined {
  if (header.length < 20 || header.readUInt32BE(0) !== 0x7f454c46) return undefined;
  // e_machine, little-endian on both Lambda architectures: 62 = EM_X86_64, 183 = EM_AARCH64.
  const machine = header[5] === 1 ? header.readUInt16LE(18) : header.readUInt16BE(18);
  return machine === 62 ? 'amd64' : machine === 183 ? 'arm64' : 'other';
}
