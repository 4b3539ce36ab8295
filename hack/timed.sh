#!/usr/bin/env bash
# timed.sh NAME CMD...: runs CMD, printing what it is and how long it took.
source "$(dirname "$0")/lib.sh"
step "$@"
