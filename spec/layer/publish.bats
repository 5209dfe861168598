#!/usr/bin/env bats
# scripts/publish_layer.sh, without AWS: --dry-run prints the commands it would run. (Publishing for real
# needs an AWS account and is not exercised here.)

load helpers

PUBLISH=$ROOT/scripts/publish_layer.sh

# publishable_zip: a zip labelled publishable. The layer under test when it is one; offline it is a local layer,
# so a copy without the local label (name and zip comment) stands for the one a machine with internet builds:
# publish_layer.sh reads the label, the name and the checksum, not the programs inside.
publishable_zip() {
    local zip z
    zip=$(the_zip) || return 1
    layer_is_local || { printf '%s\n' "$zip"; return 0; }
    z=$BATS_TEST_TMPDIR/pub/$(basename "$zip" -local.zip).zip
    mkdir -p "${z%/*}"
    cp "$zip" "$z"
    printf '' | zip -q -z "$z"
    (cd "${z%/*}" && sha256sum "${z##*/}" >"${z##*/}.sha256")
    printf '%s\n' "$z"
}

@test "publishes the zip for provided.al2023 on its own architecture, with its checksum in the description" {
    zip=$(publishable_zip)
    run "$PUBLISH" --zip "$zip" --region eu-west-1 --dry-run
    assert_success
    case $(basename "$zip") in *-amd64-*) arch=x86_64 ;; *-arm64-*) arch=arm64 ;; esac
    assert_line --partial "'--region' 'eu-west-1' 'lambda' 'publish-layer-version' '--zip-file' 'fileb://$zip'"
    assert_line --partial "'--compatible-runtimes' 'provided.al2023' '--compatible-architectures' '$arch'"
    assert_line --partial "sha256 $(cut -c1-12 "$zip.sha256")"
    refute_line --partial add-layer-version-permission
}

@test "--public grants lambda:GetLayerVersion to every account; --org to one organization; --s3-bucket uploads first" {
    zip=$(publishable_zip)
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
    zip=$(publishable_zip)
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
    if layer_is_local; then
        # A local test layer is refused (tested below); without its label the same bytes show the naming.
        copy=$BATS_TEST_TMPDIR/$(basename "$zip" -local.zip).zip
        cp "$zip" "$copy"
        printf '' | zip -q -z "$copy"
        (cd "$BATS_TEST_TMPDIR" && sha256sum "${copy##*/}" >"${copy##*/}.sha256")
        zip=$copy
    fi
    run "$PUBLISH" --zip "$zip" --dry-run
    assert_success
    case $(basename "$zip") in *-amd64-*) arch=amd64 lambda_arch=x86_64 ;; *-arm64-*) arch=arm64 lambda_arch=arm64 ;; esac
    assert_line --partial "'--layer-name' 'java-shell-runtime-precompiled-$arch'"
    assert_line --partial "'--compatible-architectures' '$lambda_arch'"
    assert_line --partial "java-shell-runtime-precompiled $(tr -d ' \n' < "$ROOT/VERSION") ($lambda_arch)"
}

@test "refuses a local layer, by its name or (renamed) by its zip comment, saying why" {
    layer_is_local || skip "the layer under test is publishable (built with internet): the local label is tested offline"
    zip=$(the_zip)
    run "$PUBLISH" --zip "$zip" --dry-run
    assert_failure
    assert_output --partial "is a LOCAL layer (this machine's jq, glibc limit lifted): it would not run on Lambda"
    refute_output --partial publish-layer-version
    # Renamed as if publishable, with a matching checksum: the zip comment still says LOCAL.
    copy=$BATS_TEST_TMPDIR/$(basename "$zip" -local.zip).zip
    cp "$zip" "$copy"
    (cd "$BATS_TEST_TMPDIR" && sha256sum "${copy##*/}" >"${copy##*/}.sha256")
    run "$PUBLISH" --zip "$copy" --dry-run
    assert_failure
    assert_output --partial "is a LOCAL layer"
    # Without the label the same bytes would go through: the label is what refuses it.
    printf '' | zip -q -z "$copy"
    (cd "$BATS_TEST_TMPDIR" && sha256sum "${copy##*/}" >"${copy##*/}.sha256")
    run "$PUBLISH" --zip "$copy" --dry-run
    assert_success
}
