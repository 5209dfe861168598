import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { RemovalPolicy, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { elfArch, LayerArch, parseLayerZipName, ZipIndex } from './layer-zip';

/** A java-shell-runtime layer version and the architecture it was built for: what a ShellFunction needs. */
export interface IJavaShellRuntimeLayer {
  readonly layerVersion: lambda.ILayerVersion;
  readonly architecture: lambda.Architecture;
}

export interface JavaShellRuntimeLayerProps {
  /** The layer zip, named java-shell-runtime-<amd64|arm64>-<version>.zip as `make layer` names it.
   * @default the zip for `architecture` in `distDir` */
  readonly zipFile?: string;
  /** Where to look for the zip when `zipFile` is not given. @default the repository's dist/ */
  readonly distDir?: string;
  /** Which zip to take from `distDir`; with `zipFile`, it must match the zip's. @default the only zip there */
  readonly architecture?: lambda.Architecture;
  /** @default java-shell-runtime-<amd64|arm64>, as scripts/publish_layer.sh names it */
  readonly layerVersionName?: string;
}

/**
 * Publishes a layer zip built by `make layer` as a LayerVersion for provided.al2023. The architecture comes from
 * the zip's name and is checked against the zip itself (the ELF header of jre/bin/java), so a renamed zip cannot
 * give arm64 functions an x86_64 JRE. Old versions are retained: functions deployed elsewhere may still use them.
 */
export class JavaShellRuntimeLayer extends Construct implements IJavaShellRuntimeLayer {
  /** An already published layer version, e.g. from scripts/publish_layer.sh; its architecture cannot be read, so give it. */
  static fromLayerVersionArn(scope: Construct, id: string, layerVersionArn: string,
    architecture: lambda.Architecture): IJavaShellRuntimeLayer {
    if (!Token.isUnresolved(layerVersionArn) && !/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$/.test(layerVersionArn)) {
      throw new Error(`${scope.node.path}/${id}: '${layerVersionArn}' is not a layer version ARN `
        + '(arn:aws:lambda:<region>:<account>:layer:<name>:<version>)');
    }
    checkedArch(architecture, `${scope.node.path}/${id}`);
    return { layerVersion: lambda.LayerVersion.fromLayerVersionArn(scope, id, layerVersionArn), architecture };
  }

  readonly layerVersion: lambda.LayerVersion;
  readonly architecture: lambda.Architecture;
  /** The runtime's version, from the zip's name. */
  readonly version: string;
  readonly zipFile: string;

  constructor(scope: Construct, id: string, props: JavaShellRuntimeLayerProps = {}) {
    super(scope, id);
    const fail = (message: string): never => {
      throw new Error(`JavaShellRuntimeLayer ${this.node.path}: ${message}`);
    };
    const wanted = props.architecture && checkedArch(props.architecture, this.node.path);
    this.zipFile = path.resolve(props.zipFile ?? findZip(props.distDir ?? defaultDistDir(fail), wanted, fail));

    const parsed = parseLayerZipName(path.basename(this.zipFile))
      ?? fail(`cannot tell the architecture of ${this.zipFile}: a layer zip is named java-shell-runtime-<amd64|arm64>-<version>.zip`);
    if (!fs.statSync(this.zipFile, { throwIfNoEntry: false })?.isFile()) {
      fail(`${this.zipFile} does not exist (build it with make layer)`);
    }
    if (wanted && wanted !== parsed.arch) {
      fail(`${this.zipFile} is for ${parsed.arch}, but architecture ${wanted} was asked for`);
    }
    const zip = new ZipIndex(this.zipFile);
    if (!zip.has('bootstrap')) {
      fail(`${this.zipFile} has no bootstrap at its root: it is not a java-shell-runtime layer`);
    }
    const java = 'jre/bin/java';
    if (!zip.has(java) || zip.isSymlink(java)) {
      fail(`${this.zipFile} has no ${java} file: it is not a java-shell-runtime layer`);
    }
    const actual = elfArch(zip.read(java));
    if (actual !== parsed.arch) {
      fail(`${this.zipFile} is named for ${parsed.arch}, but its ${java} is `
        + (actual === undefined ? 'not an ELF program' : `built for ${actual}`));
    }

    this.version = parsed.version;
    this.architecture = parsed.arch === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
    const sha256 = crypto.createHash('sha256').update(fs.readFileSync(this.zipFile)).digest('hex');
    this.layerVersion = new lambda.LayerVersion(this, 'Layer', {
      code: lambda.Code.fromAsset(this.zipFile),
      compatibleRuntimes: [lambda.Runtime.PROVIDED_AL2023],
      compatibleArchitectures: [this.architecture],
      layerVersionName: props.layerVersionName ?? `java-shell-runtime-${parsed.arch}`,
      // The same text as scripts/publish_layer.sh writes, so both ways of publishing describe a version alike.
      description: `java-shell-runtime ${parsed.version} (${parsed.arch}), sha256 ${sha256.slice(0, 12)}`,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}

/** Lambda's architecture as the layer zips name it. */
export function checkedArch(architecture: lambda.Architecture, where: string): LayerArch {
  if (architecture.name === lambda.Architecture.X86_64.name) return 'amd64';
  if (architecture.name === lambda.Architecture.ARM_64.name) return 'arm64';
  throw new Error(`${where}: architecture '${architecture.name}' is neither x86_64 nor arm64`);
}

/** The repository this file is in (the directory with Bootstrap.java), found upwards from here. */
export function repositoryRoot(): string | undefined {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'Bootstrap.java')) && fs.existsSync(path.join(dir, 'VERSION'))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

function defaultDistDir(fail: (message: string) => never): string {
  const root = repositoryRoot() ?? fail('not inside the java-shell-runtime repository: give zipFile or distDir');
  return path.join(root, 'dist');
}

function findZip(distDir: string, arch: LayerArch | undefined, fail: (message: string) => never): string {
  const names = fs.existsSync(distDir) ? fs.readdirSync(distDir) : [];
  const zips = names.filter((n) => {
    const parsed = parseLayerZipName(n);
    return parsed && (!arch || parsed.arch === arch);
  }).sort();
  if (zips.length === 0) {
    fail(`no java-shell-runtime-${arch ?? '<arch>'}-<version>.zip in ${distDir}: build one with make layer, or give zipFile`);
  }
  if (zips.length > 1) {
    fail(`several layer zips in ${distDir} (${zips.join(', ')}): give architecture or zipFile`);
  }
  return path.join(distDir, zips[0]);
}
