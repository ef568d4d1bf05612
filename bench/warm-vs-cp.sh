#!/usr/bin/env bash
# Side by side, warm page cache: `cp` of a model's files against the SLaNC + FP16 conversion by one or more builds,
# alternated round by round (sync before every row), then a table with each row's ratio to the median cp of its
# run. Usage: bench/warm-vs-cp.sh MODEL.onnx ROUNDS JAR [JAR...]   (outputs go to a temp folder beside MODEL)
# Example: java -jar cli/target/onnx-slanc.jar synth tl.onnx --preset tinyllama-1.1b
#          bench/warm-vs-cp.sh tl.onnx 3 cli/target/onnx-slanc.jar
set -euo pipefail
model=$1; rounds=$2; shift 2
dir=$(mktemp -d "$(dirname "$model")/warm-vs-cp.XXXXXX")
timing=$(mktemp)
trap 'rm -rf "$dir" "$timing"' EXIT
files=("$model"); [ -e "$model.data" ] && files+=("$model.data")
cat "${files[@]}" > /dev/null # warm the page cache
results=()
row() { # label, command...
  local label=$1; shift
  sync
  /usr/bin/time -o "$timing" -f "%e %U %S %M" "$@" > /dev/null 2>&1
  results+=("$label $(tail -1 "$timing")")
  rm -rf "${dir:?}"/*
}
for r in $(seq "$rounds"); do
  row cp cp "${files[@]}" "$dir/"
  for jar in "$@"; do
    row "$jar" java -Xmx512m -jar "$jar" "$model" "$dir/out.onnx" --quiet
  done
done
median_cp=$(printf '%s\n' "${results[@]}" | awk '$1=="cp"{print $2}' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
# "x cp" divides by the median cp of the run; "x round cp" by the cp of the same round (cp's speed on a VM can
# change several-fold within minutes, with its 4 GB of dirty pages throttled by writeback or not)
printf '%-40s %8s %8s %8s %10s %8s %11s\n' row "wall s" "user s" "sys s" "max RSS" "x cp" "x round cp"
round_cp=1
for line in "${results[@]}"; do
  set -- $line
  [ "$1" = cp ] && round_cp=$2
  printf '%-40s %8.2f %8.2f %8.2f %7d MiB %8.2f %11.2f\n' "$1" "$2" "$3" "$4" $(( $5 / 1024 )) \
    "$(awk -v a="$2" -v b="$median_cp" 'BEGIN{print a / b}')" "$(awk -v a="$2" -v b="$round_cp" 'BEGIN{print a / b}')"
done
echo "median cp: $median_cp s (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
