# Deploy with the AWS CDK (issue 12): deploy/cdk holds the JavaShellRuntimeLayer and ShellFunction constructs and an
# example app, in TypeScript (README "Deploy with the CDK", deploy/cdk/README.md).
#   make test-cdk   npm ci when node_modules is missing or older than package-lock.json, then npm test: the
#                   constructs' and the example app's tests, and `cdk synth` of the app, offline, with fake layer zips
# Needs Node.js 20+ and npm (.ci/run installs Debian's when missing); no Docker, no AWS account.
.PHONY: test-cdk

test-cdk:
	deploy/cdk/scripts/test.sh

TEST_TARGETS += test-cdk
