# summary.json -> the markdown tables of docs/benchmarks.md (runtimes: java = the JEP 330 layer, precompiled, sh). $sizes[0]: sizes.json. $n: invocations per warm run.

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
def name: if . == "java" then "JEP 330 layer" elif . == "precompiled" then "precompiled layer"
  elif . == "sh" then "sh + curl baseline" else . end;
def rt($s; $x): ($s.runtimes | map(select(.runtime == $x)) | first);
def slabel: if . == ($ncpu * 100) then "all \($ncpu) cores" else "\(.)%" end;
def yes($c): if $c == null then "?" elif $c then "yes" else "**no**" end;
def mibc: if . == null then "-" else "\(r(1)) MiB" end;
# "x (min-max)" with a unit, or "-"
def cell($u): if . == null then "-" else "\(spread) \($u)" end;
# a target cell: "<= 300 ms: yes"
def tgt($text; $v; $limit): if $v == null then "\($text): ?" else "\($text): \(yes($v <= $limit))" end;
# warm cost of the baseline against ours, as "N x below" (or "N x above" when ours costs more)
def below($b; $o): if $b == null or $o == null or $b == 0 or $o == 0 then "-"
  elif $b >= $o then "\($b / $o | sig2)x below" else "\($o / $b | sig2)x above" end;

