# One benchmark run -> one JSON object of metrics (bench/run.sh).
# Input: the fake Runtime API's record (JSON lines, slurped). Arguments:
#   $t0       epoch microseconds taken by the launcher just before it exec'd the runtime
#   $count    invocations the fake served before answering /next with 500
#   $samples  (slurpfile) RSS samples {"t": epoch us, "rss": KiB, "n": processes, "hwm": largest VmHWM, KiB}
#   $meta     (argjson) fields copied into the result (runtime, share, kind, rep, cpu_us, rc, fake_rc)

def median: sort | length as $n
  | if $n == 0 then null elif $n % 2 == 1 then .[($n - 1) / 2] else (.[$n / 2 - 1] + .[$n / 2]) / 2 end;
def pct($p): sort | length as $n
  | if $n == 0 then null else .[([(($p / 100) * $n | ceil) - 1, 0] | max)] end;

# The fake's record (spec/support/FakeRuntimeApi.java): one object per request with t_start_us (first byte of
# the request) and t_end_us (after the answer was written), wall-clock epoch microseconds.
def is_next: .method == "GET" and (.path | test("/runtime/invocation/next$"));
def is_resp: .method == "POST" and (.path | test("/runtime/invocation/[^/]+/response$"));
def is_err: .method == "POST" and (.path | test("/error$"));

($t0 | tonumber) as $start
| (if $count == "none" then null else ($count | tonumber) end) as $n
| [.[] | select(is_next)] as $nx
| [.[] | select(is_resp)] as $rx
| [$nx[].t_start_us] as $next
| ([.[] | select(is_err)] | length) as $errors
| ($samples // []) as $s
| $meta + {
    count: $n,
    nexts: ($nx | length),
    responses: ($rx | length),
    errors: $errors,
    ok: (if $n == null then $meta.rc == 0 and $start > 0
         else ($rx | length) == $n and $errors == 0 and ($nx | length) == $n + 1 and $meta.fake_rc == 0 and $start > 0 end),
    # process start -> the first /next arrives at the fake
    init_us: (if ($nx | length) > 0 and $start > 0 then $next[0] - $start else null end),
    # the first event has been written -> the first byte of its response arrives
    first_us: (if ($rx | length) > 0 then $rx[0].t_start_us - $nx[0].t_end_us else null end),
    # how long the fake took to answer the first /next (the same for every runtime; not in first_us)
    fake_first_next_us: (if ($nx | length) > 0 then $nx[0].t_end_us - $nx[0].t_start_us else null end),
    # warm invocations 2..N: cycle k = /next k -> /next k+1 (the last /next is the one answered with 500)
    warm: (if ($nx | length) >= 4 and ($rx | length) >= 3 then
        [range(1; ($nx | length) - 1) as $k | $next[$k + 1] - $next[$k]] as $c
        | [range(1; [($rx | length), ($nx | length) - 1] | min) as $k
            | ($nx[$k].t_end_us - $nx[$k].t_start_us) + ($rx[$k].t_end_us - $rx[$k].t_start_us)] as $f
        | [range(1; [($rx | length), ($nx | length) - 1] | min) as $k | $rx[$k].t_start_us - $nx[$k].t_end_us] as $h
        | [range(1; [($rx | length), ($nx | length) - 1] | min) as $k | $nx[$k + 1].t_start_us - $rx[$k].t_end_us] as $g
        | {
            cycles: ($c | length),
            mean_us: (($next[-1] - $next[1]) / ($c | length)),
            median_us: ($c | median),
            p10_us: ($c | pct(10)),
            p90_us: ($c | pct(90)),
            p99_us: ($c | pct(99)),
            max_us: ($c | max),
            # time per cycle spent inside the fake answering /next and /response (included in the cycles)
            fake_median_us: ($f | median),
            # event written -> first byte of its response (the runtime and the handler)
            handle_median_us: ($h | median),
            # response acknowledged -> the next /next arrives (the runtime's loop)
            gap_median_us: ($g | median)
          }
      else null end),
    mem: (if ($s | length) > 0 then
        {
          samples: ($s | length),
          peak_rss_kib: ([$s[].rss] | max),
          largest_hwm_kib: ([$s[].hwm] | max),
          max_processes: ([$s[].n] | max),
          # steady: the samples taken during the last 100 invocations (the last half on short runs)
          steady_rss_kib: (
            if ($next | length) >= 3 then
              ([($next | length) - 1 - ([100, (($n / 2) | floor)] | min), 1] | max) as $from
              | [$s[] | select(.t >= $next[$from] and .t <= $next[-1]) | .rss] as $w
              | if ($w | length) > 0 then ($w | median)
                else ([$s[] | select(.t <= $next[-1]) | .rss] | last) end
            else null end)
        }
      else null end)
  }
