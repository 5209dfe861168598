import * as assert from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { test } from 'node:test';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { JavaShellRuntimeLayer, JavaShellRuntimeLayerProps, repositoryRoot } from '../lib';
import { fakeLayerZip, newApp, FakeLayerOptions, tempDir } from './fixtures';

function synthLayer(props: JavaShellRuntimeLayerProps) {
  const stack = new Stack(newApp(), 'Test');
  const layer = new JavaShellRuntimeLayer(stack, 'Runtime', props);
  return { layer, template: Template.fromStack(stack) };
}

function layerError(arch: 'amd64' | 'arm64', o: FakeLayerOptions, props: JavaShellRuntimeLayerProps = {}) {
  return () => synthLayer({ zipFile: fakeLayerZip(tempDir(), arch, o), ...props });
}

test('layer: publishes an amd64 zip for provided.al2023 and x86_64, described with its version, retained', () => {
  const zip = fakeLayerZip(tempDir(), 'amd64', { version: '1.2.3' });
  const sha = crypto.createHash('sha256').update(fs.readFileSync(zip)).digest('hex');
  const { layer, template } = synthLayer({ zipFile: zip });
  template.resourceCountIs('AWS::Lambda::LayerVersion', 1);
  template.hasResource('AWS::Lambda::LayerVersion', {
    Properties: {
      CompatibleRuntimes: ['provided.al2023'],
      CompatibleArchitectures: ['x86_64'],
      LayerName: 'java-shell-runtime-amd64',
      Description: `java-shell-runtime 1.2.3 (amd64), sha256 ${sha.slice(0, 12)}`,
    },
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
  });
  assert.strictEqual(layer.version, '1.2.3');
  assert.strictEqual(layer.architecture, lambda.Architecture.X86_64);
  assert.strictEqual(layer.zipFile, zip);
});

test('layer: an arm64 zip with a deflated java gives an arm64 layer', () => {
  const { layer, template } = synthLayer({ zipFile: fakeLayerZip(tempDir(), 'arm64', { deflate: true }) });
  template.hasResourceProperties('AWS::Lambda::LayerVersion', {
    CompatibleArchitectures: ['arm64'],
    LayerName: 'java-shell-runtime-arm64',
  });
  assert.strictEqual(layer.architecture, lambda.Architecture.ARM_64);
});

test('layer: the layer name can be given', () => {
  const { template } = synthLayer({ zipFile: fakeLayerZip(tempDir(), 'amd64'), layerVersionName: 'my-runtime' });
  template.hasResourceProperties('AWS::Lambda::LayerVersion', { LayerName: 'my-runtime' });
});

test('layer: finds the zip for the architecture in distDir', () => {
  const dist = tempDir();
  fakeLayerZip(dist, 'amd64');
  const arm = fakeLayerZip(dist, 'arm64', { version: '0.2.0' });
  fs.writeFileSync(path.join(dist, 'java-shell-runtime-arm64-0.2.0.zip.sha256'), 'x');
  const { layer } = synthLayer({ distDir: dist, architecture: lambda.Architecture.ARM_64 });
  assert.strictEqual(layer.zipFile, arm);
  assert.strictEqual(layer.version, '0.2.0');
});

test('layer: distDir with zips for both architectures needs architecture', () => {
  const dist = tempDir();
  fakeLayerZip(dist, 'amd64');
  fakeLayerZip(dist, 'arm64');
  assert.throws(() => synthLayer({ distDir: dist }), /several layer zips in .*java-shell-runtime-amd64-0\.1\.0\.zip, java-shell-runtime-arm64-0\.1\.0\.zip.*give architecture or zipFile/);
});

test('layer: distDir with the only zip for the other architecture fails and says make layer', () => {
  const dist = tempDir();
  fakeLayerZip(dist, 'amd64');
  assert.throws(() => synthLayer({ distDir: dist, architecture: lambda.Architecture.ARM_64 }),
    /no java-shell-runtime-arm64-<version>\.zip in .*make layer/);
});

test('layer: by default looks in the repository\'s dist/', () => {
  const root = repositoryRoot();
  assert.ok(root && fs.existsSync(path.join(root, 'Bootstrap.java')));
  const dist = path.join(root, 'dist');
  const zips = fs.existsSync(dist) ? fs.readdirSync(dist).filter((n) => /^java-shell-runtime-arm64-.*\.zip$/.test(n)) : [];
  if (zips.length === 1) {
    assert.strictEqual(synthLayer({ architecture: lambda.Architecture.ARM_64 }).layer.zipFile, path.join(dist, zips[0]));
  } else {
    assert.throws(() => synthLayer({ architecture: lambda.Architecture.ARM_64 }), new RegExp(`in ${dist}`));
  }
});

