# All runs (results.jsonl, slurped) -> the summary bench/report.sh prints. $n: invocations per warm run.
# Medians over runs; spread = [min, max] over runs. Times in milliseconds, memory in MiB.

def median: map(select(. != null)) | sort | length as $k
  | if $k == 0 then null elif $k % 2 == 1 then .[($k - 1) / 2] else (.[$k / 2 - 1] + .[$k / 2]) / 2 end;
def stat: map(select(. != null)) | if length == 0 then null
  else {median: median, min: min, max: max, runs: length} end;
def ms: if . == null then null else . / 1000 end;

($n | tonumber) as $n
| map(select(.ok)) as $ok
| {
    invocations: $n,
    failed_runs: ([.[] | select(.ok | not)] | length),
    by_share: [
      $ok | group_by(.share)[] | {
        share: .[0].share,
        runtimes: [
          map(select(.kind != "mem")) | group_by(.runtime)[] | . as $r
          | ([$r[] | select(.kind == "init") | .cpu_us] | median) as $cpu0
          | ([$r[] | select(.kind == "cold") | .cpu_us] | median) as $cpu1
          | ([$r[] | select(.kind == "warm") | .cpu_us] | median) as $cpun
          | {
              runtime: $r[0].runtime,
              init_ms: ([$r[].init_us | ms] | stat),
              init_cpu_ms: ([$r[] | select(.kind == "init") | .cpu_us | ms] | stat),
              first_ms: ([$r[] | select(.kind != "init") | .first_us | ms] | stat),
              first_cpu_ms: (if $cpu0 != null and $cpu1 != null then ($cpu1 - $cpu0) / 1000 else null end),
              warm_ms: ([$r[] | select(.kind == "warm") | .warm.mean_us | ms] | stat),
              warm_median_ms: ([$r[] | select(.kind == "warm") | .warm.median_us | ms] | median),
              warm_p90_ms: ([$r[] | select(.kind == "warm") | .warm.p90_us | ms] | median),
              warm_fake_ms: ([$r[] | select(.kind == "warm") | .warm.fake_median_us | ms] | median),
              warm_handle_ms: ([$r[] | select(.kind == "warm") | .warm.handle_median_us | ms] | median),
              warm_gap_ms: ([$r[] | select(.kind == "warm") | .warm.gap_median_us | ms] | median),
              warm_p99_ms: ([$r[] | select(.kind == "warm") | .warm.p99_us | ms] | median),
              invocations: ([$r[] | select(.kind == "warm") | .count] | max),
              cpu_per_invocation_ms: (([$r[] | select(.kind == "warm") | .count] | max) as $w
                | if $cpu1 != null and $cpun != null and $w != null then ($cpun - $cpu1) / ($w - 1) / 1000 else null end)
            }
        ]
      }
    ] | sort_by(-.share),
    memory: [
      $ok[] | select(.mem != null) | {
        runtime, share, kind, memory_mb, oom_kills, count,
        peak_rss_mib: (.mem.peak_rss_kib / 1024),
        steady_rss_mib: (if .mem.steady_rss_kib then .mem.steady_rss_kib / 1024 else null end),
        largest_hwm_mib: (.mem.largest_hwm_kib / 1024),
        max_processes: .mem.max_processes,
        samples: .mem.samples
      }
    ] | sort_by(-.share, .runtime)
  }
