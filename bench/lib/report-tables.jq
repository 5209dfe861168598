# summary.json -> the markdown tables of docs/benchmarks.md. $sizes[0]: sizes.json. $n: invocations per warm run.

def r($d): if . == null then "-" else (. * pow(10; $d) | round) / pow(10; $d) | tostring end;
def ms: if . == null then "-"
  elif . >= 100 then r(0) elif . >= 10 then r(1) elif . >= 1 then r(2) else r(3) end;
def spread: if . == null then "-"
  elif .runs > 1 then "\(.median | ms) (\(.min | ms)-\(.max | ms))" else (.median | ms) end;
def mib: if . == null then "-" else (. / 1048576 * 10 | round) / 10 | tostring end;
def sig2: if . >= 10 then round elif . >= 1 then (. * 10 | round) / 10 elif . >= 0.1 then (. * 100 | round) / 100
  else (. * 1000 | round) / 1000 end;
def ratio($a; $b): if $a == null or $b == null or $b == 0 or $a == 0 then "-"
  elif $a >= $b or $b / $a < 2 then "\(($a / $b) * 100 | round / 100 | if . >= 10 then round else . end)x"
  else "1/\($b / $a | sig2)x" end;
def name: if . == "java" then "java-shell-runtime" else "sh + curl baseline" end;
def rt($s; $x): ($s.runtimes | map(select(.runtime == $x)) | first);
def slabel: if . == ($ncpu * 100) then "all \($ncpu) cores" else "\(.)%" end;
def yes($c): if $c == null then "?" elif $c then "yes" else "**no**" end;

