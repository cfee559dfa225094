#!/usr/bin/env bash
# Quick start 1: build the sample driver (.sys) and its client on this Linux
# machine, then run them under Wine: sc create / sc start / client IOCTLs /
# sc stop (DriverUnload) / sc delete. Installs what is missing first.
#
#   bash scripts/sample.sh
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
bash "$here/setup.sh"
bash "$here/build-driver.sh"
bash "$here/wine-e2e.sh"
