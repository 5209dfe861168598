# bench/coldstart.sh's runs (results.jsonl, slurped) -> markdown tables. $variants: variants.tsv (name, kind,
# description); $features: the feature names of group B in order.

def median: map(select(. != null)) | sort | length as $k
  | if $k == 0 then null elif $k % 2 == 1 then .[($k - 1) / 2] else (.[$k / 2 - 1] + .[$k / 2]) / 2 end;
def ms: if . == null then "-" else (. / 1000) as $m
  | if $m >= 100 then ($m | round | tostring) else ($m * 10 | round / 10 | tostring) end end;
def cell($xs): ($xs | map(select(. != null))) as $v
  | if ($v | length) == 0 then "-" elif ($v | length) == 1 then ($v[0] | ms)
    else "\($v | median | ms) (\($v | min | ms)-\($v | max | ms))" end;

map(select(.ok)) as $runs
| ($variants | split("\n") | map(select(length > 0) | split("\t") | {name: .[0], kind: .[1], desc: .[2]})) as $vs
| def runs($n): [$runs[] | select(.runtime == $n)];
  def med($n; f): [runs($n)[] | f] | median;
  ([$vs[] | select(.kind == "init")] ) as $a
| ([$vs[] | select(.kind == "exit")]) as $b
| (if ($a | length) > 0 then
    "## A. init of Bootstrap.java launched in different ways (ms)",
    "",
    "init = process start -> first `/next` at the fake; CPU = start -> exit after that `/next` was refused (so it includes JVM exit).",
    "",
    "| variant | how it is launched | init | CPU |",
    "|---|---|---|---|",
    ($a[] | "| \(.name) | \(.desc) | \(cell([runs(.name)[].init_us])) | \(cell([runs(.name)[].cpu_us])) |"),
    ""
  else empty end),
  (if ($b | length) > 0 then
    (med("f_empty"; .exit_us)) as $e0 | (med("fa_empty"; .exit_us)) as $e1
    | (med("f_empty"; .cpu_us)) as $c0 | (med("fa_empty"; .cpu_us)) as $c1
    | "## B. First-use cost of a feature in a source-launched class (ms, start -> exit)",
      "",
      "A trivial program that uses the feature once, compared with the same program without it (`empty`). Wall time to exit and CPU time; +x = more than `empty`. With an AOT cache trained on the program itself the JDK's side of the feature (classes, linked call sites in JDK code) can be cached; what the launched class generates for itself at run time (hidden classes for its lambdas, concatenations, record methods, switches) cannot.",
      "",
      "| feature | no cache: wall | no cache: CPU | AOT cache: wall | AOT cache: CPU |",
      "|---|---|---|---|---|",
      ($features | split(" ")[] as $f
        | (med("f_" + $f; .exit_us)) as $w0 | (med("fa_" + $f; .exit_us)) as $w1
        | (med("f_" + $f; .cpu_us)) as $u0 | (med("fa_" + $f; .cpu_us)) as $u1
        | def delta($x; $base): if $x == null or $base == null then "" elif $f == "empty" then "" else
            " (\(if $x >= $base then "+" else "-" end)\(($x - $base) | fabs | ms))" end;
          "| \($f) | \($w0 | ms)\(delta($w0; $e0)) | \($u0 | ms)\(delta($u0; $c0)) | \($w1 | ms)\(delta($w1; $e1)) | \($u1 | ms)\(delta($u1; $c1)) |"),
      ""
  else empty end),
  (([.[] | select(.ok | not)] | length) as $bad | if $bad > 0 then "**\($bad) run(s) failed and are left out.**" else empty end)
