#!/usr/bin/env bats
# scripts/publish_layer.sh, without AWS: --dry-run prints the commands it would run. (Publishing for real
# needs an AWS account and is not exercised here.)

load helpers

PUBLISH=$ROOT/scripts/publish_layer.sh

@test "publishes the zip for provided.al2023 on its own architecture, with its checksum in the description" {
    zip=$(the_zip)
    run "$PUBLISH" --zip "$zip" --region eu-west-1 --dry-run
    assert_success
    case $(basename "$zip") in *-amd64-*) arch=x86_64 ;; *-arm64-*) arch=arm64 ;; esac
    assert_line --partial "'--region' 'eu-west-1' 'lambda' 'publish-layer-version' '--zip-file' 'fileb://$zip'"
    assert_line --partial "'--compatible-runtimes' 'provided.al2023' '--compatible-architectures' '$arch'"
    assert_line --partial "sha256 $(cut -c1-12 "$zip.sha256")"
    refute_line --partial add-layer-version-permission
}

@test "--public grants lambda:GetLayerVersion to every account; --org to one organization; --s3-bucket uploads first" {
    zip=$(the_zip)
    run "$PUBLISH" --zip "$zip" --public --dry-run
    assert_success
    assert_line --partial "'add-layer-version-permission' '--layer-name' 'java-shell-runtime-"
    assert_line --partial "'--action' 'lambda:GetLayerVersion' '--principal' '*' '--statement-id' 'public'"
    run "$PUBLISH" --zip "$zip" --org o-abc123 --s3-bucket my-bucket --dry-run
    assert_success
    assert_line --partial "'s3' 'cp' '$zip' 's3://my-bucket/layers/$(basename "$zip")'"
    assert_line --partial "'--content' 'S3Bucket=my-bucket,S3Key=layers/$(basename "$zip")'"
    assert_line --partial "'--organization-id' 'o-abc123'"
}

@test "refuses a zip whose checksum does not match, or that has none, or whose name hides the architecture" {
    zip=$(the_zip)
    cp "$zip" "$BATS_TEST_TMPDIR/$(basename "$zip")"
    copy=$BATS_TEST_TMPDIR/$(basename "$zip")
    run "$PUBLISH" --zip "$copy" --dry-run
    assert_failure
    assert_output --partial '.sha256 is missing'
    echo "0000000000000000000000000000000000000000000000000000000000000000  $(basename "$zip")" > "$copy.sha256"
    run "$PUBLISH" --zip "$copy" --dry-run
    assert_failure
    assert_output --partial 'does not match'
    cp "$zip" "$BATS_TEST_TMPDIR/layer.zip"
    run "$PUBLISH" --zip "$BATS_TEST_TMPDIR/layer.zip" --dry-run
    assert_failure
    assert_output --partial 'its architecture is unknown'
}

@test "the precompiled zip is published as a layer of its own name, for its architecture" {
    zip=$(the_zip precompiled)
    run "$PUBLISH" --zip "$zip" --dry-run
    assert_success
    case $(basename "$zip") in *-amd64-*) arch=amd64 lambda_arch=x86_64 ;; *-arm64-*) arch=arm64 lambda_arch=arm64 ;; esac
    assert_line --partial "'--layer-name' 'java-shell-runtime-precompiled-$arch'"
    assert_line --partial "'--compatible-architectures' '$lambda_arch'"
    assert_line --partial "java-shell-runtime-precompiled $(tr -d ' \n' < "$ROOT/VERSION") ($lambda_arch)"
}
