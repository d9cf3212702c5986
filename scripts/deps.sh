#!/usr/bin/env bash
# Installs the Debian packages iobench needs, or names them when we cannot.
# Usage: scripts/deps.sh [build|bench|check|report|cluster|all]   (default: all)
# Idempotent: a package already installed is not touched. Without root it
# prints the apt-get line instead; for `bench` it then goes on when only the
# optional packages are missing (no tests built, no charts drawn).
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libcurl4-openssl-dev libjansson-dev
            libcriterion-dev zlib1g-dev gnuplot-nox curl procps liburing-dev
            nginx-light openssl) # the last two: ioload's TLS test (test_engines)
# Reference tools for the benchmarks and the interoperability checks.
bench_pkgs=(wrk nginx-light apache2-utils nghttp2-client)
# Sanitizer runtimes and libFuzzer come with clang's runtime package;
# libhttp-parser-dev is the parser wrk uses, measured against ours
# (make bench-framer, with valgrind's callgrind).
check_pkgs=(clang libclang-rt-14-dev valgrind libhttp-parser-dev)
# pdflatex for report.tex (make report-pdf): LaTeX with graphicx and geometry
# (base) and booktabs (recommended).
report_pkgs=(texlive-latex-base texlive-latex-recommended)
# A one-node Slurm cluster for the batch script's test (tests/cluster/slurm.sh).
cluster_pkgs=(slurm-wlm munge)
# What `make bench` can do without: the tests (criterion) and the charts (gnuplot).
optional_for_bench=(libcriterion-dev gnuplot-nox)

what=${1:-all}
case "$what" in
  build) want=("${build_pkgs[@]}") ;;
  bench) want=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
  check) want=("${build_pkgs[@]}" "${check_pkgs[@]}") ;;
  report) want=("${report_pkgs[@]}") ;;
  cluster) want=("${build_pkgs[@]}" "${cluster_pkgs[@]}") ;;
  all)   want=("${build_pkgs[@]}" "${bench_pkgs[@]}" "${check_pkgs[@]}" "${report_pkgs[@]}" "${cluster_pkgs[@]}") ;;
  *) echo "deps.sh: unknown set '$what' (build, bench, check, report, cluster or all)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  # dpkg-query prints "install ok installed" only for a fully installed package.
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "iobench: missing Debian packages; run as root: apt-get install -y ${missing[*]}" >&2
  if [ "$what" = bench ] || [ "$what" = build ]; then
    # A user who cannot install them can still benchmark: the build leaves the
    # tests out without criterion and `make bench` skips the charts without
    # gnuplot. The reference tools (wrk, nginx, ...) serve other targets.
    required=()
    for p in "${missing[@]}"; do
      case " ${optional_for_bench[*]} ${bench_pkgs[*]} " in
        *" $p "*) ;;
        *) required+=("$p") ;;
      esac
    done
    if [ ${#required[@]} -eq 0 ]; then
      echo "iobench: going on without them (no tests built, charts skipped without gnuplot)" >&2
      exit 0
    fi
  fi
  exit 1
fi
echo "iobench: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# nginx's package starts a system service on port 80; we only need the binary.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d.iobench
chmod +x /usr/sbin/policy-rc.d.iobench
restore=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  mv /usr/sbin/policy-rc.d.iobench /usr/sbin/policy-rc.d; restore=1
else
  rm -f /usr/sbin/policy-rc.d.iobench
fi
trap '[ $restore -eq 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
