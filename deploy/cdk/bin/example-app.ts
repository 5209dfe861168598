import * as path from 'path';
import { App, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { IJavaShellRuntimeLayer, JavaShellRuntimeLayer, repositoryRoot } from '../lib/java-shell-runtime-layer';
import { ShellFunction } from '../lib/shell-function';

export interface ExampleStackProps extends StackProps {
  readonly architecture: lambda.Architecture;
  /** @default the zip for the architecture in the repository's dist/ */
  readonly layerZip?: string;
  /** Use this published layer version instead of publishing a zip. */
  readonly layerArn?: string;
}

/** The hello, api-gateway and streaming examples, with one layer, for one architecture. */
export class ExampleStack extends Stack {
  readonly layer: IJavaShellRuntimeLayer;

  constructor(scope: Construct, id: string, props: ExampleStackProps) {
    super(scope, id, props);
    const root = repositoryRoot();
    if (!root) throw new Error('ExampleStack: the examples are in the java-shell-runtime repository, and this is not in it');

    this.layer = props.layerArn
      ? JavaShellRuntimeLayer.fromLayerVersionArn(this, 'Runtime', props.layerArn, props.architecture)
      : new JavaShellRuntimeLayer(this, 'Runtime', { zipFile: props.layerZip, architecture: props.architecture });

    const hello = new ShellFunction(this, 'Hello', {
      code: path.join(root, 'examples', 'hello'),
      handler: 'function.handler',
      layer: this.layer,
    });

    const api = new ShellFunction(this, 'ApiGateway', {
      code: path.join(root, 'examples', 'api-gateway'),
      handler: 'function.handler',
      layer: this.layer,
    });
    // An HTTP API sends payload format 2.0 events, the ones examples/api-gateway answers.
    const httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      defaultIntegration: new HttpLambdaIntegration('ApiGatewayIntegration', api),
    });

    // Public (no auth) so that plain curl -N shows the stream; the function only prints numbered lines.
    const streaming = new ShellFunction(this, 'Streaming', {
      code: path.join(root, 'deploy', 'cdk', 'functions', 'streaming'),
      handler: 'function.handler',
      layer: this.layer,
      responseStreaming: true,
      functionUrl: { authType: lambda.FunctionUrlAuthType.NONE },
    });

    new CfnOutput(this, 'HelloFunctionName', { value: hello.functionName });
    new CfnOutput(this, 'ApiUrl', { value: `${httpApi.apiEndpoint}/hello?name=Ada` });
    new CfnOutput(this, 'StreamingUrl', { value: streaming.url!.url });
  }
}

/** The example app's stack, from context: -c arch=amd64|arm64 (default amd64), -c layerZip=PATH, -c layerArn=ARN. */
export function buildExampleApp(app: App): ExampleStack {
  const arch = app.node.tryGetContext('arch') ?? 'amd64';
  if (arch !== 'amd64' && arch !== 'arm64') {
    throw new Error(`context arch=${arch}: use -c arch=amd64 or -c arch=arm64`);
  }
  return new ExampleStack(app, `JavaShellRuntimeExamples-${arch}`, {
    architecture: arch === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
    layerZip: app.node.tryGetContext('layerZip'),
    layerArn: app.node.tryGetContext('layerArn'),
  });
}