($n | tonumber) as $n
| . as $all
| $sizes[0] as $z
| ((.by_share | map(select(.share == $ncpu * 100)) | first) // (.by_share | map(select(.share == 100)) | first)) as $full
| (.by_share | map(select(.share == 7.2)) | first) as $low
| ([.memory[] | select(.kind == "mem")] | map({(.runtime): .}) | add // {}) as $mem
| ([.memory[] | select(.share == 7.2)] | map({(.runtime): .}) | add // {}) as $mem_low
| [
  "## Targets of issue 5 (median; full CPU = \(if $full then ($full.share | slabel) else "-" end) unless noted)",
  "",
  "| figure | target | java-shell-runtime | sh + curl baseline | met |",
  "|---|---|---|---|---|",
  (if $full then
    rt($full; "java") as $j | rt($full; "sh") as $s
    | "| init: start -> first `/next` | <= 250 ms | \($j.init_ms.median | ms) ms | \($s.init_ms.median | ms) ms | \(if $j.init_ms then yes($j.init_ms.median <= 250) else "?" end) |",
      "| CPU used by init | <= 400 ms | \($j.init_cpu_ms.median | ms) ms | \($s.init_cpu_ms.median | ms) ms | \(if $j.init_cpu_ms then yes($j.init_cpu_ms.median <= 400) else "?" end) |"
  else empty end),
  ($all.by_share[] | . as $sh | rt($sh; "java") as $j | rt($sh; "sh") as $s
    | "| warm cost per invocation at \($sh.share | slabel) | <= 1 ms and >= 20x below the baseline | \($j.warm_ms.median | ms) ms | \($s.warm_ms.median | ms) ms (\(ratio($s.warm_ms.median; $j.warm_ms.median))) | \(if $j.warm_ms and $s.warm_ms then yes($j.warm_ms.median <= 1 and $s.warm_ms.median >= 20 * $j.warm_ms.median) else "?" end) |"),
  (if $low then
    rt($low; "java") as $j | rt($low; "sh") as $s
    | "| first invocation at 7.2% | below the baseline's | \($j.first_ms.median | ms) ms | \($s.first_ms.median | ms) ms | \(if $j.first_ms and $s.first_ms then yes($j.first_ms.median < $s.first_ms.median) else "?" end) |"
  else empty end),
  (if $mem.java then
    "| steady RSS after \($n) invocations (\($mem.java.share | slabel)\(if $mem.java.memory_mb then ", \($mem.java.memory_mb) MB limit" else "" end)) | <= 64 MB | \($mem.java.steady_rss_mib | r(1)) MiB | \($mem.sh.steady_rss_mib | r(1)) MiB | \(if $mem.java.steady_rss_mib then yes($mem.java.steady_rss_mib * 1048576 <= 64000000) else "?" end) |"
  else empty end),
  (if $mem_low.java then
    "| steady RSS at 7.2% (\($mem_low.java.memory_mb // "no") MB limit) | <= 64 MB | \($mem_low.java.steady_rss_mib | r(1)) MiB | \($mem_low.sh.steady_rss_mib | r(1)) MiB | \(if $mem_low.java.steady_rss_mib then yes($mem_low.java.steady_rss_mib * 1048576 <= 64000000) else "?" end) |"
  else empty end),
  (if $z.java then
    "| JRE + AOT cache, unzipped | <= 60 MB | \(($z.java.jre + $z.java.aot) | mib) MiB | - | \(yes($z.java.jre + $z.java.aot <= 60000000)) |"
  else empty end),
  "",
  "## Timing",
  "",
  "Median over runs, min-max in brackets when there are several. Times in ms. warm = wall time per invocation over invocations 2..N of a run (the mean of the loop; the median and p90 of single cycles follow).",
  "",
  "| CPU share | runtime | init | init CPU | first invocation | N | warm | cycle median / p90 | CPU per warm invocation |",
  "|---|---|---|---|---|---|---|---|---|",
  ($all.by_share[] | . as $sh | .runtimes[]
    | "| \($sh.share | slabel) | \(.runtime | name) | \(.init_ms | spread) | \(.init_cpu_ms | spread) | \(.first_ms | spread) | \(.invocations // "-") | \(.warm_ms | spread) | \(.warm_median_ms | ms) / \(.warm_p90_ms | ms) | \(.cpu_per_invocation_ms | ms) |"),
  "",
  "Where a warm cycle goes (medians of single cycles, ms): in the fake = from the first byte of `/next` to its answer written plus the same for the response (includes waiting for the runtime to finish sending); event -> response = from the event written to the first byte of the response (the runtime and the handler); response -> next = from the response acknowledged to the next `/next` arriving (the runtime's loop).",
  "",
  "| CPU share | runtime | in the fake | event -> response | response -> next `/next` | cycle median |",
  "|---|---|---|---|---|---|",
  ($all.by_share[] | . as $sh | .runtimes[]
    | "| \($sh.share | slabel) | \(.runtime | name) | \(.warm_fake_ms | ms) | \(.warm_handle_ms | ms) | \(.warm_gap_ms | ms) | \(.warm_median_ms | ms) |"),
  "",
  "Ratios baseline / java-shell-runtime (above 1: java-shell-runtime is cheaper; 1/Nx: it costs N times the baseline):",
  "",
  "| CPU share | init | first invocation | warm | CPU per warm invocation |",
  "|---|---|---|---|---|",
  ($all.by_share[] | . as $sh | rt($sh; "java") as $j | rt($sh; "sh") as $s
    | "| \($sh.share | slabel) | \(ratio($s.init_ms.median; $j.init_ms.median)) | \(ratio($s.first_ms.median; $j.first_ms.median)) | \(ratio($s.warm_ms.median; $j.warm_ms.median)) | \(ratio($s.cpu_per_invocation_ms; $j.cpu_per_invocation_ms)) |"),
  "",
  "## Memory (whole process tree)",
  "",
  "The memory limit is the one Lambda gives with that much CPU; the JVM sizes its heap from it.",
  "",
  "| CPU share | memory limit | runtime | invocations | peak RSS | steady RSS | largest VmHWM of one process | most processes at once | OOM kills |",
  "|---|---|---|---|---|---|---|---|---|",
  ($all.memory[] | "| \(.share | slabel) | \(if .memory_mb then "\(.memory_mb) MB" else "none" end) | \(.runtime | name) | \(.count // "-") | \(.peak_rss_mib | r(1)) MiB | \(.steady_rss_mib | r(1)) MiB | \(.largest_hwm_mib | r(1)) MiB | \(.max_processes) | \(.oom_kills // 0) |"),
  "",
  "## Layer size",
  "",
  "| runtime | unzipped | zipped | of which JRE | of which AOT/CDS archives |",
  "|---|---|---|---|---|",
  (if $z.java then "| java-shell-runtime (`\($z.java.zip)`) | \($z.java.unzipped | mib) MiB | \($z.java.zipped | mib) MiB | \($z.java.jre | mib) MiB | \($z.java.aot | mib) MiB |"
   else "| java-shell-runtime | not measured (no layer zip) | | | |" end),
  "| sh + curl baseline (`\($z.sh.zip)`) | \($z.sh.unzipped) B | \($z.sh.zipped) B | - | - |",
  (if $all.failed_runs > 0 then "", "**\($all.failed_runs) run(s) failed and are not in the figures.**" else empty end)
] | .[]
