// The one file `node --test` runs: all suites in one process, so aws-cdk-lib and its CloudFormation validation
// engine (seconds of start-up) load once.
import './layer.test';
import './shell-function.test';
import './app.test';
import './cli.test';
