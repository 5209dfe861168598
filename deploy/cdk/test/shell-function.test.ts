import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { test } from 'node:test';
import { App, Duration, Lazy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { JavaShellRuntimeLayer, ShellFunction, ShellFunctionProps } from '../lib';
import { fakeLayerZip, newApp, tempDir } from './fixtures';

/** A code directory with function.sh, handler.sh, run (no dot) and src/api.sh. */
function codeDir(): string {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'function.sh'), 'handler() { cat; }\n');
  fs.writeFileSync(path.join(dir, 'handler.sh'), '#!/bin/bash\ncat\n', { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'run'), '#!/bin/sh\ncat\n', { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'src', 'api.sh'), 'handle() { cat; }\n');
  return dir;
}

const CODE = codeDir();

function stackWithLayer(arch: 'amd64' | 'arm64' = 'amd64') {
  const stack = new Stack(newApp(), 'Test');
  const layer = new JavaShellRuntimeLayer(stack, 'Runtime', { zipFile: fakeLayerZip(tempDir(), arch) });
  return { stack, layer };
}

function synth(props: Partial<ShellFunctionProps>, arch: 'amd64' | 'arm64' = 'amd64') {
  const { stack, layer } = stackWithLayer(arch);
  const fn = new ShellFunction(stack, 'Fn', { code: CODE, handler: 'function.handler', layer, ...props });
  return { stack, fn, layer, template: Template.fromStack(stack) };
}

function fails(props: Partial<ShellFunctionProps>, message: RegExp) {
  assert.throws(() => synth(props), message);
}

const fnProps = (t: Template) => Object.values(t.findResources('AWS::Lambda::Function'))[0].Properties;

test('function: provided.al2023, the layer, its architecture, 512 MB and 10 s by default', () => {
  const { template, stack, layer } = synth({});
  template.resourceCountIs('AWS::Lambda::Function', 1);
  template.hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'provided.al2023',
    Handler: 'function.handler',
    Architectures: ['x86_64'],
    Layers: [stack.resolve(layer.layerVersion.layerVersionArn)],
    MemorySize: 512,
    Timeout: 10,
  });
  const props = fnProps(template);
  for (const absent of ['Environment', 'LoggingConfig', 'TracingConfig', 'CapacityProviderConfig']) {
    assert.strictEqual(props[absent], undefined, `${absent} should be absent`);
  }
  template.resourceCountIs('AWS::Lambda::Url', 0);
  template.hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] },
    ManagedPolicyArns: [Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'])] })],
  });
  Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
});

test('function: an arm64 layer gives an arm64 function', () => {
  synth({}, 'arm64').template.hasResourceProperties('AWS::Lambda::Function', { Architectures: ['arm64'] });
});

test('function: the code directory becomes the function\'s asset, as it is', () => {
  const { stack } = synth({});
  const assembly = (stack.node.root as App).synth();
  const code = fnProps(Template.fromStack(stack)).Code;
  const staged = path.join(assembly.directory, `asset.${String(code.S3Key).replace(/\.zip$/, '')}`);
  assert.deepStrictEqual(fs.readdirSync(staged).sort(), ['function.sh', 'handler.sh', 'run', 'src']);
  assert.strictEqual(fs.statSync(path.join(staged, 'handler.sh')).mode & 0o111, 0o111, 'handler.sh stays executable');
});

test('function: memory size, timeout, environment, name and description can be given', () => {
  const { template } = synth({
    memorySize: 1024, timeout: Duration.seconds(30), environment: { GREETING: 'hi', TABLE_NAME: 'orders' },
    functionName: 'hello-shell', description: 'says hello',
  });
  template.hasResourceProperties('AWS::Lambda::Function', {
    MemorySize: 1024, Timeout: 30, FunctionName: 'hello-shell', Description: 'says hello',
    Environment: { Variables: { GREETING: 'hi', TABLE_NAME: 'orders' } },
  });
});

