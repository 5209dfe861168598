// Small fake layer zips, written here with Node alone: the unit tests need no `make layer` build and no zip binary.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { App } from 'aws-cdk-lib';

const dirs: string[] = [];
process.on('exit', () => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A new directory, removed when the test process exits. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jsr-cdk-test-'));
  dirs.push(dir);
  return dir;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ZipEntry {
  name: string;
  data: Buffer;
  deflate?: boolean;
  /** Unix mode with file type, as zip(1) stores it; default a 0644 regular file. */
  mode?: number;
}

/** Writes a plain zip (what zip(1) writes: local headers, data, central directory, end record). */
export function writeZip(file: string, entries: ZipEntry[]): string {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = e.deflate ? zlib.deflateRawSync(e.data) : e.data;
    const method = e.deflate ? 8 : 0;
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the high half of the external attributes is the mode
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(e.data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
    cd.writeUInt32LE(offset, 42);
    parts.push(local, name, data);
    central.push(cd, name);
    offset += local.length + name.length + data.length;
  }
  const cdBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  fs.writeFileSync(file, Buffer.concat([...parts, cdBytes, end]));
  return file;
}

/** The first 64 bytes of a 64-bit little-endian ELF executable for that machine. */
export function elfHeader(arch: 'amd64' | 'arm64' | 'riscv64'): Buffer {
  const h = Buffer.alloc(64);
  h.write('\x7fELF', 0, 'latin1');
  h[4] = 2; // 64-bit
  h[5] = 1; // little-endian
  h[6] = 1;
  h.writeUInt16LE(2, 16); // ET_EXEC
  h.writeUInt16LE({ amd64: 62, arm64: 183, riscv64: 243 }[arch], 18);
  return h;
}

export interface FakeLayerOptions {
  version?: string;
  /** What jre/bin/java is built for; default the zip's architecture. */
  javaArch?: 'amd64' | 'arm64' | 'riscv64';
  /** jre/bin/java's content instead of an ELF header. */
  javaContent?: Buffer;
  /** File name instead of java-shell-runtime-<arch>-<version>.zip. */
  fileName?: string;
  without?: 'bootstrap' | 'java';
  javaSymlink?: boolean;
  deflate?: boolean;
}

/** A fake layer zip in `dir`: bootstrap, jre/bin/java (an ELF header for the architecture), bin/jq. */
export function fakeLayerZip(dir: string, arch: 'amd64' | 'arm64', o: FakeLayerOptions = {}): string {
  const file = path.join(dir, o.fileName ?? `java-shell-runtime-${arch}-${o.version ?? '0.1.0'}.zip`);
  const entries: ZipEntry[] = [];
  if (o.without !== 'bootstrap') {
    entries.push({ name: 'bootstrap', data: Buffer.from('#!/opt/jre/bin/java --source 21\nclass Bootstrap {}\n'), mode: 0o100755 });
  }
  if (o.without !== 'java') {
    const java = o.javaSymlink ? Buffer.from('../../bin/java')
      : Buffer.concat([o.javaContent ?? elfHeader(o.javaArch ?? arch), Buffer.alloc(4096, 0x90)]);
    entries.push({ name: 'jre/bin/java', data: java, deflate: o.deflate, mode: o.javaSymlink ? 0o120777 : 0o100755 });
  }
  entries.push({ name: 'bin/jq', data: elfHeader(arch), mode: 0o100755 });
  return writeZip(file, entries);
}

/**
 * An App whose synthesis fails on any finding of CDK's offline CloudFormation validation (the resource schemas,
 * e.g. the allowed range of PerExecutionEnvironmentMaxConcurrency), as cdk.json sets it for the example app.
 */
export function newApp(context: Record<string, string> = {}): App {
  return new App({ outdir: tempDir(), context: { '@aws-cdk/core:validateAgainstDefaultRules': true, ...context } });
}
