#!/bin/sh
# publish_layer.sh: publishes a layer zip built by `make layer` as a new Lambda layer version.
#
# Usage:
#   scripts/publish_layer.sh [--zip FILE] [--name NAME] [--region REGION] [--s3-bucket BUCKET [--s3-key KEY]]
#                            [--public | --org ORG_ID] [--description TEXT] [--dry-run]
#
#   --zip FILE         the layer zip (default: the only dist/java-shell-runtime-*.zip); FILE.sha256 must match
#   --name NAME        layer name (default java-shell-runtime-<arch>, e.g. java-shell-runtime-arm64, or
#                      java-shell-runtime-precompiled-<arch> for the precompiled variant's zip)
#   --region REGION    AWS region (default: the AWS CLI's configuration)
#   --s3-bucket B      upload the zip to s3://B/KEY first and publish from there; needed above 50 MB, the
#                      limit of a direct upload (--s3-key default: layers/<zip file name>)
#   --public           let every AWS account use this version (lambda:GetLayerVersion for principal *)
#   --org ORG_ID       let the accounts of one AWS Organization use it instead
#   --description T    description (default: "java-shell-runtime <version> (<arch>), sha256 <first 12>")
#   --dry-run          print the aws commands instead of running them
#
# The layer is published for the provided.al2023 runtime and the zip's architecture (amd64 -> x86_64,
# arm64 -> arm64). Prints the new LayerVersionArn on stdout. Needs the AWS CLI v2 and credentials allowed
# lambda:PublishLayerVersion (and lambda:AddLayerVersionPermission, s3:PutObject when used).
set -eu
cd "$(dirname "$0")/.."
# shellcheck disable=SC2034 # used by scripts/lib/layer.sh
layer_me=publish_layer
# shellcheck source=scripts/lib/layer.sh disable=SC1091
. scripts/lib/layer.sh

zip='' name='' region='' bucket='' key='' public=no org='' description='' dry=no
while [ $# -gt 0 ]; do
    case $1 in
        --zip) zip=${2:?--zip needs a file}; shift 2 ;;
        --name) name=${2:?--name needs a name}; shift 2 ;;
        --region) region=${2:?--region needs a region}; shift 2 ;;
        --s3-bucket) bucket=${2:?--s3-bucket needs a bucket}; shift 2 ;;
        --s3-key) key=${2:?--s3-key needs a key}; shift 2 ;;
        --public) public=yes; shift ;;
        --org) org=${2:?--org needs an organization id}; shift 2 ;;
        --description) description=${2:?--description needs text}; shift 2 ;;
        --dry-run) dry=yes; shift ;;
        --help | -h) sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done
[ "$public" = no ] || [ -z "$org" ] || die "--public and --org exclude each other"

if [ -z "$zip" ]; then
    set -- dist/java-shell-runtime-*.zip
    [ -f "$1" ] || die "no dist/java-shell-runtime-*.zip: run 'make layer' or give --zip"
    [ $# -eq 1 ] || die "several zips in dist/ ($*): choose one with --zip"
    zip=$1
fi
[ -f "$zip" ] || die "$zip: no such file"
base=$(basename "$zip" .zip)
# The precompiled variant (LAUNCH=precompiled) is published as a layer of its own name.
variant=java-shell-runtime
case $base in java-shell-runtime-precompiled-*) variant=java-shell-runtime-precompiled ;; esac
case ${base#"$variant"-} in
    amd64-*) arch=amd64 lambda_arch=x86_64 ;;
    arm64-*) arch=arm64 lambda_arch=arm64 ;;
    *) die "$zip: not named java-shell-runtime[-precompiled]-<amd64|arm64>-<version>.zip, so its architecture is unknown" ;;
esac
version=${base#"$variant"-"$arch"-}
# A local layer (make layer offline, make layer-local) bundles this machine's jq, built for a newer glibc than
# Lambda's: it would fail there. Its name ends in -local and its zip comment says LOCAL (kept by a rename).
if case $version in *-local) true ;; *) false ;; esac || unzip -z "$zip" 2>/dev/null | grep -q 'java-shell-runtime LOCAL layer'; then
    die "$zip is a LOCAL layer (this machine's jq, glibc limit lifted): it would not run on Lambda, so it is not published.
  Build a publishable one with the official downloads (make layer LAYER_KIND=publish) or with inputs that run on
  Amazon Linux 2023 (make layer LAYER_KIND=publish JQ=/path/to/static/jq ...): docs/layer.md"
fi
[ -f "$zip.sha256" ] || die "$zip.sha256 is missing: the zip is published only with its checksum"
(cd "$(dirname "$zip")" && sha256sum -c --quiet "$(basename "$zip").sha256" >/dev/null 2>&1) ||
    die "$zip does not match $zip.sha256"
sha=$(cut -d' ' -f1 "$zip.sha256")
size=$(stat -c %s "$zip")
[ -n "$name" ] || name=$variant-$arch
[ -n "$description" ] || description="$variant $version ($lambda_arch), sha256 $(printf '%s' "$sha" | cut -c1-12)"
if [ -z "$bucket" ] && [ "$size" -gt 52428800 ]; then
    die "$zip is $(human "$size"): direct uploads are limited to 50 MB, give --s3-bucket"
fi
if [ "$dry" = no ]; then
    need_tool aws "install the AWS CLI v2 (or use --dry-run)"
fi

# aws_cmd ARG...: runs (or, with --dry-run, prints) one aws command.
aws_cmd() {
    if [ "$dry" = yes ]; then
        printf 'aws'
        for a in "$@"; do printf " '%s'" "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"; done
        printf '\n'
    else
        aws "$@"
    fi
}
set -- ${region:+--region "$region"}

if [ -n "$bucket" ]; then
    [ -n "$key" ] || key=layers/$base.zip
    say "uploading $zip ($(human "$size")) to s3://$bucket/$key" >&2
    aws_cmd "$@" s3 cp "$zip" "s3://$bucket/$key" >&2
    content="S3Bucket=$bucket,S3Key=$key"
    set -- "$@" lambda publish-layer-version --content "$content"
else
    set -- "$@" lambda publish-layer-version --zip-file "fileb://$zip"
fi
say "publishing $name for provided.al2023 on $lambda_arch" >&2
set -- "$@" --layer-name "$name" --description "$description" \
    --compatible-runtimes provided.al2023 --compatible-architectures "$lambda_arch" \
    --license-info "GPL-2.0-only WITH Classpath-exception-2.0 (JRE), MIT (jq), Apache-2.0 (AWS CLI)" \
    --query '[LayerVersionArn,Version]' --output text
if [ "$dry" = yes ]; then
    aws_cmd "$@"
    arn=arn:aws:lambda:REGION:ACCOUNT:layer:$name:VERSION
    number=VERSION
else
    out=$(aws "$@") || die "publish-layer-version failed"
    arn=$(printf '%s\n' "$out" | cut -f1)
    number=$(printf '%s\n' "$out" | cut -f2)
fi

if [ "$public" = yes ] || [ -n "$org" ]; then
    set -- ${region:+--region "$region"} lambda add-layer-version-permission --layer-name "$name" \
        --version-number "$number" --action lambda:GetLayerVersion --principal '*'
    if [ -n "$org" ]; then
        set -- "$@" --statement-id "org-$org" --organization-id "$org"
        say "granting lambda:GetLayerVersion to organization $org" >&2
    else
        set -- "$@" --statement-id public
        say "granting lambda:GetLayerVersion to every AWS account" >&2
    fi
    aws_cmd "$@" >&2
fi
printf '%s\n' "$arn"
