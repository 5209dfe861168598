import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildExampleApp } from '../bin/example-app';
import { repositoryRoot } from '../lib';
import { fakeLayerZip, newApp, tempDir } from './fixtures';

function synthExample(context: Record<string, string>) {
  const stack = buildExampleApp(newApp(context));
  return { stack, template: Template.fromStack(stack) };
}

for (const [arch, lambdaArch] of [['amd64', 'x86_64'], ['arm64', 'arm64']]) {
  test(`app: the example app synthesizes for ${arch}: one layer, three functions, an HTTP API, a streaming URL`, () => {
    const zip = fakeLayerZip(tempDir(), arch as 'amd64' | 'arm64');
    const { stack, template } = synthExample({ arch, layerZip: zip });
    assert.strictEqual(stack.stackName, `JavaShellRuntimeExamples-${arch}`);
    template.resourceCountIs('AWS::Lambda::LayerVersion', 1);
    template.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleArchitectures: [lambdaArch] });
    template.resourceCountIs('AWS::Lambda::Function', 3);
    const functions = Object.values(template.findResources('AWS::Lambda::Function')).map((r) => r.Properties);
    for (const f of functions) {
      assert.deepStrictEqual(f.Architectures, [lambdaArch]);
      assert.strictEqual(f.Runtime, 'provided.al2023');
      assert.strictEqual(f.Handler, 'function.handler');
      assert.strictEqual(f.Layers.length, 1);
    }
    assert.strictEqual(functions.filter((f) => f.Environment?.Variables?.JAVA_SHELL_RUNTIME_RESPONSE_MODE === 'streaming').length, 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default' });
    template.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com' });
    template.hasResourceProperties('AWS::Lambda::Url', { InvokeMode: 'RESPONSE_STREAM', AuthType: 'NONE' });
    for (const output of ['HelloFunctionName', 'ApiUrl', 'StreamingUrl']) template.hasOutput(output, Match.anyValue());
  });
}

test('app: the functions\' code is the repository\'s examples and the streaming handler', () => {
  const { stack } = synthExample({ arch: 'amd64', layerZip: fakeLayerZip(tempDir(), 'amd64') });
  const assembly = (stack.node.root as App).synth();
  const root = repositoryRoot()!;
  const staged = fs.readdirSync(assembly.directory).filter((d) => d.startsWith('asset.') && !d.endsWith('.zip'));
  const contents = staged.map((d) => fs.readdirSync(path.join(assembly.directory, d)).sort().join(' '));
  assert.ok(contents.includes(fs.readdirSync(path.join(root, 'examples', 'hello')).sort().join(' ')));
  assert.ok(contents.includes(fs.readdirSync(path.join(root, 'examples', 'api-gateway')).sort().join(' ')));
  assert.ok(contents.includes('function.sh'));
});

test('app: -c layerArn uses a published layer instead of a zip', () => {
  const arn = 'arn:aws:lambda:eu-central-1:123456789012:layer:java-shell-runtime-arm64:12';
  const { template } = synthExample({ arch: 'arm64', layerArn: arn });
  template.resourceCountIs('AWS::Lambda::LayerVersion', 0);
  template.allResourcesProperties('AWS::Lambda::Function', { Layers: [arn], Architectures: ['arm64'] });
});

test('app: an unknown arch, or a zip for the other one, fails', () => {
  assert.throws(() => synthExample({ arch: 'x86_64' }), /context arch=x86_64: use -c arch=amd64 or -c arch=arm64/);
  assert.throws(() => synthExample({ arch: 'arm64', layerZip: fakeLayerZip(tempDir(), 'amd64') }),
    /is for amd64, but architecture arm64 was asked for/);
});
