#!/bin/bash
# warm-state: pay for expensive set-up once per execution environment, not once per invocation.
# Handler setting: function.handler
#
# Everything at the top level of this file runs once, during init (a cold start). Variables it sets,
# like the ones the handler changes, keep their values while Lambda reuses the environment for the
# next invocations (warm starts). Never keep per-request data in them by mistake.

started=$(date +%s%3N)
# The "expensive" part: parse the catalog once and keep it in memory as compact JSON.
catalog=$(jq -c 'map({key: .sku, value: .}) | from_entries' catalog.json)
echo "warm-state: set-up loaded $(jq 'length' <<<"$catalog") products in $(( $(date +%s%3N) - started )) ms" >&2

invocations=0

handler() {
    invocations=$((invocations + 1))
    sku=$(jq -r '.sku' )
    jq -c --arg sku "$sku" --argjson n "$invocations" '{
        sku: $sku,
        product: (.[$sku] // null),
        invocation: $n,
        coldStart: ($n == 1)
    }' <<<"$catalog"
}