test('function: below 512 MB synthesizes with a warning; outside 128-10240 MB fails', () => {
  const { stack } = synth({ memorySize: 256 });
  Annotations.fromStack(stack).hasWarning('/Test/Fn', Match.stringLikeRegexp('memorySize 256 MB is below the recommended 512 MB'));
  fails({ memorySize: 100 }, /memorySize 100 is not a whole number of MB from 128 to 10240/);
  fails({ memorySize: 1000.5 }, /memorySize 1000\.5 is not a whole number/);
  // A size known only at deploy time (a parameter, a lazy value) cannot be checked, and is not refused.
  synth({ memorySize: Lazy.number({ produce: () => 1024 }) }).template
    .hasResourceProperties('AWS::Lambda::Function', { MemorySize: 1024 });
});

test('function: handlers in function mode and file mode, as the runtime reads them', () => {
  for (const handler of ['function.handler', 'handler.sh', 'run', 'src/api.handle', 'function.my-handler_2']) {
    synth({ handler }).template.hasResourceProperties('AWS::Lambda::Function', { Handler: handler });
  }
});

test('function: a handler whose file is not in the code directory fails', () => {
  fails({ handler: 'missing.handler' }, /ShellFunction Test\/Fn: handler 'missing\.handler' loads missing\.sh, which is not a file in .* \(nor is missing\.handler itself\)/);
  fails({ handler: 'nothing' }, /handler 'nothing' names a file to run, but .* has no file nothing/);
  fails({ handler: 'run.sh' }, /handler 'run\.sh' loads run\.sh, which is not a file/);
  fails({ handler: 'src.handle' }, /loads src\.sh, which is not a file/);
});

test('function: a handler that is not file.function fails', () => {
  fails({ handler: 'function.2nd' }, /handler 'function\.2nd' is not file\.function: a file name, a dot, and a shell function name/);
  fails({ handler: 'function.-x' }, /is not file\.function/);
  fails({ handler: '.handler' }, /handler '\.handler' is not file\.function/);
  fails({ handler: 'function.' }, /is not file\.function/);
  fails({ handler: '' }, /handler '' is empty or has spaces around it/);
  fails({ handler: ' function.handler' }, /is empty or has spaces around it/);
  fails({ handler: '/var/task/function.handler' }, /must be relative to the code directory/);
  fails({ handler: '../function.handler' }, /points outside the code directory/);
});

test('function: a code directory that does not exist fails', () => {
  fails({ code: path.join(tempDir(), 'none') }, /code .*none is not a directory/);
  fails({ code: path.join(CODE, 'function.sh') }, /code .*function\.sh is not a directory/);
});

test('function: the function\'s architecture must be the layer\'s', () => {
  fails({ architecture: lambda.Architecture.ARM_64 },
    /ShellFunction Test\/Fn: the function is for arm64 but its layer is for x86_64/);
  synth({ architecture: lambda.Architecture.ARM_64 }, 'arm64');
  const stack = new Stack(newApp(), 'Test');
  const layer = JavaShellRuntimeLayer.fromLayerVersionArn(stack, 'L',
    'arn:aws:lambda:us-east-1:123456789012:layer:java-shell-runtime-amd64:3', lambda.Architecture.X86_64);
  assert.throws(() => new ShellFunction(stack, 'Fn', { code: CODE, handler: 'run', layer, architecture: lambda.Architecture.ARM_64 }),
    /is for arm64 but its layer is for x86_64/);
});

test('function: a published layer ARN is used as it is', () => {
  const stack = new Stack(newApp(), 'Test');
  const arn = 'arn:aws:lambda:us-east-1:123456789012:layer:java-shell-runtime-arm64:3';
  const layer = JavaShellRuntimeLayer.fromLayerVersionArn(stack, 'L', arn, lambda.Architecture.ARM_64);
  new ShellFunction(stack, 'Fn', { code: CODE, handler: 'run', layer });
  Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { Layers: [arn], Architectures: ['arm64'] });
});

