import * as fs from 'fs';
import * as path from 'path';
import { Annotations, Duration, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { checkedArch, IJavaShellRuntimeLayer } from './java-shell-runtime-layer';

/** README "Memory size": init needs about 1.3 s of CPU, about 4.6 s at 512 MB; below that it nears the 10 s init limit. */
export const RECOMMENDED_MEMORY_MB = 512;
/** Lambda Managed Instances' smallest function size (2 GB and 1 vCPU). */
export const MANAGED_INSTANCES_MIN_MEMORY_MB = 2048;
/**
 * 10 s, as in the README's create-function commands, rather than Lambda's 3 s: a handler that runs the AWS CLI a
 * few times needs seconds, and should Lambda repeat a failed init inside the first invocation (about 4.6 s at
 * 512 MB), the handler still has time left.
 */
export const DEFAULT_TIMEOUT = Duration.seconds(10);

export interface ManagedInstancesOptions {
  /** A lambda.CapacityProvider of this app, or one from CapacityProvider.fromCapacityProviderArn. */
  readonly capacityProvider: lambda.ICapacityProvider;
  /** Invocations one execution environment serves at once (1 to 1600). Lambda passes it to the runtime as
   * AWS_LAMBDA_MAX_CONCURRENCY, and the runtime starts that many workers, each with its own shell.
   * @default Lambda's default */
  readonly maxConcurrency?: number;
  /** Memory per vCPU of each execution environment, in GiB (2 to 8). @default Lambda's default (2) */
  readonly memoryGiBPerVCpu?: number;
}

export interface FunctionUrlOptions {
  /** @default AWS_IAM: callers sign their requests */
  readonly authType?: lambda.FunctionUrlAuthType;
  readonly cors?: lambda.FunctionUrlCorsOptions;
}

export interface ShellFunctionProps {
  /** The directory of shell scripts that becomes the function's code (/var/task), zipped as it is. */
  readonly code: string;
  /** `file.function` (shell function `function` of file.sh) or the name of a file run per event (docs/runtime.md). */
  readonly handler: string;
  /** A JavaShellRuntimeLayer, or JavaShellRuntimeLayer.fromLayerVersionArn. */
  readonly layer: IJavaShellRuntimeLayer;
  /** @default the layer's; anything else fails */
  readonly architecture?: lambda.Architecture;
  /** @default 512 (the README's recommendation), 2048 on Managed Instances (their minimum) */
  readonly memorySize?: number;
  /** @default 10 seconds (DEFAULT_TIMEOUT says why) */
  readonly timeout?: Duration;
  readonly environment?: { [key: string]: string };
  readonly functionName?: string;
  readonly description?: string;
  /** Run on Lambda Managed Instances: several invocations at once per execution environment. */
  readonly managedInstances?: ManagedInstancesOptions;
  /** Lambda's JSON log format: the runtime then writes every line as a JSON object. @default false (text) */
  readonly jsonLogging?: boolean;
  /** Filters the runtime's own lines (AWS_LAMBDA_LOG_LEVEL); needs jsonLogging. @default INFO */
  readonly applicationLogLevel?: lambda.ApplicationLogLevel;
  /** Filters Lambda's platform lines (START, END, REPORT); needs jsonLogging. @default INFO */
  readonly systemLogLevel?: lambda.SystemLogLevel;
  /** Give the function a URL. @default none, unless responseStreaming */
  readonly functionUrl?: FunctionUrlOptions;
  /** Stream responses: sets the runtime's JAVA_SHELL_RUNTIME_RESPONSE_MODE=streaming and gives the function a URL
   * in RESPONSE_STREAM mode (with functionUrl's options, or AWS_IAM auth). @default false */
  readonly responseStreaming?: boolean;
  /** Active X-Ray tracing: the runtime then logs one segment line per sampled invocation. @default false */
  readonly tracing?: boolean;
}

/** Variables Lambda reserves, and those this construct sets from its options: why each cannot be set by hand. */
const RESERVED: { [key: string]: string } = {
  AWS_LAMBDA_MAX_CONCURRENCY: 'Lambda sets it on Managed Instances from managedInstances.maxConcurrency; never set it by hand',
  JAVA_SHELL_RUNTIME_RESPONSE_MODE: 'set responseStreaming instead',
  AWS_LAMBDA_LOG_FORMAT: 'set jsonLogging instead',
  AWS_LAMBDA_LOG_LEVEL: 'set applicationLogLevel instead',
};
for (const key of ['_HANDLER', '_X_AMZN_TRACE_ID', 'AWS_DEFAULT_REGION', 'AWS_REGION', 'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE', 'AWS_LAMBDA_LOG_GROUP_NAME', 'AWS_LAMBDA_LOG_STREAM_NAME', 'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_LAMBDA_RUNTIME_API', 'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR']) {
  RESERVED[key] = 'Lambda reserves it';
}

/**
 * A Lambda function whose code is a directory of shell scripts, run by the java-shell-runtime layer on
 * provided.al2023. Every option is checked when the app is synthesized, so mistakes fail `cdk synth`, not the
 * first invocation.
 */
export class ShellFunction extends lambda.Function {
  /** The function URL, when functionUrl or responseStreaming asked for one. */
  readonly url?: lambda.FunctionUrl;

  constructor(scope: Construct, id: string, props: ShellFunctionProps) {
    const fail = (message: string): never => {
      throw new Error(`ShellFunction ${scope.node.path}/${id}: ${message}`);
    };
    const codeDir = path.resolve(props.code);
    if (!fs.statSync(codeDir, { throwIfNoEntry: false })?.isDirectory()) {
      fail(`code ${codeDir} is not a directory`);
    }
    checkHandler(codeDir, props.handler, fail);

    const layerArch = checkedArch(props.layer.architecture, `${scope.node.path}/${id}`);
    if (props.architecture && checkedArch(props.architecture, `${scope.node.path}/${id}`) !== layerArch) {
      fail(`the function is for ${props.architecture.name} but its layer is for ${props.layer.architecture.name}: `
        + 'the layer\'s JRE would not run');
    }

    const environment = { ...props.environment };
    checkEnvironment(environment, fail);
    if (props.responseStreaming) environment.JAVA_SHELL_RUNTIME_RESPONSE_MODE = 'streaming';
    const envSize = Object.entries(environment).reduce((n, [k, v]) => n + Buffer.byteLength(k + v), 0);
    if (envSize > 4096) fail(`the environment variables take ${envSize} bytes, more than Lambda's 4 KB`);

    const mi = props.managedInstances;
    if (mi) checkManagedInstances(mi, fail);
    const memorySize = props.memorySize ?? (mi ? MANAGED_INSTANCES_MIN_MEMORY_MB : RECOMMENDED_MEMORY_MB);
    const memoryKnown = !Token.isUnresolved(memorySize);
    if (memoryKnown && (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10240)) {
      fail(`memorySize ${memorySize} is not a whole number of MB from 128 to 10240`);
    }
    if (mi && memoryKnown && memorySize < MANAGED_INSTANCES_MIN_MEMORY_MB) {
      fail(`memorySize ${memorySize} is below ${MANAGED_INSTANCES_MIN_MEMORY_MB}, the smallest Managed Instances allow`);
    }
    if (!props.jsonLogging && (props.applicationLogLevel || props.systemLogLevel)) {
      fail('applicationLogLevel and systemLogLevel need jsonLogging: Lambda filters log levels only in JSON format');
    }

    super(scope, id, {
      code: lambda.Code.fromAsset(codeDir),
      handler: props.handler,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: props.layer.architecture,
      layers: [props.layer.layerVersion],
      memorySize,
      timeout: props.timeout ?? DEFAULT_TIMEOUT,
      environment,
      functionName: props.functionName,
      description: props.description,
      loggingFormat: props.jsonLogging ? lambda.LoggingFormat.JSON : undefined,
      applicationLogLevelV2: props.applicationLogLevel,
      systemLogLevelV2: props.systemLogLevel,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : undefined,
    });

    if (!mi && memoryKnown && memorySize < RECOMMENDED_MEMORY_MB) {
      Annotations.of(this).addWarningV2('java-shell-runtime:memorySize',
        `memorySize ${memorySize} MB is below the recommended ${RECOMMENDED_MEMORY_MB} MB: the runtime's init needs `
        + 'about 1.3 s of CPU, which takes about 9 s at 256 MB and more than Lambda\'s 10 s init limit at 128 MB');
    }
    if (mi) {
      // CloudFormation's own property: CapacityProvider.addFunction writes the same, but only providers defined in
      // this app have it, and an imported one (fromCapacityProviderArn) must work too.
      (this.node.defaultChild as lambda.CfnFunction).capacityProviderConfig = {
        lambdaManagedInstancesCapacityProviderConfig: {
          capacityProviderArn: mi.capacityProvider.capacityProviderArn,
          perExecutionEnvironmentMaxConcurrency: mi.maxConcurrency,
          executionEnvironmentMemoryGiBPerVCpu: mi.memoryGiBPerVCpu,
        },
      };
    }
    if (props.functionUrl || props.responseStreaming) {
      this.url = this.addFunctionUrl({
        authType: props.functionUrl?.authType ?? lambda.FunctionUrlAuthType.AWS_IAM,
        cors: props.functionUrl?.cors,
        invokeMode: props.responseStreaming ? lambda.InvokeMode.RESPONSE_STREAM : lambda.InvokeMode.BUFFERED,
      });
    }
  }
}

/** The runtime's own reading of _HANDLER (Bootstrap.java, Handler.fromEnvironment), against the code directory. */
function checkHandler(codeDir: string, handler: string, fail: (message: string) => never): void {
  if (!handler || handler.trim() !== handler) fail(`handler '${handler}' is empty or has spaces around it`);
  if (path.isAbsolute(handler)) fail(`handler '${handler}' must be relative to the code directory`);
  const isFile = (name: string) => {
    const full = path.resolve(codeDir, name);
    const rel = path.relative(codeDir, full);
    if (rel === '..' || rel.startsWith(`..${path.sep}`)) fail(`handler '${handler}' points outside the code directory`);
    return fs.statSync(full, { throwIfNoEntry: false })?.isFile() ?? false;
  };
  const dot = handler.lastIndexOf('.');
  // A name that is a file runs as a file, dots and all: run.sh means run.sh, not function "sh" of run.sh.
  if (dot < 0 || isFile(handler)) {
    if (!isFile(handler)) fail(`handler '${handler}' names a file to run, but ${codeDir} has no file ${handler}`);
    return;
  }
  const file = handler.slice(0, dot);
  const fn = handler.slice(dot + 1);
  if (!file || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(fn)) {
    fail(`handler '${handler}' is not file.function: a file name, a dot, and a shell function name `
      + '(letters, digits, _ and -, not starting with a digit or -)');
  }
  if (!isFile(`${file}.sh`)) {
    fail(`handler '${handler}' loads ${file}.sh, which is not a file in ${codeDir} (nor is ${handler} itself)`);
  }
}

function checkEnvironment(environment: { [key: string]: string }, fail: (message: string) => never): void {
  for (const [key, value] of Object.entries(environment)) {
    if (RESERVED[key]) fail(`environment variable ${key} cannot be set: ${RESERVED[key]}`);
    if (!/^[a-zA-Z][a-zA-Z0-9_]+$/.test(key)) {
      fail(`environment variable name '${key}' is not valid (a letter, then one or more letters, digits and _)`);
    }
    if (typeof value !== 'string') fail(`environment variable ${key} must be a string`);
  }
}

function checkManagedInstances(mi: ManagedInstancesOptions, fail: (message: string) => never): void {
  const inRange = (v: number | undefined, min: number, max: number, whole: boolean) =>
    v === undefined || Token.isUnresolved(v) || ((!whole || Number.isInteger(v)) && v >= min && v <= max);
  if (!inRange(mi.maxConcurrency, 1, 1600, true)) {
    fail(`managedInstances.maxConcurrency ${mi.maxConcurrency} is not a whole number from 1 to 1600`);
  }
  if (!inRange(mi.memoryGiBPerVCpu, 2, 8, false)) {
    fail(`managedInstances.memoryGiBPerVCpu ${mi.memoryGiBPerVCpu} is not from 2 to 8`);
  }
}
