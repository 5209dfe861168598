#!/usr/bin/env node
// The example app: npx cdk deploy [-c arch=arm64] [-c layerZip=PATH | -c layerArn=ARN] (deploy/cdk/README.md).
import { App } from 'aws-cdk-lib';
import { buildExampleApp } from './example-app';

const app = new App();
buildExampleApp(app);
app.synth();