test('function: AWS_LAMBDA_MAX_CONCURRENCY and the other reserved variables cannot be set', () => {
  fails({ environment: { AWS_LAMBDA_MAX_CONCURRENCY: '4' } },
    /environment variable AWS_LAMBDA_MAX_CONCURRENCY cannot be set: Lambda sets it on Managed Instances from managedInstances\.maxConcurrency; never set it by hand/);
  fails({ environment: { JAVA_SHELL_RUNTIME_RESPONSE_MODE: 'streaming' } }, /JAVA_SHELL_RUNTIME_RESPONSE_MODE cannot be set: set responseStreaming instead/);
  fails({ environment: { AWS_LAMBDA_LOG_FORMAT: 'JSON' } }, /set jsonLogging instead/);
  fails({ environment: { AWS_LAMBDA_LOG_LEVEL: 'DEBUG' } }, /set applicationLogLevel instead/);
  fails({ environment: { _HANDLER: 'x' } }, /_HANDLER cannot be set: Lambda reserves it/);
  fails({ environment: { AWS_REGION: 'eu-west-1' } }, /AWS_REGION cannot be set: Lambda reserves it/);
  fails({ environment: { A: 'x' } }, /environment variable name 'A' is not valid \(a letter, then one or more/);
  fails({ environment: { BIG: 'x'.repeat(4094) } }, /the environment variables take 4097 bytes, more than Lambda's 4 KB/);
  fails({ environment: { '1ST': 'x' } }, /environment variable name '1ST' is not valid/);
  fails({ environment: { 'MY-VAR': 'x' } }, /environment variable name 'MY-VAR' is not valid/);
  fails({ environment: { COUNT: 3 as unknown as string } }, /environment variable COUNT must be a string/);
});

test('function: Managed Instances set the capacity provider configuration, never the variable', () => {
  const { stack, layer } = stackWithLayer();
  const capacityProvider = lambda.CapacityProvider.fromCapacityProviderArn(stack, 'Cp',
    'arn:aws:lambda:us-east-1:123456789012:capacity-provider:shells');
  new ShellFunction(stack, 'Fn', {
    code: CODE, handler: 'function.handler', layer,
    managedInstances: { capacityProvider, maxConcurrency: 8, memoryGiBPerVCpu: 4 },
  });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::Lambda::Function', {
    MemorySize: 2048,
    CapacityProviderConfig: {
      LambdaManagedInstancesCapacityProviderConfig: {
        CapacityProviderArn: 'arn:aws:lambda:us-east-1:123456789012:capacity-provider:shells',
        PerExecutionEnvironmentMaxConcurrency: 8,
        ExecutionEnvironmentMemoryGiBPerVCpu: 4,
      },
    },
  });
  assert.strictEqual(fnProps(template).Environment, undefined);
});

test('function: Managed Instances with a capacity provider of the same app, and Lambda\'s defaults', () => {
  const { stack, layer } = stackWithLayer('arm64');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  const capacityProvider = new lambda.CapacityProvider(stack, 'Cp', {
    subnets: vpc.isolatedSubnets, securityGroups: [new ec2.SecurityGroup(stack, 'Sg', { vpc })],
    architectures: [lambda.Architecture.ARM_64],
  });
  new ShellFunction(stack, 'Fn', { code: CODE, handler: 'function.handler', layer, managedInstances: { capacityProvider } });
  const template = Template.fromStack(stack);
  const config = fnProps(template).CapacityProviderConfig.LambdaManagedInstancesCapacityProviderConfig;
  assert.deepStrictEqual(config.CapacityProviderArn, stack.resolve(capacityProvider.capacityProviderArn));
  assert.strictEqual(config.PerExecutionEnvironmentMaxConcurrency, undefined);
  assert.strictEqual(config.ExecutionEnvironmentMemoryGiBPerVCpu, undefined);
});

