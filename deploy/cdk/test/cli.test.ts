import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { test } from 'node:test';
import { fakeLayerZip, tempDir } from './fixtures';

test('cli: npx cdk synth of the example app writes a template, with no AWS credentials and no Docker', () => {
  const home = tempDir();
  const out = path.join(tempDir(), 'cdk.out');
  const zip = fakeLayerZip(tempDir(), 'arm64');
  // No AWS variables nor config files: the synth must not need an account. CDK_HOME keeps the CLI's caches here;
  // CDK_DOCKER names no program, so any use of Docker (bundling) would fail the synth.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('CDK_')) env[k] = v;
  Object.assign(env, {
    AWS_CONFIG_FILE: path.join(home, 'no-config'), AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true', CDK_HOME: home, CDK_DOCKER: path.join(home, 'no-docker'), CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: 'true',
  });
  // --build '': npm test has just compiled the app, so cdk.json's pre-synth tsc would only repeat it.
  const cdk = spawnSync('npx', ['cdk', 'synth', '--no-notices', '--build', '', '--quiet', '-c', 'arch=arm64',
    '-c', `layerZip=${zip}`, '--output', out], { cwd: path.join(__dirname, '..', '..'), env, encoding: 'utf8' });
  assert.strictEqual(cdk.status, 0, `cdk synth failed:\n${cdk.stdout}\n${cdk.stderr}`);

  const template = JSON.parse(fs.readFileSync(path.join(out, 'JavaShellRuntimeExamples-arm64.template.json'), 'utf8'));
  const types = Object.values(template.Resources as Record<string, { Type: string; Properties: any }>);
  assert.strictEqual(types.filter((r) => r.Type === 'AWS::Lambda::LayerVersion').length, 1);
  const functions = types.filter((r) => r.Type === 'AWS::Lambda::Function');
  assert.strictEqual(functions.length, 3);
  for (const f of functions) assert.deepStrictEqual(f.Properties.Architectures, ['arm64']);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'validation-report.json'), 'utf8'));
  assert.deepStrictEqual(report.pluginReports, [], 'CloudFormation validation found nothing');
});