test('layer: a zip whose name does not give the architecture fails', () => {
  assert.throws(layerError('amd64', { fileName: 'layer.zip' }),
    /cannot tell the architecture of .*layer\.zip: a layer zip is named java-shell-runtime-<amd64\|arm64>-<version>\.zip/);
});

test('layer: a zip named arm64 with an x86_64 java fails', () => {
  assert.throws(layerError('arm64', { javaArch: 'amd64' }),
    /JavaShellRuntimeLayer Test\/Runtime: .*java-shell-runtime-arm64-0\.1\.0\.zip is named for arm64, but its jre\/bin\/java is built for amd64/);
});

test('layer: a java for another machine, or not an ELF program, fails', () => {
  assert.throws(layerError('amd64', { javaArch: 'riscv64' }), /is named for amd64, but its jre\/bin\/java is built for other/);
  assert.throws(layerError('amd64', { javaContent: Buffer.from('#!/bin/sh\n') }), /its jre\/bin\/java is not an ELF program/);
});

test('layer: a zip without bootstrap or without jre/bin/java is not a layer', () => {
  assert.throws(layerError('amd64', { without: 'bootstrap' }), /has no bootstrap at its root/);
  assert.throws(layerError('amd64', { without: 'java' }), /has no jre\/bin\/java file/);
  assert.throws(layerError('amd64', { javaSymlink: true }), /has no jre\/bin\/java file/);
});

test('layer: architecture must match the zip given', () => {
  assert.throws(layerError('amd64', {}, { architecture: lambda.Architecture.ARM_64 }),
    /is for amd64, but architecture arm64 was asked for/);
});

test('layer: a missing zip, or a file that is not a zip, fails', () => {
  const dir = tempDir();
  assert.throws(() => synthLayer({ zipFile: path.join(dir, 'java-shell-runtime-amd64-0.1.0.zip') }),
    /java-shell-runtime-amd64-0\.1\.0\.zip does not exist \(build it with make layer\)/);
  const notZip = path.join(dir, 'java-shell-runtime-arm64-0.1.0.zip');
  fs.writeFileSync(notZip, 'not a zip at all');
  assert.throws(() => synthLayer({ zipFile: notZip }), /is not a zip file/);
});

test('layer: fromLayerVersionArn takes a published version and its architecture', () => {
  const stack = new Stack(newApp(), 'Test');
  const arn = 'arn:aws:lambda:eu-west-1:123456789012:layer:java-shell-runtime-arm64:7';
  const layer = JavaShellRuntimeLayer.fromLayerVersionArn(stack, 'Runtime', arn, lambda.Architecture.ARM_64);
  assert.strictEqual(layer.layerVersion.layerVersionArn, arn);
  assert.strictEqual(layer.architecture, lambda.Architecture.ARM_64);
});

test('layer: fromLayerVersionArn rejects what is not a layer version ARN', () => {
  const stack = new Stack(newApp(), 'Test');
  assert.throws(() => JavaShellRuntimeLayer.fromLayerVersionArn(stack, 'A',
    'arn:aws:lambda:eu-west-1:123456789012:layer:java-shell-runtime-arm64', lambda.Architecture.ARM_64),
  /Test\/A: 'arn:aws:lambda:eu-west-1:123456789012:layer:java-shell-runtime-arm64' is not a layer version ARN/);
  assert.throws(() => JavaShellRuntimeLayer.fromLayerVersionArn(stack, 'B', 'java-shell-runtime-arm64:1',
    lambda.Architecture.ARM_64), /is not a layer version ARN/);
});

test('layer: reads the real zip that make layer built, when there is one', (t) => {
  const dist = path.join(repositoryRoot()!, 'dist');
  const zips = fs.existsSync(dist) ? fs.readdirSync(dist).filter((n) => /^java-shell-runtime-.*\.zip$/.test(n)) : [];
  if (zips.length === 0) {
    t.skip('no dist/java-shell-runtime-*.zip: run make layer');
    return;
  }
  for (const zip of zips) {
    const { layer } = synthLayer({ zipFile: path.join(dist, zip) });
    assert.ok(zip.includes(layer.architecture.name === 'arm64' ? '-arm64-' : '-amd64-'));
  }
});