test('function: Managed Instances options out of range fail', () => {
  const stack = new Stack(newApp(), 'Cp');
  const capacityProvider = lambda.CapacityProvider.fromCapacityProviderArn(stack, 'Cp',
    'arn:aws:lambda:us-east-1:123456789012:capacity-provider:shells');
  fails({ managedInstances: { capacityProvider, maxConcurrency: 0 } }, /managedInstances\.maxConcurrency 0 is not a whole number from 1 to 1600/);
  fails({ managedInstances: { capacityProvider, maxConcurrency: 1601 } }, /maxConcurrency 1601 is not/);
  fails({ managedInstances: { capacityProvider, maxConcurrency: 2.5 } }, /maxConcurrency 2\.5 is not/);
  fails({ managedInstances: { capacityProvider, memoryGiBPerVCpu: 1 } }, /managedInstances\.memoryGiBPerVCpu 1 is not from 2 to 8/);
  fails({ managedInstances: { capacityProvider, memoryGiBPerVCpu: 16 } }, /memoryGiBPerVCpu 16 is not from 2 to 8/);
  fails({ managedInstances: { capacityProvider }, memorySize: 1024 },
    /memorySize 1024 is below 2048, the smallest Managed Instances allow/);
});

test('function: JSON logging sets the logging config, with log levels', () => {
  synth({ jsonLogging: true }).template.hasResourceProperties('AWS::Lambda::Function', {
    LoggingConfig: { LogFormat: 'JSON' },
  });
  synth({ jsonLogging: true, applicationLogLevel: lambda.ApplicationLogLevel.DEBUG, systemLogLevel: lambda.SystemLogLevel.WARN })
    .template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'DEBUG', SystemLogLevel: 'WARN' },
    });
  fails({ applicationLogLevel: lambda.ApplicationLogLevel.DEBUG }, /applicationLogLevel and systemLogLevel need jsonLogging/);
  fails({ systemLogLevel: lambda.SystemLogLevel.WARN }, /need jsonLogging/);
});

test('function: response streaming sets the runtime\'s switch and a RESPONSE_STREAM function URL', () => {
  const { template, fn, stack } = synth({ responseStreaming: true, environment: { AB: 'c' } });
  template.hasResourceProperties('AWS::Lambda::Function', {
    Environment: { Variables: { AB: 'c', JAVA_SHELL_RUNTIME_RESPONSE_MODE: 'streaming' } },
  });
  template.resourceCountIs('AWS::Lambda::Url', 1);
  template.hasResourceProperties('AWS::Lambda::Url', {
    InvokeMode: 'RESPONSE_STREAM', AuthType: 'AWS_IAM', TargetFunctionArn: stack.resolve(fn.functionArn),
  });
  assert.ok(fn.url);
});

test('function: a function URL, buffered or streamed, with its auth type', () => {
  const buffered = synth({ functionUrl: {} });
  buffered.template.hasResourceProperties('AWS::Lambda::Url', { InvokeMode: 'BUFFERED', AuthType: 'AWS_IAM' });
  assert.strictEqual(fnProps(buffered.template).Environment, undefined);
  const open = synth({ functionUrl: { authType: lambda.FunctionUrlAuthType.NONE }, responseStreaming: true });
  open.template.hasResourceProperties('AWS::Lambda::Url', { InvokeMode: 'RESPONSE_STREAM', AuthType: 'NONE' });
  open.template.hasResourceProperties('AWS::Lambda::Permission', {
    Action: 'lambda:InvokeFunctionUrl', Principal: '*', FunctionUrlAuthType: 'NONE',
  });
});

test('function: tracing turns on active X-Ray tracing and its permissions', () => {
  const { template } = synth({ tracing: true });
  template.hasResourceProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'Active' } });
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'] })]) },
  });
});