($n | tonumber) as $n
| . as $all
| $sizes[0] as $z
| ((.by_share | map(select(.share == $ncpu * 100)) | first) // (.by_share | map(select(.share == 100)) | first)) as $full
| (.by_share | map(select(.share == 100)) | first) as $one
| (.by_share | map(select(.share == 7.2)) | first) as $low
| ([.memory[] | select(.kind == "mem")] | map({(.runtime): .}) | add // {}) as $mem
| ([.memory[] | select(.share == 7.2)] | map({(.runtime): .}) | add // {}) as $mem_low
| [
  "## Both layers and the baseline",
  "",
  "Medians over runs, min-max in brackets when there are several. The target columns are issue 10's for each layer; its memory target is Lambda's Max Memory Used for the hello example at 128 MB, here the largest RSS of the runtime's process tree at 7.2% of a core with a 128 MB limit.",
  "",
  "| figure | JEP 330 layer | target | precompiled layer | target | sh + curl baseline |",
  "|---|---|---|---|---|---|",
  (if $full then
    rt($full; "java") as $j | rt($full; "precompiled") as $p | rt($full; "sh") as $s
    | "| init: start -> first `/next`, \($full.share | slabel) | \($j.init_ms | cell("ms")) | \(tgt("<= 300 ms"; $j.init_ms.median; 300)) | \($p.init_ms | cell("ms")) | \(tgt("<= 100 ms"; $p.init_ms.median; 100)) | \($s.init_ms | cell("ms")) |",
      "| CPU used by init, \($full.share | slabel) | \($j.init_cpu_ms | cell("ms")) | \(tgt("<= 450 ms"; $j.init_cpu_ms.median; 450)) | \($p.init_cpu_ms | cell("ms")) | \(tgt("<= 120 ms"; $p.init_cpu_ms.median; 120)) | \($s.init_cpu_ms | cell("ms")) |",
      "| first invocation, \($full.share | slabel) | \($j.first_ms | cell("ms")) | | \($p.first_ms | cell("ms")) | | \($s.first_ms | cell("ms")) |"
  else empty end),
  ($all.by_share[] | select(.share != ($full.share // -1)) | . as $sh
    | rt($sh; "java") as $j | rt($sh; "precompiled") as $p | rt($sh; "sh") as $s
    | if $sh.share == 7.2 then
        "| init at 7.2% (128 MB) | \($j.init_ms | cell("ms")) | \(tgt("<= 7 s"; $j.init_ms.median; 7000)) | \($p.init_ms | cell("ms")) | \(tgt("<= 1.5 s"; $p.init_ms.median; 1500)) | \($s.init_ms | cell("ms")) |",
        "| CPU used by init at 7.2% | \($j.init_cpu_ms | cell("ms")) | | \($p.init_cpu_ms | cell("ms")) | | \($s.init_cpu_ms | cell("ms")) |",
        "| first invocation at 7.2% | \($j.first_ms | cell("ms")) | | \($p.first_ms | cell("ms")) | | \($s.first_ms | cell("ms")) |"
      else
        "| init at \($sh.share | slabel) | \($j.init_ms | cell("ms")) | | \($p.init_ms | cell("ms")) | | \($s.init_ms | cell("ms")) |"
      end),
  ($all.by_share[] | . as $sh | rt($sh; "java") as $j | rt($sh; "precompiled") as $p | rt($sh; "sh") as $s
    | "| warm cost per invocation at \($sh.share | slabel) | \($j.warm_ms | cell("ms")) | \(if $sh.share == 100 then tgt("<= 1.5 ms"; $j.warm_ms.median; 1.5) else "" end) | \($p.warm_ms | cell("ms")) | \(if $sh.share == 100 then tgt("<= 1.5 ms"; $p.warm_ms.median; 1.5) else "" end) | \($s.warm_ms | cell("ms")) |"),
  ($all.by_share[] | . as $sh | rt($sh; "java") as $j | rt($sh; "precompiled") as $p | rt($sh; "sh") as $s
    | "| warm cost against sh + curl at \($sh.share | slabel) | \(below($s.warm_ms.median; $j.warm_ms.median)) | >= 20x below: \(if $j.warm_ms and $s.warm_ms then yes($s.warm_ms.median >= 20 * $j.warm_ms.median) else "?" end) | \(below($s.warm_ms.median; $p.warm_ms.median)) | >= 20x below: \(if $p.warm_ms and $s.warm_ms then yes($s.warm_ms.median >= 20 * $p.warm_ms.median) else "?" end) | 1 |"),
  (if ($mem | length) > 0 then
    ($mem | to_entries | first.value) as $m0
    | "| max RSS of the tree, \($n) invocations at \($m0.share | slabel)\(if $m0.memory_mb then " (\($m0.memory_mb) MB limit)" else "" end) | \($mem.java.peak_rss_mib | mibc) | | \($mem.precompiled.peak_rss_mib | mibc) | | \($mem.sh.peak_rss_mib | mibc) |"
  else empty end),
  (if ($mem_low | length) > 0 then
    "| max RSS of the tree at 7.2% (\(($mem_low | to_entries | first.value.memory_mb) // "no") MB limit) | \($mem_low.java.peak_rss_mib | mibc) | \(tgt("<= 64 MB"; ($mem_low.java.peak_rss_mib // null | if . then . * 1048576 / 1000000 else null end); 64)) | \($mem_low.precompiled.peak_rss_mib | mibc) | \(tgt("<= 40 MB"; ($mem_low.precompiled.peak_rss_mib // null | if . then . * 1048576 / 1000000 else null end); 40)) | \($mem_low.sh.peak_rss_mib | mibc) |"
  else empty end),
  "| JRE + AOT cache, unzipped | \(if $z.java then ($z.java.jre + $z.java.aot | mib) + " MiB" else "-" end) | \(if $z.java then tgt("<= 80 MB"; ($z.java.jre + $z.java.aot) / 1000000; 80) else "" end) | \(if $z.precompiled then ($z.precompiled.jre + $z.precompiled.aot | mib) + " MiB" else "-" end) | \(if $z.precompiled then tgt("<= 50 MB"; ($z.precompiled.jre + $z.precompiled.aot) / 1000000; 50) else "" end) | - |",
  "| layer zip, zipped | \(if $z.java then ($z.java.zipped | mib) + " MiB" else "-" end) | | \(if $z.precompiled then ($z.precompiled.zipped | mib) + " MiB" else "-" end) | | \($z.sh.zipped) B |",
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
  "Ratios baseline / runtime (above 1: the runtime is cheaper than sh + curl; 1/Nx: it costs N times the baseline):",
  "",
  "| CPU share | runtime | init | first invocation | warm | CPU per warm invocation |",
  "|---|---|---|---|---|---|",
  ($all.by_share[] | . as $sh | rt($sh; "sh") as $s | .runtimes[] | select(.runtime != "sh") | . as $j
    | "| \($sh.share | slabel) | \($j.runtime | name) | \(ratio($s.init_ms.median; $j.init_ms.median)) | \(ratio($s.first_ms.median; $j.first_ms.median)) | \(ratio($s.warm_ms.median; $j.warm_ms.median)) | \(ratio($s.cpu_per_invocation_ms; $j.cpu_per_invocation_ms)) |"),
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
  ($z | to_entries[] | select(.key != "sh" and .value != null)
    | "| \(.key | name) (`\(.value.zip)`) | \(.value.unzipped | mib) MiB | \(.value.zipped | mib) MiB | \(.value.jre | mib) MiB | \(.value.aot | mib) MiB |"),
  "| sh + curl baseline (`\($z.sh.zip)`) | \($z.sh.unzipped) B | \($z.sh.zipped) B | - | - |",
  (if $all.failed_runs > 0 then "", "**\($all.failed_runs) run(s) failed and are not in the figures.**" else empty end)
] | .[]
